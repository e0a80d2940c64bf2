//! Fault injection on the sandbox's own answers (never on webhook deliveries): the middleware
//! that applies the rules, and the loopback-only controls `/_sandbox/faults`,
//! `/_sandbox/rate-limits` and `/_sandbox/tokens/revoke`.
//!
//! These stay global on purpose: a fault rule matches a path (including `/oauth/token`, which has
//! no workspace yet), and tests of a client's resilience want one switch. A rule may name a
//! `workspace_id` to fault only one workspace's traffic; rate limits always count per workspace.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body::Frame;
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::extract::{bearer_token, ApiJson};
use super::workspaces::workspace_not_found;
use crate::faults::{FaultAction, FaultRule};
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/faults", get(show).post(add).delete(clear))
        .route("/_sandbox/rate-limits", post(rate_limits))
        .route("/_sandbox/tokens/revoke", post(revoke))
}

/// Applies the fault rules and rate limits to everything but the console, the sandbox controls
/// and static files (so faults can always be cleared).
pub(super) async fn inject(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == "/" || path.starts_with("/_sandbox/") || path.starts_with("/static/") {
        return next.run(request).await;
    }
    let is_read = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // Rate limits and workspace-scoped rules go by the workspace of the bearer token.
    let workspace = bearer_token(request.headers())
        .ok()
        .and_then(|token| sandbox.store().active_token(&token).map(|t| t.workspace_id));
    let (latency, action) = sandbox
        .faults()
        .decide(path, is_read, workspace, SystemTime::now());
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match action {
        FaultAction::Pass => next.run(request).await,
        FaultAction::DropConnection => Response::new(Body::new(Abort)),
        FaultAction::TooManyRequests { retry_after } => {
            let mut response = ApiError::rate_limited().into_response();
            if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(retry_after)) {
                response.headers_mut().insert(header::RETRY_AFTER, date);
            }
            response
        }
        FaultAction::ServerError(status) => ApiError::injected(status).into_response(),
    }
}

/// A body that fails before its first byte. Hyper then closes the connection without writing
/// the response head it had only buffered, so the client sees the connection drop.
struct Abort;

impl http_body::Body for Abort {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection dropped by a sandbox fault rule",
        ))))
    }
}

async fn show(State(sandbox): State<Sandbox>) -> Json<Value> {
    Json(state_json(&sandbox))
}

fn state_json(sandbox: &Sandbox) -> Value {
    let faults = sandbox.faults();
    let rules: Vec<Value> = faults.rules().iter().map(rule_json).collect();
    json!({ "rules": rules, "rate_limits": faults.rate_limits() })
}

fn rule_json(rule: &FaultRule) -> Value {
    json!({
        "path_prefix": rule.path_prefix,
        "latency_ms": rule.latency.as_millis() as u64,
        "error_rate": rule.error_rate,
        "error_status": rule.error_status,
        "rate_limit_rate": rule.rate_limit_rate,
        "retry_after_secs": rule.retry_after.as_secs(),
        "drop_connection_rate": rule.drop_connection_rate,
        "workspace_id": rule.workspace_id,
        "times": rule.remaining,
    })
}

/// Adds a rule: `{"path_prefix": "/v2/tasks", "latency_ms", "error_rate", "error_status",
/// "rate_limit_rate", "retry_after_secs", "drop_connection_rate", "workspace_id", "times"}`; all
/// but `path_prefix` optional. With `workspace_id`, only requests whose token belongs to that
/// workspace match.
async fn add(
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&[
        "path_prefix",
        "latency_ms",
        "error_rate",
        "error_status",
        "rate_limit_rate",
        "retry_after_secs",
        "drop_connection_rate",
        "workspace_id",
        "times",
    ])?;
    let workspace_id = fields.uuid("workspace_id")?;
    if let Some(id) = workspace_id.filter(|id| !sandbox.workspace_ids().contains(id)) {
        return Err(workspace_not_found(id));
    }
    let path_prefix = fields.text("path_prefix")?;
    if !path_prefix.starts_with('/') {
        return Err(ApiError::validation(
            "body.path_prefix must start with \"/\".",
        ));
    }
    let rule = FaultRule {
        path_prefix,
        latency: Duration::from_millis(integer(&mut fields, "latency_ms", 0, 60_000)?.unwrap_or(0)),
        error_rate: rate(&mut fields, "error_rate")?,
        error_status: match integer(&mut fields, "error_status", 400, 599)? {
            // A 429 has its own rate and `Retry-After`.
            Some(429) => {
                return Err(ApiError::validation(
                    "body.error_status cannot be 429; use rate_limit_rate for 429s.",
                ))
            }
            Some(status) => status as u16,
            None => 500,
        },
        rate_limit_rate: rate(&mut fields, "rate_limit_rate")?,
        retry_after: Duration::from_secs(
            integer(&mut fields, "retry_after_secs", 1, 3600)?.unwrap_or(1),
        ),
        drop_connection_rate: rate(&mut fields, "drop_connection_rate")?,
        workspace_id,
        remaining: integer(&mut fields, "times", 1, u64::from(u32::MAX))?.map(|n| n as u32),
    };
    sandbox.faults().add(rule);
    Ok(Json(state_json(&sandbox)))
}

fn rate(fields: &mut Fields, key: &str) -> Result<f64, ApiError> {
    match fields.take(key) {
        None => Ok(0.0),
        Some(value) => value
            .as_f64()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| {
                ApiError::validation(format!("body.{key} must be a number from 0 to 1."))
            }),
    }
}

fn integer(fields: &mut Fields, key: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
    match fields.take(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "body.{key} must be an integer from {min} to {max}."
                ))
            }),
    }
}

/// Removes every fault rule.
async fn clear(State(sandbox): State<Sandbox>) -> Json<Value> {
    sandbox.faults().clear();
    Json(state_json(&sandbox))
}

/// `{"enabled": true|false}`: Attio's 100 reads/s and 25 writes/s on `/v2/`.
async fn rate_limits(
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&["enabled"])?;
    let enabled = fields
        .bool("enabled")?
        .ok_or_else(|| ApiError::validation("body.enabled is required (true or false)."))?;
    sandbox.faults().set_rate_limits(enabled);
    Ok(Json(state_json(&sandbox)))
}

/// `{"token": "<access token or API key>"}` revokes one; `{"all": true}` every one, in every
/// workspace.
async fn revoke(
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&["token", "all"])?;
    let all = fields.bool("all")?.unwrap_or(false);
    match (fields.string("token")?, all) {
        (Some(token), false) if !token.is_empty() => sandbox.store().revoke_token(&token),
        (None, true) => sandbox.revoke_all_tokens(),
        _ => {
            return Err(ApiError::validation(
                "Send either {\"token\": \"…\"} or {\"all\": true}.",
            ))
        }
    }
    Ok(Json(json!({})))
}
