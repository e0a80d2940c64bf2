//! Reading configuration files that may hold secrets (`.env`, the connections TOML file). Their
//! errors name the file, the line and the column, never the text there: a line that fails to
//! parse is often the one with a secret on it.

use std::path::Path;

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    // Offsets from parsers are char boundaries; step back to one if not, rather than panic.
    let offset = (0..=offset)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A parser's message with every quoted value replaced by `"…"`: serde's messages quote the
/// value they refused (`invalid type: string "s3cret", expected a boolean`).
pub fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        match (c, inside) {
            ('"', false) => {
                out.push_str("\"…");
                inside = true;
            }
            ('"', true) => {
                out.push('"');
                inside = false;
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    if inside {
        out.push('"');
    }
    out
}

/// `file:line:column: message` for a TOML error, without the offending line.
pub fn toml_error(origin: &str, text: &str, error: &toml::de::Error) -> String {
    let message = redact_quoted(error.message().trim());
    match error.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("{origin}:{line}:{column}: {message}")
        }
        None => format!("{origin}: {message}"),
    }
}

/// Parses a `.env` file into its variables, all or nothing: a malformed line is an error naming
/// the file and line (never its text), and then no variable of the file is used.
pub fn parse_dotenv(origin: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok(pair) => vars.push(pair),
            Err(dotenvy::Error::LineParse(logical_line, index)) => {
                // The iterator reads logical lines in order, so the first place the failing
                // one occurs in the file is where it is.
                let logical = logical_line.trim_end_matches(['\n', '\r']);
                let start = text.find(logical).unwrap_or(text.len());
                // An index at the very end means the file ended inside a quote that opened on
                // this logical line's first line.
                let (what, at) = if index >= logical.len() {
                    ("a quote opened here is never closed", start)
                } else {
                    ("not a KEY=value line", start + index)
                };
                let (line, column) = line_column(text, at);
                return Err(format!(
                    "{origin}:{line}:{column}: {what}; the line is not shown because it may \
                     hold a secret"
                ));
            }
            Err(e) => return Err(format!("{origin}: {}", redact_quoted(&e.to_string()))),
        }
    }
    Ok(vars)
}

/// Reads `.env` from `path` if it exists and sets its variables where the environment does not
/// already have them (real environment variables win). A missing file is not an error.
pub fn load_dotenv(path: &Path) -> Result<(), String> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|e| format!("{}: not UTF-8 text: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for (key, value) in parse_dotenv(&path.display().to_string(), text)? {
        if std::env::var_os(&key).is_none() {
            std::env::set_var(key, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.find('=').unwrap()), (1, 3));
        assert_eq!(line_column(text, text.rfind('=').unwrap()), (2, 4));
        assert_eq!(line_column(text, 10_000).0, 3);
        // Inside a multi-byte character: no panic.
        assert_eq!(line_column(text, 8), (2, 2));
    }

    #[test]
    fn quoted_values_are_redacted_from_messages() {
        assert_eq!(
            redact_quoted("invalid type: string \"s3cret\", expected a boolean"),
            "invalid type: string \"…\", expected a boolean"
        );
        assert_eq!(redact_quoted("unclosed \"abc"), "unclosed \"…\"");
        assert_eq!(
            redact_quoted("unknown field `colour`"),
            "unknown field `colour`"
        );
    }

    #[test]
    fn a_toml_syntax_error_names_file_line_and_column_but_not_the_secret() {
        let text =
            "[[provider]]\nname = \"p\"\nclient_secret = \"hunter2-very-secret\nuser = true\n";
        let error = toml::from_str::<toml::Value>(text).unwrap_err();
        let message = toml_error("providers.toml", text, &error);
        assert!(message.starts_with("providers.toml:3:"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!message.contains("client_secret ="), "{message}");
    }

    #[test]
    fn a_toml_type_error_does_not_quote_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Flag {
            user: bool,
        }
        let text = "user = \"hunter2-very-secret\"\n";
        let error = toml::from_str::<Flag>(text).unwrap_err();
        let message = toml_error("f.toml", text, &error);
        assert!(message.starts_with("f.toml:1:"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_malformed_dotenv_line_is_an_error_with_its_line_number_only() {
        let cases = [
            ("GOOD=1\nthis is not a pair hunter2\nLATER=2\n", 2),
            ("A=1\n# comment\nB='unclosed hunter2\nC=3\n", 3),
            ("A=1\nB=2\nC=\"hunter2\" trailing junk\n", 3),
        ];
        for (text, line) in cases {
            let error = parse_dotenv(".env", text).expect_err(text);
            assert!(
                error.starts_with(&format!(".env:{line}:")),
                "{text:?} → {error}"
            );
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn a_good_dotenv_gives_every_variable() {
        let vars = parse_dotenv(".env", "# hi\nA=1\nexport B=\"two words\"\n\nC='x#y'\n").unwrap();
        assert_eq!(
            vars,
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "two words".to_owned()),
                ("C".to_owned(), "x#y".to_owned()),
            ]
        );
    }
}
