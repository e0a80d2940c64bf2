//! The client's address, decided once per request by a middleware (before the request's log
//! span is made) and read by handlers through the [`ClientAddr`] extractor. Rate limits and logs
//! use it; nothing else should read `ConnectInfo` or `X-Forwarded-For` for this. The rule itself
//! is [`crate::proxies::TrustedProxies::client`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::AppError;
use crate::state::AppState;

/// Who sent the request: the peer, or whom a trusted proxy says it forwards for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Resolves the client's address from the peer and `X-Forwarded-For` (see the module comment).
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let peer = peer.ip();
        let values: Option<Vec<&str>> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().ok())
            .collect();
        // A value that is not even text is malformed: the peer it is.
        let client = match values {
            Some(values) => state.settings.trusted_proxies.client(peer, &values),
            None => peer.to_canonical(),
        };
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        if let Some(client) = parts.extensions.get::<ClientAddr>() {
            return Ok(*client);
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| ClientAddr(peer.ip().to_canonical()))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no peer address on the request")))
    }
}
