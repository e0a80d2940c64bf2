//! Identifiers and secrets: deterministic seed UUIDs, random tokens, and how secrets are stored and compared.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// A UUID derived from `label`, identical on every start (SHA-256, version-4 bits set).
pub(crate) fn seeded_uuid(label: &str) -> Uuid {
    let digest = Sha256::digest(format!("attio-sandbox:{label}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Seed ids of one workspace: "Acme Demo" keeps its historical labels (no prefix); every other
/// workspace prefixes them, so that no two workspaces share an id.
#[derive(Clone)]
pub(crate) struct SeedIds {
    prefix: String,
}

impl SeedIds {
    pub fn root() -> SeedIds {
        SeedIds {
            prefix: String::new(),
        }
    }

    pub fn scoped(namespace: &str) -> SeedIds {
        SeedIds {
            prefix: format!("{namespace}:"),
        }
    }

    pub fn id(&self, label: &str) -> Uuid {
        seeded_uuid(&format!("{}{label}", self.prefix))
    }
}

/// 32 random bytes from the OS, base64url without padding (43 characters).
pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 32 random bytes from the OS as 64 lowercase hex characters: a webhook signing secret.
pub(crate) fn random_hex_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The key under which a bearer secret (token, code) is stored, so raw secrets are never map keys.
pub(crate) fn secret_key(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets without leaking where they differ (both sides hashed to equal length first).
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_uuids_are_stable_version_4_uuids() {
        let a = seeded_uuid("workspace");
        assert_eq!(a, seeded_uuid("workspace"));
        assert_ne!(a, seeded_uuid("other"));
        assert_eq!(a.get_version_num(), 4);
    }

    #[test]
    fn random_secrets_are_43_url_safe_characters() {
        let s = random_secret();
        assert_eq!(s.len(), 43);
        assert!(s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(s, random_secret());
    }

    #[test]
    fn webhook_secrets_are_64_lowercase_hex_characters() {
        let s = random_hex_secret();
        assert_eq!(s.len(), 64);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(s, random_hex_secret());
    }

    #[test]
    fn secret_comparison_matches_equality() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
