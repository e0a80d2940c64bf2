//! Usernames that cannot impersonate: normalised (NFKC), limited to letters, marks, digits and a
//! little punctuation, free of invisible and text-direction characters, written in one script
//! (or a usual combination such as Japanese), and unique not only by their lowercase form but by
//! their confusable skeleton (Unicode TS #39), so that "Аlice" with a Cyrillic А, or "a1ice",
//! cannot be registered beside "alice".

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 64;

/// Punctuation allowed besides letters, marks and digits.
const PUNCTUATION: &[char] = &[' ', '.', '-', '_', '@', '+', '\''];

/// Characters that change nothing visible or change text direction. Most are refused by the
/// identifier profile anyway; these get a message of their own because they are the ones used
/// to fake a name.
fn invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E0FFF}')
}

/// A valid username: NFKC-normalised and trimmed, 3 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let normalised: String = raw.trim().nfkc().collect();
        let name = normalised.trim();
        let length = name.chars().count();
        if length < USERNAME_MIN {
            return Err("Usernames need at least 3 characters.");
        }
        if length > USERNAME_MAX {
            return Err("Usernames can have at most 64 characters.");
        }
        if name.chars().any(char::is_control) {
            return Err("Usernames cannot contain control characters.");
        }
        if name.chars().any(invisible_or_bidi) {
            return Err("Usernames cannot contain invisible or text-direction characters.");
        }
        if name
            .chars()
            .any(|c| !PUNCTUATION.contains(&c) && !GeneralSecurityProfile::identifier_allowed(c))
        {
            return Err("Usernames can use letters, digits, spaces and . - _ @ + ' only.");
        }
        if name.contains("  ") {
            return Err("Usernames cannot have two spaces in a row.");
        }
        let letters: String = name.chars().filter(|c| !PUNCTUATION.contains(c)).collect();
        if letters.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
            return Err(
                "Usernames cannot mix letters of different scripts (such as Latin and Cyrillic).",
            );
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form under which uniqueness is checked and log-ins look accounts up.
    pub fn key(&self) -> String {
        key_of(&self.0)
    }

    /// The confusable skeleton: two names with the same skeleton look alike.
    pub fn skeleton(&self) -> String {
        skeleton_of(&self.key())
    }
}

/// The lookup key of whatever someone typed into a log-in form: NFKC, trimmed, lowercase.
pub fn key_of(typed: &str) -> String {
    let normalised: String = typed.trim().nfkc().collect();
    normalised.trim().to_lowercase().nfkc().collect()
}

pub fn skeleton_of(key: &str) -> String {
    skeleton(key).collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_bounded_and_compared_without_case() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("  Alice  ", Ok("Alice")),
            ("ab", Err("at least 3")),
            ("   ab   ", Err("at least 3")),
            (&"x".repeat(65), Err("at most 64")),
            ("bad\u{7}name", Err("control")),
            ("Zoë", Ok("Zoë")),
            ("Zoe\u{308}", Ok("Zoë")),
            ("ｆｕｌｌｗｉｄｔｈ", Ok("fullwidth")),
            ("ﬁona", Ok("fiona")),
            ("Alice\u{200b}", Err("invisible")),
            ("Al\u{200d}ice", Err("invisible")),
            ("Alice\u{202e}", Err("text-direction")),
            ("\u{2066}Alice", Err("text-direction")),
            ("Alice\u{fe0f}", Err("invisible")),
            ("\u{410}lice", Err("mix letters")),
            ("pаypal", Err("mix letters")),
            ("Борис", Ok("Борис")),
            ("山田太郎", Ok("山田太郎")),
            ("山田たろう", Ok("山田たろう")),
            ("Anne-Marie O'Neil", Ok("Anne-Marie O'Neil")),
            ("a.b_c@d+e", Ok("a.b_c@d+e")),
            ("two  spaces", Err("two spaces")),
            ("semi;colon", Err("letters, digits")),
            ("<script>", Err("letters, digits")),
            ("emoji 😀", Err("letters, digits")),
        ];
        for (raw, expected) in cases {
            match (Username::parse(raw), expected) {
                (Ok(name), Ok(want)) => assert_eq!(name.as_str(), *want, "{raw:?}"),
                (Err(message), Err(fragment)) => {
                    assert!(message.contains(fragment), "{raw:?}: {message}")
                }
                (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(Username::parse("ALICE").unwrap().key(), "alice");
        assert_eq!(key_of("  ＡＬＩＣＥ "), "alice");
        assert!(Username::parse(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn look_alikes_share_a_skeleton_and_different_names_do_not() {
        let skeleton = |s: &str| Username::parse(s).unwrap().skeleton();
        assert_eq!(skeleton("alice"), skeleton("ALICE"));
        assert_eq!(skeleton("alice"), skeleton("a1ice"));
        // All-Cyrillic look-alike of a Latin name (one script, so it parses).
        assert_eq!(skeleton("alice"), skeleton_of(&key_of("аlісе")));
        assert_eq!(skeleton("ape"), skeleton("аре"), "Latin and all-Cyrillic");
        assert_ne!(skeleton("alice"), skeleton("alicia"));
        assert_ne!(skeleton("bob"), skeleton("rob"));
    }
}
