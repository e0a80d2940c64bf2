//! `/v2/workspace_members`: the workspace's members (never deleted, only suspended).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{path_uuid, Authorized, ScopeSet};
use crate::store::Member;
use crate::timestamp::format;
use crate::Sandbox;

pub(super) struct ReadMembers;
impl ScopeSet for ReadMembers {
    const REQUIRED: &'static [&'static str] = &["user_management:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/workspace_members", get(list))
        .route("/v2/workspace_members/{workspace_member_id}", get(show))
}

/// Not paged, and takes no parameters.
async fn list(auth: Authorized<ReadMembers>, State(sandbox): State<Sandbox>) -> Json<Value> {
    let store = auth.store(&sandbox);
    let data: Vec<Value> = store
        .members
        .iter()
        .map(|m| member_json(store.workspace.id, m))
        .collect();
    Json(json!({ "data": data }))
}

async fn show(
    auth: Authorized<ReadMembers>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let not_found =
        |id: &str| ApiError::not_found(format!("Workspace member with ID \"{id}\" not found."));
    let id = path_uuid(path).map_err(|raw| not_found(&raw))?;
    let store = auth.store(&sandbox);
    let member = store.member(id).ok_or_else(|| not_found(&id.to_string()))?;
    Ok(Json(
        json!({ "data": member_json(store.workspace.id, member) }),
    ))
}

pub(super) fn member_json(workspace_id: Uuid, member: &Member) -> Value {
    json!({
        "id": { "workspace_id": workspace_id, "workspace_member_id": member.id },
        "first_name": member.first_name,
        "last_name": member.last_name,
        "avatar_url": null,
        "email_address": member.email,
        "created_at": format(member.created_at),
        "access_level": member.access_level.as_str(),
    })
}
