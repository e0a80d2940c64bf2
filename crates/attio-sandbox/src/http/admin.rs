//! The loopback-only part of the sandbox: the console (`/`), `POST /_sandbox/api-keys`, the
//! workspace controls, and every other `/_sandbox/...` control, all behind one peer check.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{is_loopback, MaybeJson};
use super::workspaces::workspace_not_found;
use super::{console, controls, faults, state, workspaces};
use crate::scopes::is_known;
use crate::{Sandbox, ALL_SCOPES};

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/api-keys", post(create_api_key))
        .merge(console::router())
        .merge(controls::router())
        .merge(faults::router())
        .merge(state::router())
        .merge(workspaces::router())
        .route("/_sandbox/{*rest}", any(unknown))
        .route_layer(middleware::from_fn(loopback_only))
}

/// Refuses anyone but the local machine. A server started without connect info (plain
/// `axum::serve(router)`) cannot tell, so it refuses too.
async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    if is_loopback(peer) {
        next.run(request).await
    } else {
        ApiError::forbidden("Sandbox controls are only available from the local machine.")
            .into_response()
    }
}

async fn unknown() -> ApiError {
    ApiError::not_found("No sandbox control at this path.")
}

/// `{"scopes": [...], "workspace_id": "..."}`; an empty body or no `scopes` grants every scope,
/// no `workspace_id` means the first workspace.
async fn create_api_key(
    State(sandbox): State<Sandbox>,
    MaybeJson(request): MaybeJson,
) -> Result<Response, ApiError> {
    let Value::Object(mut request) = request else {
        return Err(ApiError::validation("The body must be a JSON object."));
    };
    let scopes = request.remove("scopes");
    let workspace_id = request.remove("workspace_id");
    if let Some(key) = request.keys().next() {
        return Err(ApiError::validation(format!(
            "Unknown field \"{key}\"; only \"scopes\" and \"workspace_id\" are accepted."
        )));
    }
    let workspace_id = match workspace_id {
        None | Some(Value::Null) => sandbox.workspace_id(),
        Some(value) => value
            .as_str()
            .and_then(|raw| Uuid::parse_str(raw).ok())
            .ok_or_else(|| ApiError::validation("workspace_id must be a UUID."))?,
    };
    let scopes = match scopes {
        None | Some(Value::Null) => ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) if is_known(&s) => Ok(s),
                other => Err(ApiError::validation(format!("Unknown scope {other}."))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(ApiError::validation(
                "scopes must be an array of scope names.",
            ))
        }
    };
    let token = sandbox
        .mint_api_key_in(workspace_id, Some(scopes))
        .ok_or_else(|| workspace_not_found(workspace_id))?;
    let mut response =
        Json(json!({ "token": token, "workspace_id": workspace_id })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_are_trusted() {
        let cases = [
            (Some("127.0.0.1:5000"), true),
            (Some("[::1]:5000"), true),
            (Some("[::ffff:127.0.0.1]:5000"), true),
            (Some("192.168.1.20:5000"), false),
            (Some("[2001:db8::1]:5000"), false),
            (None, false),
        ];
        for (peer, expected) in cases {
            let addr = peer.map(|p| p.parse::<SocketAddr>().expect("test address"));
            assert_eq!(is_loopback(addr), expected, "{peer:?}");
        }
    }
}
