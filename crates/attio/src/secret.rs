//! A wrapper that keeps access tokens out of `Debug` output and logs by construction.

use std::fmt;

/// An Attio access token (OAuth or API key). `Debug` never shows it; call [`AccessToken::expose`]
/// only where the bytes must leave the process (an `Authorization` header, the sealing cipher).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token() {
        let token = AccessToken::new("very-secret-token");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
    }
}
