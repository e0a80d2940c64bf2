//! The OAuth 2.0 client side of connections, on the `oauth2` crate: PKCE (S256), the authorize
//! URL, the token endpoint's grants (authorization code, refresh token) and revocation
//! (RFC 7009). Around it Taskr adds its HTTP client and the sorting of failures
//! (`transport`), and a lenient reading of token answers (`answer`).

mod answer;
mod transport;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, RevocationUrl, Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use url::Url;

pub use oauth2::{AccessToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken};

use super::providers::{is_this_machine, OAuth2Config};
use answer::TokenAnswer;
use transport::Transport;

/// oauth2's client, typed by which endpoints are set: Taskr's token answers, the standard
/// error answers.
type Client<HasAuthUrl, HasRevocationUrl, HasTokenUrl> = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    HasRevocationUrl,
    HasTokenUrl,
>;

/// The client for one provider, without endpoints yet. Built per request: a few string copies,
/// and the provider declarations stay plain data.
fn client(config: &OAuth2Config) -> Client<EndpointNotSet, EndpointNotSet, EndpointNotSet> {
    oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(ClientSecret::new(config.client_secret.0.clone()))
        // Taskr has always sent its credentials as body fields (RFC 6749 §2.3.1); oauth2
        // would use HTTP Basic, which some providers do not accept.
        .set_auth_type(AuthType::RequestBody)
}

/// A PKCE code verifier (RFC 7636: 43 to 128 characters; 64 random bytes → 86) and its S256
/// challenge.
pub fn new_pkce() -> (PkceCodeChallenge, PkceCodeVerifier) {
    PkceCodeChallenge::new_random_sha256_len(64)
}

/// Where to send the user: the provider's authorize endpoint with Taskr's client id, the
/// callback, `state`, the scopes, the PKCE challenge (when the provider uses PKCE) and the
/// provider's extra parameters.
pub fn authorize_url(
    config: &OAuth2Config,
    redirect_uri: &RedirectUrl,
    state: &str,
    challenge: Option<PkceCodeChallenge>,
) -> Url {
    let client = client(config).set_auth_uri(AuthUrl::from_url(config.authorize_url.clone()));
    let mut request = client
        .authorize_url(|| CsrfToken::new(state.to_owned()))
        .set_redirect_uri(Cow::Borrowed(redirect_uri))
        .add_scopes(config.scopes.iter().cloned().map(Scope::new));
    if let Some(challenge) = challenge {
        request = request.set_pkce_challenge(challenge);
    }
    for (name, value) in &config.extra_authorize_params {
        request = request.add_extra_param(name.as_str(), value.as_str());
    }
    request.url().0
}

/// A token endpoint's successful answer. The tokens' `Debug` prints `[redacted]`.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_in: Option<Duration>,
    pub scope: Option<String>,
}

impl From<TokenAnswer> for Tokens {
    fn from(answer: TokenAnswer) -> Self {
        Tokens {
            access_token: answer.access_token().clone(),
            // An empty refresh token is no refresh token: the one stored stays.
            refresh_token: answer
                .refresh_token()
                .filter(|t| !t.secret().is_empty())
                .cloned(),
            expires_in: answer.expires_in(),
            scope: answer.scopes().map(|scopes| {
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        }
    }
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the grant (`invalid_grant`, `invalid_client`, …) or answered
    /// something unusable: retrying the same request cannot help.
    #[error("the provider refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Network trouble, a timeout, a 5xx or a 429: worth trying again later.
    #[error("the provider could not be reached: {0}")]
    Unavailable(String),
}

impl TokenError {
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, TokenError::Refused { error, .. } if error == "invalid_grant")
    }
}

fn token_client(config: &OAuth2Config) -> Client<EndpointNotSet, EndpointNotSet, EndpointSet> {
    client(config).set_token_uri(TokenUrl::from_url(config.token_url.clone()))
}

/// The authorization-code grant (RFC 6749 §4.1.3), with the PKCE verifier when one was sent.
pub async fn exchange_code(
    http: &reqwest::Client,
    config: &OAuth2Config,
    code: &str,
    redirect_uri: &RedirectUrl,
    verifier: Option<PkceCodeVerifier>,
) -> Result<Tokens, TokenError> {
    let client = token_client(config);
    let mut request = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_redirect_uri(Cow::Borrowed(redirect_uri));
    if let Some(verifier) = verifier {
        request = request.set_pkce_verifier(verifier);
    }
    let transport = Transport::new(http);
    match request.request_async(&transport).await {
        Ok(answer) => Ok(answer.into()),
        Err(failure) => Err(transport.classify(failure)),
    }
}

/// The refresh-token grant (RFC 6749 §6), for the scopes already granted.
pub async fn refresh(
    http: &reqwest::Client,
    config: &OAuth2Config,
    refresh_token: &RefreshToken,
) -> Result<Tokens, TokenError> {
    let client = token_client(config);
    let transport = Transport::new(http);
    match client
        .exchange_refresh_token(refresh_token)
        .request_async(&transport)
        .await
    {
        Ok(answer) => Ok(answer.into()),
        Err(failure) => Err(transport.classify(failure)),
    }
}

/// A token to revoke, with its type as the `token_type_hint`.
pub enum Revocable {
    Access(AccessToken),
    Refresh(RefreshToken),
}

/// Revokes a token at the provider (RFC 7009); the provider's answer is all we learn.
///
/// RFC 7009 requires https, and oauth2 refuses any other revocation URL. Taskr also accepts
/// plain http on this machine (the embedded sandbox of demo mode and of the tests: see
/// `providers::is_this_machine`): oauth2 is given the https twin of such a URL, and the
/// transport sends the request to the configured one.
pub async fn revoke(
    http: &reqwest::Client,
    config: &OAuth2Config,
    url: &Url,
    token: Revocable,
) -> Result<(), String> {
    let (endpoint, transport) = match url.scheme() {
        "https" => (url.clone(), Transport::new(http)),
        "http" if is_this_machine(url) => {
            let mut twin = url.clone();
            twin.set_scheme("https")
                .map_err(|()| format!("cannot revoke at {url}"))?;
            (twin, Transport::new(http).to(url.clone()))
        }
        _ => return Err("the revocation URL must be https (RFC 7009)".to_owned()),
    };
    let client = client(config).set_revocation_url(RevocationUrl::from_url(endpoint));
    let token = match token {
        Revocable::Access(token) => StandardRevocableToken::AccessToken(token),
        Revocable::Refresh(token) => StandardRevocableToken::RefreshToken(token),
    };
    let request = client.revoke_token(token).map_err(|e| e.to_string())?;
    request
        .request_async(&transport)
        .await
        .map_err(|failure| transport.classify(failure).to_string())
}
