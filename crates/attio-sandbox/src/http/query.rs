//! `POST /v2/objects/{object}/records/query` and `POST /v2/lists/{list}/entries/query`: records
//! and list entries with Attio's `filter` and `sorts` (see `crate::query`), then `offset` and
//! `limit`. Filters run over the values exactly as the API renders them, plus the names Attio lets
//! filters use beside attributes: `record_id` and `created_at` on records, `entry_id`,
//! `created_at` and `parent_record` on entries.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::Fields;
use super::entries::{entry_json, ReadEntries};
use super::error::ApiError;
use super::extract::{Authorized, MaybeJson};
use super::lists::find as find_list;
use super::record_values::record_json;
use super::records::{object, ReadRecords};
use crate::query::filter::Filter;
use crate::query::sort::Sorts;
use crate::query::{AttributeInfo, Kind, QueryError, Resolve, Schema, Subject, Values};
use crate::store::{AttributeParent, Entry, Record, WorkspaceStore};
use crate::timestamp::format;
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/objects/{object}/records/query", post(records))
        .route("/v2/lists/{list}/entries/query", post(entries))
}

/// The workspace's objects, lists and attributes, as the query language names them.
pub(super) struct StoreSchema<'a>(pub &'a WorkspaceStore);

impl Schema for StoreSchema<'_> {
    fn subject(&self, key: &str) -> Option<Subject> {
        if let Some(object) = self.0.object(key) {
            return Some(Subject::Object(object.api_slug.clone()));
        }
        self.0.list(key).map(|l| Subject::List(l.id.to_string()))
    }

    fn attribute(&self, subject: &Subject, key: &str) -> Option<AttributeInfo> {
        let (parent, pseudo): (AttributeParent, &[(&str, Kind)]) = match subject {
            Subject::Object(slug) => (
                AttributeParent::Object(self.0.object(slug)?.kind),
                &[("record_id", Kind::Id), ("created_at", Kind::Timestamp)],
            ),
            Subject::List(id) => (
                AttributeParent::List(Uuid::parse_str(id).ok()?),
                &[
                    ("entry_id", Kind::Id),
                    ("parent_record", Kind::RecordReference),
                    ("created_at", Kind::Timestamp),
                ],
            ),
        };
        if let Some(attribute) = self.0.attribute(parent, key) {
            return Some(AttributeInfo {
                slug: attribute.api_slug.clone(),
                kind: Kind::parse(&attribute.kind),
            });
        }
        pseudo
            .iter()
            .find(|(slug, _)| *slug == key)
            .map(|(slug, kind)| AttributeInfo {
                slug: (*slug).to_owned(),
                kind: *kind,
            })
    }
}

/// Adds a value the API does not render as an attribute, unless an attribute has that slug.
fn add_pseudo(values: &mut Values, slug: &str, value: Value) {
    values
        .entry(slug.to_owned())
        .or_insert_with(|| Value::Array(vec![value]));
}

/// A record's JSON and the values filters see.
pub(super) fn record_values(store: &WorkspaceStore, record: &Record) -> (Value, Values) {
    let rendered = record_json(store, record);
    let mut values = rendered["values"].as_object().cloned().unwrap_or_default();
    add_pseudo(&mut values, "record_id", json!({ "value": record.id }));
    add_pseudo(
        &mut values,
        "created_at",
        json!({ "value": format(record.created_at), "attribute_type": "timestamp" }),
    );
    (rendered, values)
}

