//! `/v2/objects/{object}/records`: create, get, update (PATCH appends to multiselect values, PUT
//! replaces them) and delete people and company records.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{pairs, path_pair, single, ApiJson, Authorized, ScopeSet};
use super::record_values::{record_changes, record_json};
use crate::store::{AttributeParent, ObjectKind, Record, WorkspaceStore};
use crate::timestamp::now;
use crate::Sandbox;

pub(super) struct ReadRecords;
impl ScopeSet for ReadRecords {
    const REQUIRED: &'static [&'static str] =
        &["record_permission:read", "object_configuration:read"];
}

pub(super) struct WriteRecords;
impl ScopeSet for WriteRecords {
    const REQUIRED: &'static [&'static str] =
        &["record_permission:read-write", "object_configuration:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/objects/{object}/records", post(create).put(assert))
        .route(
            "/v2/objects/{object}/records/{record_id}",
            get(show).patch(patch).put(replace).delete(remove),
        )
}

/// The object named by slug or ID.
pub(super) fn object(store: &WorkspaceStore, slug_or_id: &str) -> Result<ObjectKind, ApiError> {
    store.object(slug_or_id).map(|o| o.kind).ok_or_else(|| {
        ApiError::not_found(format!("Object with slug/ID \"{slug_or_id}\" not found."))
    })
}

/// A record a request body refers to; a missing one is 400 `value_not_found`.
pub(super) fn referenced_record(
    store: &WorkspaceStore,
    kind: ObjectKind,
    id: Uuid,
) -> Result<&Record, ApiError> {
    store.record(kind, id).ok_or_else(|| {
        ApiError::value_not_found(format!(
            "Record with ID \"{id}\" not found in object \"{}\".",
            store.object_slug(kind)
        ))
    })
}

fn record_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Record with ID \"{id}\" not found."))
}

/// The object and the ID of an existing record in it.
pub(super) fn find(
    store: &WorkspaceStore,
    object_key: &str,
    record_key: &str,
) -> Result<(ObjectKind, Uuid), ApiError> {
    let object = object(store, object_key)?;
    Uuid::parse_str(record_key)
        .ok()
        .filter(|id| store.record(object, *id).is_some())
        .map(|id| (object, id))
        .ok_or_else(|| record_not_found(record_key))
}

/// `{"data": {"values": {...}}}`.
fn values(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&["values"])?;
    data.require(&["values"])?;
    Ok(data.object_field("values")?.unwrap_or_default())
}

async fn create(
    auth: Authorized<WriteRecords>,
    State(sandbox): State<Sandbox>,
    Path(object_key): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let values = values(body)?;
    let mut store = auth.store(&sandbox);
    let object = object(&store, &object_key)?;
    let changes = record_changes(&store, object, values, None, false)?;
    let record = store
        .create_record(object, changes, auth.actor(), now())
        .map_err(conflict)?;
    Ok(Json(json!({ "data": record_json(&store, &record) })))
}

/// `PUT /v2/objects/{object}/records?matching_attribute=…`: the record whose unique
/// `matching_attribute` has the given value is updated (multiselect values overwritten), or a
/// new record is created when none has it.
async fn assert(
    auth: Authorized<WriteRecords>,
    State(sandbox): State<Sandbox>,
    Path(object_key): Path<String>,
    RawQuery(query): RawQuery,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let matching = single(&params, "matching_attribute")
        .map_err(ApiError::validation)?
        .ok_or_else(|| ApiError::validation("The query parameter matching_attribute is required."))?
        .to_owned();
    let values = values(body)?;
    let mut store = auth.store(&sandbox);
    let object = object(&store, &object_key)?;
    let attribute = store
        .attribute(AttributeParent::Object(object), &matching)
        .ok_or_else(|| {
            ApiError::value_not_found(format!(
                "Cannot find attribute with slug/ID \"{matching}\"."
            ))
        })?
        .clone();
    if !attribute.is_unique {
        return Err(ApiError::validation(format!(
            "The matching attribute \"{}\" is not unique.",
            attribute.api_slug
        )));
    }
    let named = |key: &String| *key == attribute.api_slug || *key == attribute.id.to_string();
    if !values.keys().any(named) {
        return Err(ApiError::validation(format!(
            "The values must include the matching attribute \"{}\".",
            attribute.api_slug
        )));
    }
    let changes = record_changes(&store, object, values, None, false)?;
    let existing = match &changes.uniques {
        Some(uniques) if attribute.is_system => uniques
            .iter()
            .find_map(|u| store.record_by_unique_value(object, u))
            .map(|r| r.id),
        _ => changes
            .values
            .iter()
            .find(|(id, _)| *id == attribute.id)
            .and_then(|(_, value)| value.as_ref())
            .and_then(|value| {
                store
                    .records
                    .iter()
                    .find(|r| r.object == object && r.values.get(&attribute.id) == Some(value))
            })
            .map(|r| r.id),
    };
    let record = match existing {
        Some(id) => store
            .update_record(object, id, changes, auth.actor())
            .map_err(conflict)?
            .ok_or_else(|| record_not_found(&id.to_string()))?,
        None => store
            .create_record(object, changes, auth.actor(), now())
            .map_err(conflict)?,
    };
    Ok(Json(json!({ "data": record_json(&store, &record) })))
}

async fn show(
    auth: Authorized<ReadRecords>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let (object_key, record_key) = path_pair(path);
    let store = auth.store(&sandbox);
    let (object, id) = find(&store, &object_key, &record_key)?;
    let record = store
        .record(object, id)
        .ok_or_else(|| record_not_found(&record_key))?;
    Ok(Json(json!({ "data": record_json(&store, record) })))
}

async fn patch(
    auth: Authorized<WriteRecords>,
    state: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    update(auth, state, path, body, true)
}

async fn replace(
    auth: Authorized<WriteRecords>,
    state: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    update(auth, state, path, body, false)
}

fn update(
    auth: Authorized<WriteRecords>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Value,
    append: bool,
) -> Result<Json<Value>, ApiError> {
    let (object_key, record_key) = path_pair(path);
    let values = values(body)?;
    let mut store = auth.store(&sandbox);
    let (object, id) = find(&store, &object_key, &record_key)?;
    // The document lists one 400 for updates, `missing_value` (a required value cleared):
    // other refusals of the values are the generic `validation_type`.
    let changes = record_changes(&store, object, values, store.record(object, id), append)
        .map_err(ApiError::into_validation)?;
    if let Some(required) = changes
        .values
        .iter()
        .filter(|(_, value)| value.is_none())
        .find_map(|(attribute, _)| {
            store
                .attributes
                .iter()
                .find(|a| a.id == *attribute && a.is_required)
        })
    {
        return Err(ApiError::missing_value(format!(
            "Required value for attribute with ID \"{}\" was not provided.",
            required.id
        )));
    }
    let record = store
        .update_record(object, id, changes, auth.actor())
        .map_err(conflict)?
        .ok_or_else(|| record_not_found(&record_key))?;
    Ok(Json(json!({ "data": record_json(&store, &record) })))
}

async fn remove(
    auth: Authorized<WriteRecords>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let (object_key, record_key) = path_pair(path);
    let mut store = auth.store(&sandbox);
    let (object, id) = find(&store, &object_key, &record_key)?;
    store.delete_record(object, id, auth.actor());
    Ok(Json(json!({})))
}

fn conflict(value: String) -> ApiError {
    ApiError::uniqueness_conflict(format!(
        "Another record already has the unique value \"{value}\"."
    ))
}
