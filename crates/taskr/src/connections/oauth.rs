//! The OAuth 2.0 client side of connections: PKCE (S256), the authorize URL, and the token
//! endpoint's grants (authorization code, refresh token) and revocation (RFC 7009).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::providers::OAuth2Config;

/// A PKCE code verifier (RFC 7636: 43 to 128 unreserved characters); 64 random bytes → 86.
pub fn new_verifier() -> String {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn authorize_url(
    config: &OAuth2Config,
    redirect_uri: &str,
    state: &str,
    verifier: Option<&str>,
) -> Url {
    let mut url = config.authorize_url.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if !config.scopes.is_empty() {
            query.append_pair("scope", &config.scopes.join(" "));
        }
        if let Some(verifier) = verifier {
            query
                .append_pair("code_challenge", &challenge(verifier))
                .append_pair("code_challenge_method", "S256");
        }
        for (key, value) in &config.extra_authorize_params {
            query.append_pair(key, value);
        }
    }
    url
}

/// A token endpoint's successful answer.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<Duration>,
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct RawTokens {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    scope: Option<String>,
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the grant (`invalid_grant`, `invalid_client`, …): retrying the same
    /// request cannot help.
    #[error("the provider refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Network trouble, a 5xx or a 429: worth trying again later.
    #[error("the provider could not be reached: {0}")]
    Unavailable(String),
}

impl TokenError {
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, TokenError::Refused { error, .. } if error == "invalid_grant")
    }
}

async fn token_request(
    http: &reqwest::Client,
    config: &OAuth2Config,
    form: &[(&str, &str)],
) -> Result<Tokens, TokenError> {
    let mut body: Vec<(&str, &str)> = form.to_vec();
    body.push(("client_id", &config.client_id));
    body.push(("client_secret", &config.client_secret.0));
    let response = http
        .post(config.token_url.clone())
        .header("accept", "application/json")
        .form(&body)
        .send()
        .await
        .map_err(|e| TokenError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| TokenError::Unavailable(e.without_url().to_string()))?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(TokenError::Unavailable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: Option<String>,
            error_description: Option<String>,
        }
        let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
        return Err(TokenError::Refused {
            error: parsed
                .as_ref()
                .and_then(|b| b.error.clone())
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
            description: parsed.and_then(|b| b.error_description),
        });
    }
    let raw: RawTokens = serde_json::from_str(&text).map_err(|e| TokenError::Refused {
        error: "invalid_response".into(),
        description: Some(e.to_string()),
    })?;
    // `expires_in` is a number by RFC 6749, but some servers send a string.
    let expires_in = raw.expires_in.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    });
    Ok(Tokens {
        access_token: raw.access_token,
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()),
        expires_in: expires_in.map(Duration::from_secs),
        scope: raw.scope,
    })
}

pub async fn exchange_code(
    http: &reqwest::Client,
    config: &OAuth2Config,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<Tokens, TokenError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    token_request(http, config, &form).await
}

pub async fn refresh(
    http: &reqwest::Client,
    config: &OAuth2Config,
    refresh_token: &str,
) -> Result<Tokens, TokenError> {
    token_request(
        http,
        config,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Revokes a token at the provider (RFC 7009); the provider's answer is all we learn.
pub async fn revoke(
    http: &reqwest::Client,
    config: &OAuth2Config,
    url: &Url,
    token: &str,
    hint: &str,
) -> Result<(), String> {
    let response = http
        .post(url.clone())
        .form(&[
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret.0),
        ])
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let verifier = new_verifier();
        assert!((43..=128).contains(&verifier.len()));
        assert_ne!(verifier, new_verifier());
    }
}
