//! Loopback-only workspace controls: `GET /_sandbox/workspaces` lists them, `POST` creates one;
//! and [`chosen_workspace`], how every other control picks the workspace it acts on.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{pairs, single, MaybeJson};
use super::members::member_json;
use crate::shared::WorkspaceGuard;
use crate::store::{AccessLevel, WorkspaceStore};
use crate::workspaces::{create, NewMember, NewWorkspace};
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/_sandbox/workspaces", get(list).post(add))
}

/// The workspace a control acts on: `workspace_id` in the query string or in the JSON body (the
/// same one if both), the first workspace when neither names one. An unknown id is a 404.
pub(super) fn chosen_workspace<'a>(
    sandbox: &'a Sandbox,
    query: Option<&str>,
    body: Option<&mut Fields>,
) -> Result<WorkspaceGuard<'a>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let from_query = single(&params, "workspace_id")
        .map_err(ApiError::validation)?
        .map(|raw| {
            Uuid::parse_str(raw).map_err(|_| {
                ApiError::validation(format!("workspace_id must be a UUID, got \"{raw}\"."))
            })
        })
        .transpose()?;
    let from_body = match body {
        Some(fields) => fields.uuid("workspace_id")?,
        None => None,
    };
    let id = match (from_query, from_body) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::validation(
                "The query and the body name different workspace_id values.",
            ))
        }
        (Some(id), _) | (None, Some(id)) => Some(id),
        (None, None) => None,
    };
    let store = sandbox.store();
    let key = match id {
        None => store.first_key(),
        Some(id) => store.key(id).ok_or_else(|| workspace_not_found(id))?,
    };
    Ok(store.into_workspace(key))
}

pub(super) fn workspace_not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!("Workspace with ID \"{id}\" not found."))
}

/// A workspace with its members, as the workspace controls answer it.
fn workspace_json(store: &WorkspaceStore) -> Value {
    let id = store.workspace.id;
    json!({
        "id": { "workspace_id": id },
        "name": store.workspace.name,
        "slug": store.workspace.slug,
        "members": store.members.iter().map(|m| member_json(id, m)).collect::<Vec<_>>(),
    })
}

/// Every workspace in creation order (the first is every control's default).
async fn list(State(sandbox): State<Sandbox>) -> Json<Value> {
    let store = sandbox.store();
    let data: Vec<Value> = store.workspaces().iter().map(workspace_json).collect();
    Json(json!({ "data": data }))
}

/// `{name, slug, members: [{first_name, last_name, email_address, access_level?}], seed?}`.
/// A member's `access_level` defaults to `admin` for the first and `member` for the others.
async fn add(
    State(sandbox): State<Sandbox>,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&["name", "slug", "members", "seed"])?;
    let name = fields.text("name")?;
    let slug = fields.text("slug")?;
    let seed = fields.bool("seed")?.unwrap_or(false);
    let members = match fields.take("members") {
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| member(i, item))
            .collect::<Result<Vec<_>, _>>()?,
        None => return Err(ApiError::validation("body.members is required.")),
        Some(_) => {
            return Err(ApiError::validation(
                "body.members must be an array of members.",
            ))
        }
    };
    let new = NewWorkspace {
        name,
        slug,
        members,
        seed,
    };
    let mut store = sandbox.store();
    let key = create(&mut store, new).map_err(ApiError::validation)?;
    Ok(Json(json!({ "data": workspace_json(store.at(key)) })))
}

fn member(i: usize, item: Value) -> Result<NewMember, ApiError> {
    let at = format!("body.members[{i}]");
    let Value::Object(mut object) = item else {
        return Err(ApiError::validation(format!(
            "{at} must be an object {{first_name, last_name, email_address, access_level?}}."
        )));
    };
    let allowed = ["first_name", "last_name", "email_address", "access_level"];
    if let Some(key) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::validation(format!(
            "Unknown field \"{at}.{key}\"; the accepted fields are {}.",
            allowed.join(", ")
        )));
    }
    let mut text = |key: &str| -> Result<String, ApiError> { string(&mut object, &at, key) };
    let (first_name, last_name, email) = (
        text("first_name")?,
        text("last_name")?,
        text("email_address")?,
    );
    let access_level = match object.remove("access_level") {
        None | Some(Value::Null) if i == 0 => AccessLevel::Admin,
        None | Some(Value::Null) => AccessLevel::Member,
        Some(value) => value.as_str().and_then(AccessLevel::parse).ok_or_else(|| {
            ApiError::validation(format!(
                "{at}.access_level must be admin, member or suspended."
            ))
        })?,
    };
    Ok(NewMember {
        first_name,
        last_name,
        email,
        access_level,
    })
}

fn string(object: &mut Map<String, Value>, at: &str, key: &str) -> Result<String, ApiError> {
    match object.remove(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(ApiError::validation(format!(
            "{at}.{key} is required and must be a string."
        ))),
    }
}
