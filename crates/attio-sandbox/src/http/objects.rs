//! `/v2/objects`: the workspace's objects, the standard people and companies and custom ones
//! created here. Attio fires no webhook event for object changes (its event list has none).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::extract::{ApiJson, Authorized, ReadObjectConfig, WriteObjectConfig};
use crate::store::{Object, ObjectKind, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/objects", get(list).post(create))
        .route("/v2/objects/{object}", get(show).patch(update))
}

/// A noun: a non-empty string.
fn noun(fields: &mut Fields, key: &str) -> Result<Option<String>, ApiError> {
    if !fields.has(key) {
        return Ok(None);
    }
    let noun = fields.text(key)?;
    if noun.trim().is_empty() {
        return Err(ApiError::validation(format!(
            "data.{key} must not be empty."
        )));
    }
    Ok(Some(noun.trim().to_owned()))
}

async fn create(
    auth: Authorized<WriteObjectConfig>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    let keys = ["api_slug", "singular_noun", "plural_noun"];
    data.only(&keys)?;
    data.require(&keys)?;
    let api_slug = data.slug("api_slug")?.unwrap_or_default();
    let singular = noun(&mut data, "singular_noun")?.unwrap_or_default();
    let plural = noun(&mut data, "plural_noun")?.unwrap_or_default();
    let mut store = auth.store(&sandbox);
    let id = store
        .create_object(api_slug, singular, plural, now())
        .map(|o| o.id)
        .map_err(|taken| {
            ApiError::slug_conflict(format!(
                "Failed to create object. Please ensure your api_slug and names are unique (\"{taken}\" is taken)."
            ))
        })?;
    Ok(Json(json!({ "data": object_json_of(&store, id) })))
}

async fn update(
    auth: Authorized<WriteObjectConfig>,
    State(sandbox): State<Sandbox>,
    Path(slug_or_id): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&["api_slug", "singular_noun", "plural_noun"])?;
    if !["api_slug", "singular_noun", "plural_noun"]
        .iter()
        .any(|k| data.has(k))
    {
        return Err(ApiError::validation(
            "You passed an empty payload. Please ensure you are updating at least one property in your request.",
        ));
    }
    let api_slug = data.slug("api_slug")?;
    let singular = noun(&mut data, "singular_noun")?;
    let plural = noun(&mut data, "plural_noun")?;
    let mut store = auth.store(&sandbox);
    let object = store.object(&slug_or_id).ok_or_else(|| {
        ApiError::not_found(format!("Object with slug/ID \"{slug_or_id}\" not found."))
    })?;
    let (id, kind, current_slug) = (object.id, object.kind, object.api_slug.clone());
    if !matches!(kind, ObjectKind::Custom(_))
        && api_slug.as_ref().is_some_and(|s| *s != current_slug)
    {
        return Err(ApiError::validation(format!(
            "The api_slug of the standard object \"{current_slug}\" cannot be changed."
        )));
    }
    store
        .update_object(id, api_slug, singular, plural)
        .map_err(|taken| {
            ApiError::slug_conflict(format!(
                "Failed to update object. Please ensure api_slug is unique (\"{taken}\" is taken)."
            ))
        })?
        .ok_or_else(|| {
            ApiError::not_found(format!("Object with slug/ID \"{slug_or_id}\" not found."))
        })?;
    Ok(Json(json!({ "data": object_json_of(&store, id) })))
}

fn object_json_of(store: &WorkspaceStore, id: uuid::Uuid) -> Value {
    store
        .objects
        .iter()
        .find(|o| o.id == id)
        .map_or(Value::Null, |o| object_json(store, o))
}

fn object_json(store: &WorkspaceStore, object: &Object) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "object_id": object.id },
        "api_slug": object.api_slug,
        "singular_noun": object.singular_noun,
        "plural_noun": object.plural_noun,
        "created_at": format(object.created_at),
    })
}

async fn list(auth: Authorized<ReadObjectConfig>, State(sandbox): State<Sandbox>) -> Json<Value> {
    let store = auth.store(&sandbox);
    let data: Vec<Value> = store
        .objects
        .iter()
        .map(|o| object_json(&store, o))
        .collect();
    Json(json!({ "data": data }))
}

async fn show(
    auth: Authorized<ReadObjectConfig>,
    State(sandbox): State<Sandbox>,
    Path(slug_or_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let object = store.object(&slug_or_id).ok_or_else(|| {
        ApiError::not_found(format!("Object with slug/ID \"{slug_or_id}\" not found."))
    })?;
    Ok(Json(json!({ "data": object_json(&store, object) })))
}
