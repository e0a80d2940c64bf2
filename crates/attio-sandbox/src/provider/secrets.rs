//! Random tokens and how the provider stores and compares them: raw secrets are handed out once
//! and only their SHA-256 digests are kept, so nothing in memory or `Debug` output can leak them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A fresh bearer secret: `prefix` then 32 random bytes as base64url without padding.
pub(super) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The map key of a secret: its SHA-256 digest.
pub(super) type Digest = [u8; 32];

pub(super) fn digest(secret: &str) -> Digest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two secrets without revealing where they differ: both sides are hashed to the same
/// length first, then every byte is compared.
pub(super) fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (digest(a), digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// RFC 7636 S256: `BASE64URL-NOPAD(SHA256(verifier)) == challenge`.
pub(super) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(digest(verifier));
    secrets_equal(&computed, challenge)
}

/// RFC 7636 §4.1: 43 to 128 characters from `[A-Za-z0-9-._~]` (a challenge has the same shape).
pub(super) fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A stable, non-reversible subject id for an email address.
pub(super) fn subject_for(email: &str) -> String {
    let digest = digest(&email.to_ascii_lowercase());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("usr_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_at_least_32_random_url_safe_bytes() {
        let token = random_token("at_");
        let body = token.strip_prefix("at_").unwrap_or_default();
        assert_eq!(body.len(), 43);
        assert!(body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(token, random_token("at_"));
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(is_pkce_value(verifier));
        assert!(!is_pkce_value("short"));
    }
}
