//! `GET /v2/objects` and `GET /v2/objects/{object}`: the workspace's objects (the standard
//! people and companies; the sandbox has no custom objects yet).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Authorized, ScopeSet};
use crate::store::{Object, ObjectKind, WorkspaceStore};
use crate::timestamp::format;
use crate::Sandbox;

pub(super) struct ReadObjects;
impl ScopeSet for ReadObjects {
    const REQUIRED: &'static [&'static str] = &["object_configuration:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/objects", get(list))
        .route("/v2/objects/{object}", get(show))
}

fn object_json(store: &WorkspaceStore, object: &Object) -> Value {
    let (singular, plural) = match object.kind {
        ObjectKind::People => ("Person", "People"),
        ObjectKind::Companies => ("Company", "Companies"),
    };
    json!({
        "id": { "workspace_id": store.workspace.id, "object_id": object.id },
        "api_slug": object.kind.slug(),
        "singular_noun": singular,
        "plural_noun": plural,
        "created_at": format(object.created_at),
    })
}

async fn list(auth: Authorized<ReadObjects>, State(sandbox): State<Sandbox>) -> Json<Value> {
    let store = auth.store(&sandbox);
    let data: Vec<Value> = store
        .objects
        .iter()
        .map(|o| object_json(&store, o))
        .collect();
    Json(json!({ "data": data }))
}

async fn show(
    auth: Authorized<ReadObjects>,
    State(sandbox): State<Sandbox>,
    Path(slug_or_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let object = store.object(&slug_or_id).ok_or_else(|| {
        ApiError::not_found(format!("Object with slug/ID \"{slug_or_id}\" not found."))
    })?;
    Ok(Json(json!({ "data": object_json(&store, object) })))
}
