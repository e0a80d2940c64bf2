//! `/v2/lists/{list}/entries`: add a record to a list, read, update (one `list-entry.updated`
//! per changed attribute) and remove entries.

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{path_pair, ApiJson, Authorized, ScopeSet};
use super::lists::find as find_list;
use super::record_values::{entry_values, entry_values_json};
use super::records::{object, referenced_record};
use crate::store::{Entry, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

pub(super) struct ReadEntries;
impl ScopeSet for ReadEntries {
    const REQUIRED: &'static [&'static str] = &["list_entry:read", "list_configuration:read"];
}

pub(super) struct WriteEntries;
impl ScopeSet for WriteEntries {
    const REQUIRED: &'static [&'static str] = &["list_entry:read-write", "list_configuration:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/lists/{list}/entries", post(create).put(assert))
        .route(
            "/v2/lists/{list}/entries/{entry_id}",
            get(show).patch(patch).put(replace).delete(remove),
        )
}

pub(super) fn entry_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("List entry with ID \"{id}\" not found."))
}

/// The list's id and an existing entry's id.
pub(super) fn find(
    store: &WorkspaceStore,
    (list_key, entry_key): &(String, String),
) -> Result<(Uuid, Uuid), ApiError> {
    let list_id = find_list(store, list_key)?.id;
    Uuid::parse_str(entry_key)
        .ok()
        .filter(|id| store.entry(list_id, *id).is_some())
        .map(|id| (list_id, id))
        .ok_or_else(|| entry_not_found(entry_key))
}

async fn create(
    auth: Authorized<WriteEntries>,
    State(sandbox): State<Sandbox>,
    Path(list_key): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    create_or_assert(auth, &sandbox, &list_key, body, false)
}

/// `PUT /v2/lists/{list}/entries`: updates the list's entry for the parent record (its values
/// overwritten), or creates one when there is none; two entries for the record are a 400
/// `multiple_match_results`.
async fn assert(
    auth: Authorized<WriteEntries>,
    State(sandbox): State<Sandbox>,
    Path(list_key): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    create_or_assert(auth, &sandbox, &list_key, body, true)
}

fn create_or_assert(
    auth: Authorized<WriteEntries>,
    sandbox: &Sandbox,
    list_key: &str,
    body: Value,
    assert: bool,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&["parent_record_id", "parent_object", "entry_values"])?;
    data.require(&["parent_record_id", "parent_object", "entry_values"])?;
    let record_id = data
        .uuid("parent_record_id")?
        .ok_or_else(|| ApiError::validation("data.parent_record_id is required."))?;
    let parent = data.text("parent_object")?;
    let values = data.object_field("entry_values")?.unwrap_or_default();
    let mut store = auth.store(sandbox);
    let list = find_list(&store, list_key)?.clone();
    let kind = object(&store, &parent)?;
    if kind != list.parent_object {
        return Err(ApiError::validation(format!(
            "The list \"{}\" holds {} records, not {}.",
            list.api_slug,
            store.object_slug(list.parent_object),
            store.object_slug(kind)
        )));
    }
    referenced_record(&store, kind, record_id)?;
    // An assert overwrites multiselect values of an entry it finds, as PUT does.
    let values = entry_values(&store, list.id, values, None, false)?;
    if assert {
        let existing: Vec<Uuid> = store
            .entries
            .iter()
            .filter(|e| e.list_id == list.id && e.object == kind && e.record_id == record_id)
            .map(|e| e.id)
            .collect();
        if existing.len() > 1 {
            return Err(ApiError::multiple_match_results(format!(
                "The record \"{record_id}\" has {} entries in the list \"{}\".",
                existing.len(),
                list.api_slug
            )));
        }
        if let Some(entry_id) = existing.first() {
            let entry = store
                .update_entry(list.id, *entry_id, values, auth.actor())
                .ok_or_else(|| entry_not_found(&entry_id.to_string()))?;
            return Ok(Json(json!({ "data": entry_json(&store, &entry) })));
        }
    }
    let values: BTreeMap<Uuid, Value> = values
        .into_iter()
        .filter_map(|(id, v)| v.map(|v| (id, v)))
        .collect();
    let entry = store.create_entry(list.id, kind, record_id, values, auth.actor(), now());
    Ok(Json(json!({ "data": entry_json(&store, &entry) })))
}

async fn show(
    auth: Authorized<ReadEntries>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let keys = path_pair(path);
    let store = auth.store(&sandbox);
    let (list_id, entry_id) = find(&store, &keys)?;
    let entry = store
        .entry(list_id, entry_id)
        .ok_or_else(|| entry_not_found(&keys.1))?;
    Ok(Json(json!({ "data": entry_json(&store, entry) })))
}

/// `PATCH`: multiselect values are added to the entry's.
async fn patch(
    auth: Authorized<WriteEntries>,
    state: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    update(auth, state, path, body, true)
}

/// `PUT`: multiselect values replace the entry's.
async fn replace(
    auth: Authorized<WriteEntries>,
    state: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    update(auth, state, path, body, false)
}

fn update(
    auth: Authorized<WriteEntries>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Value,
    append: bool,
) -> Result<Json<Value>, ApiError> {
    let keys = path_pair(path);
    let mut data = Fields::data(body)?;
    if data.has("parent_record_id") || data.has("parent_object") {
        return Err(ApiError::immutable_value(
            "The parent record for a list entry cannot be updated once created.",
        ));
    }
    data.only(&["entry_values"])?;
    data.require(&["entry_values"])?;
    let values = data.object_field("entry_values")?.unwrap_or_default();
    let mut store = auth.store(&sandbox);
    let (list_id, entry_id) = find(&store, &keys)?;
    // The document's one 400 for entry updates is `immutable_value`: other refusals of the
    // values are the generic `validation_type`.
    let values = entry_values(
        &store,
        list_id,
        values,
        store.entry(list_id, entry_id),
        append,
    )
    .map_err(ApiError::into_validation)?;
    let entry = store
        .update_entry(list_id, entry_id, values, auth.actor())
        .ok_or_else(|| entry_not_found(&keys.1))?;
    Ok(Json(json!({ "data": entry_json(&store, &entry) })))
}

async fn remove(
    auth: Authorized<WriteEntries>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let keys = path_pair(path);
    let mut store = auth.store(&sandbox);
    let (list_id, entry_id) = find(&store, &keys)?;
    store.delete_entry(list_id, entry_id, auth.actor());
    Ok(Json(json!({})))
}

/// The Entry object.
pub(super) fn entry_json(store: &WorkspaceStore, entry: &Entry) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "list_id": entry.list_id, "entry_id": entry.id },
        "parent_record_id": entry.record_id,
        "parent_object": store.object_slug(entry.object),
        "created_at": format(entry.created_at),
        "entry_values": entry_values_json(store, entry),
    })
}
