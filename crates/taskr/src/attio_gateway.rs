//! How Taskr talks to one Attio (the real one or the sandbox): the OAuth app, the API's address,
//! the shared HTTP client, and the sealing of a link's access token. The Attio link, task sync
//! and pages that read Attio all use it; it depends on none of them.

use attio::{AccessToken, OAuthApp};
use url::Url;

use crate::crypto::{Cipher, Sealed};
use crate::store::{Link, UserId};

/// Everything needed to talk to one Attio (the real one or the sandbox).
pub struct AttioGateway {
    pub oauth: OAuthApp,
    /// Attio's web app (the host of `/authorize`): where links to records go.
    pub app_url: Url,
    pub api_url: Url,
    pub redirect_uri: String,
    pub http: reqwest::Client,
    /// Counts every API call by status (`taskr_attio_requests_total`).
    pub metrics: crate::metrics::Metrics,
}

impl AttioGateway {
    pub fn client(&self, token: AccessToken) -> attio::Client {
        let metrics = self.metrics.clone();
        attio::Client::new(self.api_url.clone(), token, self.http.clone()).with_observer(
            attio::Observer::new(move |status| {
                let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
                metrics.count(crate::metrics::ATTIO_REQUESTS, &[("status", &status)], 1);
            }),
        )
    }
}

fn link_context(user: UserId) -> String {
    crate::crypto::contexts::attio_token(user.0)
}

/// Seals a user's access token for storage on their link.
pub fn seal_token(cipher: &Cipher, user: UserId, token: &AccessToken) -> Sealed {
    cipher.seal(token.expose().as_bytes(), &link_context(user))
}

/// Opens the access token stored on a link.
pub fn open_token(cipher: &Cipher, link: &Link) -> anyhow::Result<AccessToken> {
    let bytes = cipher.open(&link.token, &link_context(link.user_id))?;
    Ok(AccessToken::new(String::from_utf8(bytes)?))
}
