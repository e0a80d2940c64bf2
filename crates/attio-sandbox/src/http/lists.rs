//! `/v2/lists`: list, create, get and update lists (Attio has no public endpoint to delete one;
//! `DELETE /_sandbox/lists/{list}` does).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{ApiJson, Authorized, ReadListConfig, WriteListConfig};
use super::records::object;
use crate::store::{List, ListPatch, NewList, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

const ACCESS_LEVELS: [&str; 3] = ["full-access", "read-and-write", "read-only"];

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/lists", get(list_all).post(create))
        .route("/v2/lists/{list}", get(show).patch(update))
}

pub(super) fn find<'a>(store: &'a WorkspaceStore, key: &str) -> Result<&'a List, ApiError> {
    store
        .list(key)
        .ok_or_else(|| ApiError::not_found(format!("List with slug/ID \"{key}\" not found.")))
}

async fn list_all(auth: Authorized<ReadListConfig>, State(sandbox): State<Sandbox>) -> Json<Value> {
    let store = auth.store(&sandbox);
    let data: Vec<Value> = store.lists.iter().map(|l| list_json(&store, l)).collect();
    Json(json!({ "data": data }))
}

async fn show(
    auth: Authorized<ReadListConfig>,
    State(sandbox): State<Sandbox>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let list = find(&store, &key)?;
    Ok(Json(json!({ "data": list_json(&store, list) })))
}

async fn create(
    auth: Authorized<WriteListConfig>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    let keys = [
        "name",
        "api_slug",
        "parent_object",
        "workspace_access",
        "workspace_member_access",
    ];
    data.only(&keys)?;
    data.require(&keys)?;
    let name = data.text("name")?;
    let api_slug = data.slug("api_slug")?.unwrap_or_default();
    let parent = data.text("parent_object")?;
    let workspace_access = access(data.nullable_string("workspace_access")?.flatten())?;
    let member_access = member_access(data.take("workspace_member_access"))?;
    let mut store = auth.store(&sandbox);
    members_exist(&store, &member_access)?;
    let new = NewList {
        name,
        api_slug,
        parent_object: object(&store, &parent)?,
        workspace_access,
        member_access,
    };
    let list = store.create_list(new, auth.actor(), now()).map_err(taken)?;
    Ok(Json(json!({ "data": list_json(&store, &list) })))
}

async fn update(
    auth: Authorized<WriteListConfig>,
    State(sandbox): State<Sandbox>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&[
        "name",
        "api_slug",
        "workspace_access",
        "workspace_member_access",
    ])?;
    let patch = ListPatch {
        name: if data.has("name") {
            Some(data.text("name")?)
        } else {
            None
        },
        api_slug: data.slug("api_slug")?,
        workspace_access: match data.nullable_string("workspace_access")? {
            None => None,
            Some(level) => Some(access(level)?),
        },
        member_access: match data.take("workspace_member_access") {
            None => None,
            value => Some(member_access(value)?),
        },
    };
    let mut store = auth.store(&sandbox);
    let id = find(&store, &key)?.id;
    if let Some(access) = &patch.member_access {
        members_exist(&store, access)?;
    }
    let list = store
        .update_list(id, patch, auth.actor())
        .map_err(taken)?
        .ok_or_else(|| ApiError::not_found(format!("List with slug/ID \"{key}\" not found.")))?;
    Ok(Json(json!({ "data": list_json(&store, &list) })))
}

fn taken(slug: String) -> ApiError {
    ApiError::slug_conflict(format!("A list with the slug \"{slug}\" already exists."))
}

fn access(level: Option<String>) -> Result<Option<String>, ApiError> {
    match level {
        Some(l) if !ACCESS_LEVELS.contains(&l.as_str()) => Err(ApiError::validation(format!(
            "workspace_access must be one of {} or null; got \"{l}\".",
            ACCESS_LEVELS.join(", ")
        ))),
        other => Ok(other),
    }
}

/// `[{workspace_member_id, level}]`, kept as given once checked.
fn member_access(value: Option<Value>) -> Result<Vec<Value>, ApiError> {
    let invalid = || {
        ApiError::validation(
            "data.workspace_member_access must be an array of {workspace_member_id, level}.",
        )
    };
    let Some(Value::Array(items)) = value else {
        return Err(invalid());
    };
    for item in &items {
        let level = item
            .get("level")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let member = item.get("workspace_member_id").and_then(Value::as_str);
        let shape_ok = item.as_object().is_some_and(|m| m.len() == 2);
        if !shape_ok || member.is_none() || !ACCESS_LEVELS.contains(&level) {
            return Err(invalid());
        }
    }
    Ok(items)
}

/// Every `workspace_member_id` of a member access list must be a member of the workspace: an
/// unknown one is 400 `value_not_found`, the code the document lists for both list writes.
fn members_exist(store: &WorkspaceStore, access: &[Value]) -> Result<(), ApiError> {
    for item in access {
        let id = item["workspace_member_id"].as_str().unwrap_or_default();
        let known = Uuid::parse_str(id)
            .ok()
            .is_some_and(|id| store.members.iter().any(|m| m.id == id));
        if !known {
            return Err(ApiError::value_not_found(format!(
                "Cannot find workspace member with ID \"{id}\"."
            )));
        }
    }
    Ok(())
}

/// The List object.
pub(super) fn list_json(store: &WorkspaceStore, list: &List) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "list_id": list.id },
        "api_slug": list.api_slug,
        "name": list.name,
        "parent_object": [store.object_slug(list.parent_object)],
        "workspace_access": list.workspace_access,
        "workspace_member_access": list.member_access,
        "created_by_actor": list.created_by.event_json(),
        "created_at": format(list.created_at),
    })
}
