//! Loopback-only controls over the whole state: `GET /_sandbox/snapshot`, `POST
//! /_sandbox/restore` (body: a snapshot) and `POST /_sandbox/reset`; and the two layers that keep
//! requests and saved state in step: a request that changed the state is answered once the data
//! directory holds the change, and no request runs while the state is being replaced.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::error::ApiError;
use super::extract::is_loopback;
use super::extract::{body_rejection, MaybeJson};
use crate::store::Snapshot;
use crate::Sandbox;

/// The largest snapshot `POST /_sandbox/restore` reads (from the local machine only; everything
/// else is limited to 2 MiB). A workspace of 5,000 records is about 2 MiB.
pub(super) const RESTORE_LIMIT: usize = 256 * 1024 * 1024;

const RESET: &str = "/_sandbox/reset";
const RESTORE: &str = "/_sandbox/restore";

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/snapshot", get(snapshot))
        .route(RESET, post(reset))
        .route(
            RESTORE,
            post(restore).layer(DefaultBodyLimit::max(RESTORE_LIMIT)),
        )
}

/// Whether the request may send a body up to [`RESTORE_LIMIT`]: a restore from this machine.
pub(super) fn takes_large_body(request: &Request) -> bool {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    request.uri().path() == RESTORE && is_loopback(peer)
}

async fn snapshot(State(sandbox): State<Sandbox>) -> Response {
    // Copied under the lock, serialised after it.
    let snapshot = sandbox.store().snapshot();
    let body = serde_json::to_vec(&snapshot).unwrap_or_default();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // It holds webhook secrets.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An empty body or `{}`.
async fn reset(
    State(sandbox): State<Sandbox>,
    MaybeJson(body): MaybeJson,
) -> Result<StatusCode, ApiError> {
    if body.as_object().is_none_or(|o| !o.is_empty()) {
        return Err(ApiError::validation(
            "POST /_sandbox/reset takes no body (or {}).",
        ));
    }
    sandbox.reset().await;
    Ok(StatusCode::NO_CONTENT)
}

async fn restore(
    State(sandbox): State<Sandbox>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let body = body.map_err(body_rejection)?;
    let invalid = |problem: String| ApiError::validation(format!("Invalid snapshot: {problem}."));
    let snapshot = Snapshot::parse(&body).map_err(invalid)?;
    sandbox.restore_snapshot(snapshot).await.map_err(invalid)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Answers a request that changed the state only once the data directory holds the change.
/// Concurrent requests share one write. A failed write is logged and retried; the answer stands,
/// since the change itself was made.
pub(super) async fn save_changes(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let before = sandbox.shared().generation();
    let response = next.run(request).await;
    if before.is_some() && sandbox.shared().generation() != before {
        let _ = sandbox.shared().save().await;
    }
    response
}

/// Requests run side by side, but never while the state is replaced: a workspace resolved
/// from a token in one state must not be used in the next.
pub(super) async fn one_state(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == RESET || path == RESTORE {
        // They take the gate exclusively themselves.
        return next.run(request).await;
    }
    let _state = sandbox.shared().gate.read().await;
    next.run(request).await
}
