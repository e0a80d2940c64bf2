//! An attribute's values on one record or entry, with their history
//! (`.../attributes/{attribute}/values?show_historic=true`), and the entries a record is the
//! parent of (`/v2/objects/{object}/records/{record_id}/entries`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::entries::find as find_entry;
use super::error::ApiError;
use super::extract::{pairs, single, Authorized, ScopeSet};
use super::record_values::{attribute_values, system_ids};
use super::records::find as find_record;
use crate::store::{AttributeParent, WorkspaceStore};
use crate::timestamp::format;
use crate::Sandbox;

pub(super) struct ReadRecordValues;
impl ScopeSet for ReadRecordValues {
    const REQUIRED: &'static [&'static str] =
        &["record_permission:read", "object_configuration:read"];
}

pub(super) struct ReadEntryValues;
impl ScopeSet for ReadEntryValues {
    const REQUIRED: &'static [&'static str] = &["list_entry:read", "list_configuration:read"];
}

pub(super) struct ReadRecordEntries;
impl ScopeSet for ReadRecordEntries {
    const REQUIRED: &'static [&'static str] = &[
        "record_permission:read",
        "object_configuration:read",
        "list_entry:read",
    ];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v2/objects/{object}/records/{record_id}/attributes/{attribute}/values",
            get(record_values),
        )
        .route(
            "/v2/lists/{list}/entries/{entry_id}/attributes/{attribute}/values",
            get(entry_values),
        )
        .route(
            "/v2/objects/{object}/records/{record_id}/entries",
            get(record_entries),
        )
}

/// `show_historic`, `limit` and `offset` of a values request.
struct Paging {
    show_historic: bool,
    limit: Option<usize>,
    offset: usize,
}

impl Paging {
    fn parse(
        query: Option<String>,
        default_limit: Option<usize>,
        max: usize,
    ) -> Result<Paging, ApiError> {
        let params = pairs(query.unwrap_or_default().as_bytes());
        let param = |name| single(&params, name).map_err(ApiError::validation);
        let show_historic = match param("show_historic")? {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::validation(format!(
                    "show_historic must be true or false; got \"{other}\"."
                )))
            }
        };
        let number = |name, min: usize| -> Result<Option<usize>, ApiError> {
            param(name)?
                .map(|v| {
                    v.parse::<usize>()
                        .ok()
                        .filter(|n| *n >= min && *n <= max)
                        .ok_or_else(|| {
                            ApiError::validation(format!(
                                "{name} must be an integer from {min} to {max}; got \"{v}\"."
                            ))
                        })
                })
                .transpose()
        };
        Ok(Paging {
            show_historic,
            limit: number("limit", 1)?.or(default_limit),
            offset: number("offset", 0)?.unwrap_or(0),
        })
    }

    fn page<T>(&self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .collect()
    }
}

fn attribute_not_found(key: &str) -> ApiError {
    ApiError::not_found(format!("Attribute with slug/ID \"{key}\" not found."))
}

async fn record_values(
    auth: Authorized<ReadRecordValues>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (object_key, record_key, attribute_key) = path.map(|Path(keys)| keys).unwrap_or_default();
    let paging = Paging::parse(query, None, usize::MAX)?;
    let store = auth.store(&sandbox);
    let (object, record_id) = find_record(&store, &object_key, &record_key)?;
    let record = store
        .record(object, record_id)
        .ok_or_else(|| ApiError::not_found("Record not found."))?;
    let attribute = store
        .attribute(AttributeParent::Object(object), &attribute_key)
        .ok_or_else(|| attribute_not_found(&attribute_key))?;
    let (name_id, unique_id) = system_ids(&store, object);
    let current = record.raw(attribute.id, name_id, unique_id);
    let values = attribute_values(
        &store,
        attribute,
        current,
        &record.history,
        paging.show_historic,
    );
    Ok(Json(json!({ "data": paging.page(values) })))
}

async fn entry_values(
    auth: Authorized<ReadEntryValues>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (list_key, entry_key, attribute_key) = path.map(|Path(keys)| keys).unwrap_or_default();
    let paging = Paging::parse(query, None, usize::MAX)?;
    let store = auth.store(&sandbox);
    let (list_id, entry_id) = find_entry(&store, &(list_key, entry_key))?;
    let entry = store
        .entry(list_id, entry_id)
        .ok_or_else(|| ApiError::not_found("List entry not found."))?;
    let attribute = store
        .attribute(AttributeParent::List(list_id), &attribute_key)
        .ok_or_else(|| attribute_not_found(&attribute_key))?;
    let current = entry.values.get(&attribute.id).cloned();
    let values = attribute_values(
        &store,
        attribute,
        current,
        &entry.history,
        paging.show_historic,
    );
    Ok(Json(json!({ "data": paging.page(values) })))
}

/// Attio's default and largest page of a record's entries.
const ENTRIES_DEFAULT_LIMIT: usize = 100;
const ENTRIES_MAX_LIMIT: usize = 1000;

async fn record_entries(
    auth: Authorized<ReadRecordEntries>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (object_key, record_key) = path.map(|Path(keys)| keys).unwrap_or_default();
    let paging = Paging::parse(query, Some(ENTRIES_DEFAULT_LIMIT), ENTRIES_MAX_LIMIT)?;
    let store = auth.store(&sandbox);
    let (object, record_id) = find_record(&store, &object_key, &record_key)?;
    Ok(Json(
        json!({ "data": paging.page(entries_of(&store, object, record_id)) }),
    ))
}

fn entries_of(
    store: &WorkspaceStore,
    object: crate::store::ObjectKind,
    record_id: uuid::Uuid,
) -> Vec<Value> {
    store
        .entries
        .iter()
        .filter(|e| e.object == object && e.record_id == record_id)
        .filter_map(|e| {
            let list = store.lists.iter().find(|l| l.id == e.list_id)?;
            Some(json!({
                "list_id": list.id,
                "list_api_slug": list.api_slug,
                "entry_id": e.id,
                "created_at": format(e.created_at),
            }))
        })
        .collect()
}
