//! The OAuth 2.0 authorization-code flow against Attio's app host: the authorize URL, the code
//! exchange (client_secret_post, as Attio's tutorial does it) and revocation.

use std::fmt;

use serde::Deserialize;
use url::Url;

use crate::{AccessToken, AttioError};

/// An OAuth app registered at Attio (or at the sandbox).
#[derive(Clone)]
pub struct OAuthApp {
    app_url: Url,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("app_url", &self.app_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// What the authorize redirect needs besides the app itself.
pub struct AuthorizeRequest<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
}

impl OAuthApp {
    pub fn new(
        app_url: Url,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            app_url,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            http,
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.app_url.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }

    /// `GET /authorize` with the four documented parameters. Attio takes no `scope`: the app's
    /// configured scopes are the grant.
    pub fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        let mut url = self.endpoint("/authorize");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("state", request.state);
        url
    }

    /// Exchanges an authorization code for an access token, sending the same `redirect_uri` that
    /// the authorize request carried.
    #[tracing::instrument(skip_all, fields(client_id = %self.client_id))]
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<AccessToken, AttioError> {
        let response = self
            .http
            .post(self.endpoint("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ])
            .send()
            .await
            .map_err(AttioError::Transport)?;
        let status = response.status();
        if status.is_client_error() && status.as_u16() != 429 {
            // RFC 6749 §5.2 errors: a bad code or a bad client. Never retryable.
            let error = AttioError::from_response(response).await;
            return Err(AttioError::OAuth(match error {
                AttioError::Unauthorized(m)
                | AttioError::Forbidden(m)
                | AttioError::NotFound(m)
                | AttioError::Api { message: m, .. } => m,
                other => other.to_string(),
            }));
        }
        if !status.is_success() {
            return Err(AttioError::from_response(response).await);
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|e| AttioError::Decode(format!("token response: {e}")))?;
        if let Some(kind) = &body.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(AttioError::Decode(format!(
                    "unexpected token_type {kind:?}"
                )));
            }
        }
        if body.access_token.is_empty() {
            return Err(AttioError::Decode("empty access_token".into()));
        }
        Ok(AccessToken::new(body.access_token))
    }

    /// Revokes a token (`POST /oauth/revoke`, 204 on success). The token goes in the form body
    /// only, since sending it in both places with any difference is an error.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, token: &AccessToken) -> Result<(), AttioError> {
        let response = self
            .http
            .post(self.endpoint("/oauth/revoke"))
            .form(&[("token", token.expose())])
            .send()
            .await
            .map_err(AttioError::Transport)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(AttioError::from_response(response).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_carries_exactly_the_documented_parameters() {
        let app = OAuthApp::new(
            Url::parse("https://app.attio.com").unwrap(),
            "client-1",
            "s3cret",
            reqwest::Client::new(),
        );
        let url = app.authorize_url(&AuthorizeRequest {
            redirect_uri: "http://localhost:3050/integrations/attio/callback",
            state: "abc",
        });
        assert_eq!(url.path(), "/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("client_id".into(), "client-1".into()),
                ("response_type".into(), "code".into()),
                (
                    "redirect_uri".into(),
                    "http://localhost:3050/integrations/attio/callback".into()
                ),
                ("state".into(), "abc".into()),
            ]
        );
        assert!(!format!("{app:?}").contains("s3cret"));
    }
}
