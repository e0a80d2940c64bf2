//! Record search (`POST /v2/objects/records/search`): which records a query string matches and
//! how well, over names, domains, email addresses and phone numbers as the API renders them.
//!
//! Attio calls its search fuzzy and does not document its ranking. The sandbox ranks in tiers,
//! lower first: 0 an exact name, email address, domain or phone number (ignoring case); 1 a name,
//! email address or domain that starts with the query; 2 every word of the query starts a word of
//! those texts (or its digits appear in a phone number); 3 every word of the query appears
//! somewhere in them. Anything else does not match.

use serde_json::Value;

use super::Values;

/// The texts a record is searched by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SearchFields {
    pub names: Vec<String>,
    pub emails: Vec<String>,
    pub domains: Vec<String>,
    pub phones: Vec<String>,
}

impl SearchFields {
    /// Reads `name`, `email_addresses`, `domains` and `phone_numbers` from rendered values.
    pub fn of(values: &Values) -> SearchFields {
        let read = |slug: &str, keys: &[&str]| -> Vec<String> {
            values
                .get(slug)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|value| {
                    keys.iter()
                        .find_map(|k| value.get(*k).and_then(Value::as_str))
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                })
                .collect()
        };
        SearchFields {
            names: read("name", &["full_name", "value"]),
            emails: read(
                "email_addresses",
                &["email_address", "original_email_address", "value"],
            ),
            domains: read("domains", &["domain", "value"]),
            phones: read(
                "phone_numbers",
                &[
                    "phone_number",
                    "normalized_phone_number",
                    "original_phone_number",
                    "value",
                ],
            ),
        }
    }

    /// The label of the record: its name, else its first email address or domain.
    pub fn record_text(&self) -> String {
        self.names
            .iter()
            .chain(&self.emails)
            .chain(&self.domains)
            .next()
            .cloned()
            .unwrap_or_default()
    }

    /// The tier the record matches `query` in (lower is better), or `None`. An empty query
    /// matches everything in the last tier.
    pub fn rank(&self, query: &str) -> Option<u8> {
        let query = normalise(query);
        if query.is_empty() {
            return Some(3);
        }
        let texts: Vec<String> = self
            .names
            .iter()
            .chain(&self.emails)
            .chain(&self.domains)
            .map(|t| normalise(t))
            .collect();
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let phone_digits: Vec<String> = self
            .phones
            .iter()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect())
            .collect();
        let phone_like = digits.len() >= 3
            && query
                .chars()
                .all(|c| c.is_ascii_digit() || "+-() ".contains(c));
        if texts.contains(&query) || (phone_like && phone_digits.contains(&digits)) {
            return Some(0);
        }
        if texts.iter().any(|t| t.starts_with(&query)) {
            return Some(1);
        }
        let words: Vec<&str> = texts.iter().flat_map(|t| split_words(t)).collect();
        let terms = split_words(&query);
        if terms
            .iter()
            .all(|term| words.iter().any(|w| w.starts_with(term)))
            || (phone_like && phone_digits.iter().any(|p| p.contains(&digits)))
        {
            return Some(2);
        }
        let all = texts.join(" ");
        terms.iter().all(|term| all.contains(term)).then_some(3)
    }
}

/// Lowercase with runs of whitespace made single spaces.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Words: runs of letters and digits (`ada.lovelace@example.com` has four).
fn split_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::query::testing::{person, values};

    fn ada() -> SearchFields {
        let mut v = person("p1", "Ada", "Lovelace", "ada.lovelace@analytical.test");
        v.extend(values(&[(
            "phone_numbers",
            json!({"original_phone_number": "+44 7700 900798", "normalized_phone_number": "+447700900798"}),
        )]));
        SearchFields::of(&v)
    }

    fn acme() -> SearchFields {
        SearchFields::of(&values(&[
            ("name", json!({"value": "Acme Rockets"})),
            (
                "domains",
                json!({"domain": "acme-rockets.test", "root_domain": "acme-rockets.test"}),
            ),
        ]))
    }

    #[test]
    fn fields_come_from_attio_and_sandbox_renderings() {
        assert_eq!(ada().names, ["Ada Lovelace"]);
        assert_eq!(ada().emails, ["ada.lovelace@analytical.test"]);
        assert_eq!(ada().phones, ["+447700900798"]);
        assert_eq!(acme().domains, ["acme-rockets.test"]);
        assert_eq!(acme().record_text(), "Acme Rockets");
        let unnamed = SearchFields::of(&values(&[("domains", json!({"value": "x.test"}))]));
        assert_eq!(unnamed.record_text(), "x.test");
        assert_eq!(SearchFields::default().record_text(), "");
    }

    #[test]
    fn tiers_rank_exact_then_prefix_then_words_then_substrings() {
        let cases = [
            ("Ada Lovelace", Some(0)),
            ("  ada   LOVELACE ", Some(0)),
            ("ADA.LOVELACE@analytical.test", Some(0)),
            ("+447700900798", Some(0)),
            ("+44 7700 900798", Some(0)),
            ("ada lov", Some(1)),
            ("ada.love", Some(1)),
            ("lovelace", Some(2)),
            ("love ada", Some(2)),
            ("analytical", Some(2)),
            ("900798", Some(2)),
            ("velace", Some(3)),
            ("ada turing", None),
            ("bab", None),
            ("", Some(3)),
        ];
        for (query, tier) in cases {
            assert_eq!(ada().rank(query), tier, "{query:?}");
        }
        assert_eq!(acme().rank("acme-rockets.test"), Some(0));
        assert_eq!(acme().rank("rockets"), Some(2));
        assert_eq!(acme().rank("7700"), None, "companies have no phone numbers");
    }
}