fn entry_values(store: &WorkspaceStore, entry: &Entry) -> (Value, Values) {
    let rendered = entry_json(store, entry);
    let mut values = rendered["entry_values"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    add_pseudo(&mut values, "entry_id", json!({ "value": entry.id }));
    add_pseudo(
        &mut values,
        "parent_record",
        json!({ "target_object": store.object_slug(entry.object), "target_record_id": entry.record_id,
                "attribute_type": "record-reference" }),
    );
    add_pseudo(
        &mut values,
        "created_at",
        json!({ "value": format(entry.created_at), "attribute_type": "timestamp" }),
    );
    (rendered, values)
}

/// The values of a record a path reaches.
pub(super) fn resolve_in(store: &WorkspaceStore, object: &str, id: &str) -> Option<Values> {
    let kind = store.object(object)?.kind;
    let record = store.record(kind, Uuid::parse_str(id).ok()?)?;
    Some(record_values(store, record).1)
}

fn filter_error(error: QueryError) -> ApiError {
    ApiError::filter_error(error.0)
}

/// `limit` (default 500) and `offset` (default 0), which Attio's document types as numbers:
/// `3.0` is 3; a fraction or a negative is refused.
fn paging(fields: &mut Fields) -> Result<(usize, usize), ApiError> {
    let mut number = |key: &str, default: u64| match fields.take(key) {
        None => Ok(default),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n <= 1e15)
                    .map(|n| n as u64)
            })
            .ok_or_else(|| ApiError::validation(format!("{key} must be a non-negative integer."))),
    };
    let limit = number("limit", 500)?;
    let offset = number("offset", 0)?;
    Ok((limit as usize, offset as usize))
}

/// A query body: `filter` and `sorts` (both optional; `null` means none), `limit`, `offset`.
struct Query {
    filter: Option<Value>,
    sorts: Option<Value>,
    limit: usize,
    offset: usize,
}

impl Query {
    fn read(body: Value) -> Result<Query, ApiError> {
        let mut fields = Fields::object(body)?;
        fields.only(&["filter", "sorts", "limit", "offset"])?;
        let (limit, offset) = paging(&mut fields)?;
        let present = |v: Option<Value>| v.filter(|v| !v.is_null());
        Ok(Query {
            filter: present(fields.take("filter")),
            sorts: present(fields.take("sorts")),
            limit,
            offset,
        })
    }

    /// Filters, sorts and pages `items` (JSON answer, values), all parsed before any runs.
    fn run(
        self,
        schema: &StoreSchema,
        subject: &Subject,
        items: Vec<(Value, Values)>,
        resolve: Resolve,
    ) -> Result<Vec<Value>, ApiError> {
        let filter = self
            .filter
            .map(|f| Filter::parse(schema, subject, &f))
            .transpose()
            .map_err(filter_error)?;
        let sorts = self
            .sorts
            .map(|s| Sorts::parse(schema, subject, &s))
            .transpose()
            .map_err(filter_error)?
            .unwrap_or_default();
        let kept: Vec<(Value, Values)> = items
            .into_iter()
            .filter(|(_, values)| filter.as_ref().is_none_or(|f| f.matches(values, resolve)))
            .collect();
        Ok(sorts
            .order(kept, |(_, values)| values, resolve)
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|(rendered, _)| rendered)
            .collect())
    }
}

/// Records of the object, oldest first unless sorted.
async fn records(
    auth: Authorized<ReadRecords>,
    State(sandbox): State<Sandbox>,
    Path(object_key): Path<String>,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let query = Query::read(body)?;
    let store = auth.store(&sandbox);
    let store: &WorkspaceStore = &store;
    let kind = object(store, &object_key)?;
    let items = store
        .records
        .iter()
        .filter(|r| r.object == kind)
        .map(|r| record_values(store, r))
        .collect();
    let subject = Subject::Object(store.object_slug(kind).to_owned());
    let resolve = |object: &str, id: &str| resolve_in(store, object, id);
    let data = query.run(&StoreSchema(store), &subject, items, &resolve)?;
    Ok(Json(json!({ "data": data })))
}

/// Entries of the list, oldest first unless sorted.
async fn entries(
    auth: Authorized<ReadEntries>,
    State(sandbox): State<Sandbox>,
    Path(list_key): Path<String>,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let query = Query::read(body)?;
    let store = auth.store(&sandbox);
    let store: &WorkspaceStore = &store;
    let list_id = find_list(store, &list_key)?.id;
    let items = store
        .entries
        .iter()
        .filter(|e| e.list_id == list_id)
        .map(|e| entry_values(store, e))
        .collect();
    let subject = Subject::List(list_id.to_string());
    let resolve = |object: &str, id: &str| resolve_in(store, object, id);
    let data = query.run(&StoreSchema(store), &subject, items, &resolve)?;
    Ok(Json(json!({ "data": data })))
}
