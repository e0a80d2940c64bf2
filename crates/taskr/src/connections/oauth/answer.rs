//! A token endpoint's successful answer (RFC 6749 §5.1), read the way Taskr always has: oauth2's
//! own `StandardTokenResponse` fails on an answer without `token_type` and on an `expires_in`
//! sent as a string, and such answers from real providers used to connect (and refresh) fine.

use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, RefreshToken, Scope, TokenResponse};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Deserialize, Serialize)]
pub(super) struct TokenAnswer {
    access_token: AccessToken,
    /// Taskr only sends bearer tokens; an answer without a type is read as one.
    #[serde(default = "bearer", deserialize_with = "token_type")]
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "lenient_seconds")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(
        rename = "scope",
        default,
        deserialize_with = "oauth2::helpers::deserialize_space_delimited_vec",
        serialize_with = "oauth2::helpers::serialize_space_delimited_vec"
    )]
    scopes: Option<Vec<Scope>>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

/// Any string (compared without case, as RFC 6749 §5.1 says), or `null` for a bearer token.
fn token_type<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BasicTokenType, D::Error> {
    Ok(
        match Option::<String>::deserialize(deserializer)?.map(|t| t.to_ascii_lowercase()) {
            None => BasicTokenType::Bearer,
            Some(t) if t == "bearer" => BasicTokenType::Bearer,
            Some(t) if t == "mac" => BasicTokenType::Mac,
            Some(other) => BasicTokenType::Extension(other),
        },
    )
}

/// `expires_in` is a number by RFC 6749, but some servers send a string; anything else (a
/// negative number, a fraction, nonsense) reads as "not said", never as a failed connection.
fn lenient_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

impl TokenResponse for TokenAnswer {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<std::time::Duration> {
        self.expires_in.map(std::time::Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_real_providers_send_are_read_as_before() {
        let cases = [
            (
                r#"{"access_token":"a","token_type":"Bearer","expires_in":3600,"scope":"x y"}"#,
                Some(3600),
                Some("x y"),
            ),
            (r#"{"access_token":"a"}"#, None, None),
            (
                r#"{"access_token":"a","expires_in":"120"}"#,
                Some(120),
                None,
            ),
            (
                r#"{"access_token":"a","token_type":null,"expires_in":-5}"#,
                None,
                None,
            ),
            (r#"{"access_token":"a","expires_in":1.5}"#, None, None),
            (r#"{"access_token":"a","expires_in":"soon"}"#, None, None),
            (r#"{"access_token":"a","scope":""}"#, None, Some("")),
            (
                r#"{"access_token":"a","extra":{"nested":true}}"#,
                None,
                None,
            ),
        ];
        for (json, expires_in, scope) in cases {
            let answer: TokenAnswer = serde_json::from_str(json).expect(json);
            assert_eq!(answer.access_token().secret(), "a", "{json}");
            assert_eq!(
                answer.expires_in().map(|d| d.as_secs()),
                expires_in,
                "{json}"
            );
            let scopes = answer
                .scopes()
                .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
            assert_eq!(scopes.as_deref(), scope, "{json}");
        }
        for missing in [r#"{"token_type":"bearer"}"#, r#"{"access_token":null}"#] {
            assert!(
                serde_json::from_str::<TokenAnswer>(missing).is_err(),
                "{missing}"
            );
        }
    }
}
