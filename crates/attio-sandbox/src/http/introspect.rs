//! `GET /v2/self`: token introspection, answered at the top level (not wrapped in `data`), naming
//! the token's own workspace.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::bearer_token;
use crate::store::TokenKind;
use crate::Sandbox;

/// The `client_id` and `aud` reported for API keys, which belong to no OAuth app.
const API_KEY_CLIENT_ID: &str = "sandbox-api-key";

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/v2/self", get(identify))
}

/// Unknown and revoked tokens are `{"active": false}` with 200; only a request that carries no
/// readable token at all is a 401.
async fn identify(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = bearer_token(&headers)?;
    let store = sandbox.store();
    let Some(active) = store.active_token(&token) else {
        return Ok(Json(json!({ "active": false })));
    };
    let client_id = match &active.kind {
        TokenKind::OAuth { client_id } => client_id.as_str(),
        TokenKind::ApiKey => API_KEY_CLIENT_ID,
    };
    // Every token records its workspace, and workspaces are never removed.
    let Some(workspace) = store.workspace(active.workspace_id).map(|w| &w.workspace) else {
        return Ok(Json(json!({ "active": false })));
    };
    Ok(Json(json!({
        "active": true,
        "scope": active.scopes.join(" "),
        "client_id": client_id,
        "token_type": "Bearer",
        "exp": null,
        "iat": active.iat,
        "sub": workspace.id,
        "aud": client_id,
        "iss": "attio.com",
        "authorized_by_workspace_member_id": active.member_id,
        "workspace_id": workspace.id,
        "workspace_name": workspace.name,
        "workspace_slug": workspace.slug,
        "workspace_logo_url": null,
        // Newer than the OpenAPI document the sandbox follows ("workspace" or "user"). Every
        // sandbox token, API key or OAuth grant, acts for the whole workspace.
        "token_level": "workspace",
    })))
}
