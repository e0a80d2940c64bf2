//! The HTTP app: each feature module owns its routes; this file merges them and applies the
//! layers shared by all (request logging, fault injection, JSON fallbacks).

mod admin;
mod attributes;
mod authorize;
mod body;
mod calls;
mod choices;
mod comments;
mod console;
mod controls;
mod entries;
mod error;
mod extract;
mod faults;
mod introspect;
mod lists;
mod meeting_body;
mod members;
mod merge;
mod notes;
mod objects;
mod paging;
mod query;
mod record_page;
mod record_values;
mod recordings;
mod records;
mod scim;
mod search;
mod state;
mod task_body;
mod tasks;
mod threads;
mod token;
mod values;
mod webhooks;
mod workspaces;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::Sandbox;
use error::ApiError;

pub(crate) fn router(sandbox: Sandbox) -> Router {
    let provider = sandbox.provider().map(|p| p.router()).unwrap_or_default();
    Router::new()
        .merge(authorize::router())
        .merge(token::router())
        .merge(introspect::router())
        .merge(tasks::router())
        .merge(members::router())
        .merge(webhooks::router())
        .merge(objects::router())
        .merge(records::router())
        .merge(query::router())
        .merge(search::router())
        .merge(merge::router())
        .merge(attributes::router())
        .merge(choices::router())
        .merge(lists::router())
        .merge(entries::router())
        .merge(values::router())
        .merge(notes::router())
        .merge(comments::router())
        .merge(threads::router())
        .merge(calls::router())
        .merge(recordings::router())
        .merge(scim::router())
        .merge(admin::router())
        .merge(record_page::router())
        .route("/static/sandbox.css", get(stylesheet))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            state::one_state,
        ))
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            state::save_changes,
        ))
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            count_request,
        ))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(read_body_first))
        .with_state(sandbox)
        .merge(provider)
}

async fn count_request(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    *sandbox
        .shared()
        .requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(path)
        .or_default() += 1;
    next.run(request).await
}

async fn stylesheet() -> Response {
    let mut response = include_str!("../../templates/sandbox.css").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("No route matches this path.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// The largest request body the API reads (axum's default limit for its body extractors);
/// `POST /_sandbox/restore` from the local machine may send up to [`state::RESTORE_LIMIT`].
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Reads every request's whole body before anything answers. An answer given before the body
/// is read (a 404 or 405, a 401 from the token check, an injected fault) would leave the body's
/// bytes on the connection: hyper then ends the connection after that answer, and a client that
/// had already sent its next request on it saw that request dropped. A body over the limit is
/// answered 413 at once (and the connection then ends, as it should).
async fn read_body_first(request: Request, next: Next) -> Response {
    let limit = if state::takes_large_body(&request) {
        state::RESTORE_LIMIT
    } else {
        BODY_LIMIT
    };
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(_) => ApiError::payload_too_large(format!(
            "The request body is too large (at most {} MiB) or could not be read.",
            limit / (1024 * 1024)
        ))
        .into_response(),
    }
}

/// Logs method, path and status with a request id. Never the query string or body: those carry
/// authorization codes, client secrets and tokens.
async fn log_request(request: Request, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        request_id = id,
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sandbox request"
    );
    response
}
