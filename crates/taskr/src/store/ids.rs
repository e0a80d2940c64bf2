//! Typed ids for what the store keys by: an Attio workspace and a connection provider. Parsed
//! once at the edge (`FromStr`, with an error that says what was wrong), trusted behind it.
//! Both are stored as text on every backend, in the form `Display` prints.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An Attio workspace's id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct WorkspaceId(pub Uuid);

impl WorkspaceId {
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a workspace id (a UUID)")]
pub struct BadWorkspaceId(String);

impl FromStr for WorkspaceId {
    type Err = BadWorkspaceId;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| BadWorkspaceId(raw.chars().take(64).collect()))
    }
}

impl From<Uuid> for WorkspaceId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<WorkspaceId> for Uuid {
    fn from(id: WorkspaceId) -> Self {
        id.0
    }
}

/// Attio's own types carry workspace ids as bare UUIDs; comparing with them needs no unwrapping.
impl PartialEq<Uuid> for WorkspaceId {
    fn eq(&self, other: &Uuid) -> bool {
        self.0 == *other
    }
}

impl PartialEq<WorkspaceId> for Uuid {
    fn eq(&self, other: &WorkspaceId) -> bool {
        *self == other.0
    }
}

/// The name of a connection provider as configured: 1 to 40 lowercase letters, digits, `-` or
/// `_` (it appears in URLs and in server code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderName(String);

pub const PROVIDER_NAME_MAX: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a provider name: use 1 to 40 lowercase letters, digits, '-' or '_'")]
pub struct BadProviderName(String);

impl ProviderName {
    pub fn parse(raw: &str) -> Result<Self, BadProviderName> {
        if Self::valid(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BadProviderName(raw.chars().take(64).collect()))
        }
    }

    /// Whether `raw` may name a provider.
    pub fn valid(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= PROVIDER_NAME_MAX
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ProviderName {
    type Err = BadProviderName;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for ProviderName {
    type Error = BadProviderName;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ProviderName> for String {
    fn from(name: ProviderName) -> Self {
        name.0
    }
}

impl AsRef<str> for ProviderName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ProviderName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ProviderName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_ids_round_trip_and_refuse_what_is_not_a_uuid() {
        let id = WorkspaceId(Uuid::new_v4());
        assert_eq!(id.to_string().parse::<WorkspaceId>(), Ok(id));
        assert_eq!(id, id.as_uuid());
        for bad in ["", "nope", "123", &"a".repeat(500)] {
            let error = bad.parse::<WorkspaceId>().unwrap_err().to_string();
            assert!(error.contains("is not a workspace id"), "{bad:?}: {error}");
            assert!(error.len() < 120, "the input is cut short in the message");
        }
    }

    #[test]
    fn provider_names_follow_the_configuration_rules() {
        for good in ["sequencer", "mail-er_2", &"a".repeat(40)] {
            assert_eq!(ProviderName::parse(good).unwrap().as_str(), good);
        }
        let cases = [
            ("", "empty"),
            ("Sequencer", "upper case"),
            ("a b", "a space"),
            ("a/b", "a slash (it appears in URLs)"),
            ("é", "not ASCII"),
        ];
        for (bad, why) in cases {
            assert!(ProviderName::parse(bad).is_err(), "{why}: {bad:?}");
        }
        assert!(ProviderName::parse(&"a".repeat(41)).is_err(), "too long");
        let json: Result<ProviderName, _> = serde_json::from_str("\"Bad Name\"");
        assert!(json.is_err(), "deserializing checks the name too");
    }
}
