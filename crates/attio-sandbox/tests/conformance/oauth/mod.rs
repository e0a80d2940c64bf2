//! The OAuth authorization server: consent page, code exchange, introspection and revocation.

mod consent;
mod revoke;
mod token;

use attio_sandbox::OAuthApp;

pub fn app(client_id: &str, redirect: &str) -> OAuthApp {
    OAuthApp {
        name: "Other app".to_owned(),
        client_id: client_id.to_owned(),
        client_secret: format!("{client_id}-secret"),
        redirect_uris: vec![redirect.to_owned()],
        scopes: vec!["task:read".to_owned()],
    }
}
