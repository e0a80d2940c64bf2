//! The ways a call to Attio can fail, typed where a caller must branch on them.

use std::time::Duration;

use serde::Deserialize;

/// Attio's flat error body (`{status_code, type, code, message}`). Every field is optional here
/// because the shape of some errors (401s, OAuth endpoints) is not documented.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// RFC 6749 token-endpoint errors use `error` / `error_description` instead.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl ErrorBody {
    /// The most specific human text the body carries.
    pub fn summary(&self) -> String {
        let code = self.code.as_deref().or(self.error.as_deref());
        let message = self
            .message
            .as_deref()
            .or(self.error_description.as_deref());
        match (code, message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_owned(),
            (None, Some(m)) => m.to_owned(),
            (None, None) => "no details".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AttioError {
    /// The token is missing, invalid or revoked (HTTP 401).
    #[error("Attio rejected the access token: {0}")]
    Unauthorized(String),
    /// The token lacks a scope or the workspace refuses the call (HTTP 403).
    #[error("Attio refused the request: {0}")]
    Forbidden(String),
    #[error("not found at Attio: {0}")]
    NotFound(String),
    /// HTTP 429; `retry_after` comes from the `Retry-After` header when it parses.
    #[error("rate limited by Attio")]
    RateLimited { retry_after: Option<Duration> },
    /// The OAuth token endpoint refused the grant (bad, used or expired code; wrong client).
    #[error("Attio refused the OAuth grant: {0}")]
    OAuth(String),
    #[error("Attio answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    #[error("could not reach Attio")]
    Transport(#[source] reqwest::Error),
    #[error("Attio sent a response Taskr could not read: {0}")]
    Decode(String),
}

impl AttioError {
    /// True when the token itself is no longer usable and the user must authorize again.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Unauthorized(_) | Self::Forbidden(_))
    }

    /// True when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Transport(_) => true,
            Self::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response.text().await.unwrap_or_default();
        let body: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
        let message = if body.summary() == "no details" && !text.is_empty() {
            text.chars().take(200).collect()
        } else {
            body.summary()
        };
        match status {
            401 => Self::Unauthorized(message),
            403 => Self::Forbidden(message),
            404 => Self::NotFound(message),
            429 => Self::RateLimited { retry_after },
            _ => Self::Api { status, message },
        }
    }
}

/// `Retry-After` is documented as an HTTP-date; the delta-seconds form of RFC 9110 is accepted too.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Tue, 23 May 2023 14:42:01 GMT"),
            Some(Duration::ZERO)
        );
        let future =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let parsed = parse_retry_after(&future).expect("future date parses");
        assert!(parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn error_summary_prefers_code_and_message() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"status_code":404,"type":"invalid_request_error","code":"not_found","message":"gone"}"#,
        )
        .unwrap();
        assert_eq!(body.summary(), "not_found: gone");
        let oauth: ErrorBody =
            serde_json::from_str(r#"{"error":"invalid_grant","error_description":"used"}"#)
                .unwrap();
        assert_eq!(oauth.summary(), "invalid_grant: used");
    }
}
