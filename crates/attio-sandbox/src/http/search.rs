//! `POST /v2/objects/records/search`: records of the named objects whose names, domains, email
//! addresses or phone numbers match a query string, best first (the tiers of
//! `crate::query::search`), then in the order of `objects`, then oldest first.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::body::Fields;
use super::error::ApiError;
use super::extract::{ApiJson, Authorized};
use super::query::record_values;
use super::records::ReadRecords;
use crate::query::search::SearchFields;
use crate::store::{ObjectKind, WorkspaceStore};
use crate::Sandbox;

/// The document's bounds: `query` at most 256 characters, `limit` 1 to 25 (default 25).
const MAX_QUERY: usize = 256;
const MAX_LIMIT: u64 = 25;

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/v2/objects/records/search", post(search))
}

struct Search {
    query: String,
    limit: usize,
    objects: Vec<String>,
    request_as: Map<String, Value>,
}

impl Search {
    fn read(body: Value) -> Result<Search, ApiError> {
        let mut fields = Fields::object(body)?;
        fields.only(&["query", "limit", "objects", "request_as"])?;
        fields.require(&["query", "objects", "request_as"])?;
        let query = fields
            .string("query")?
            .filter(|q| q.chars().count() <= MAX_QUERY)
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "body.query must be a string of at most {MAX_QUERY} characters."
                ))
            })?;
        let limit = match fields.take("limit") {
            None => MAX_LIMIT,
            Some(value) => value
                .as_u64()
                .or_else(|| {
                    value
                        .as_f64()
                        .filter(|n| n.fract() == 0.0 && (1.0..=MAX_LIMIT as f64).contains(n))
                        .map(|n| n as u64)
                })
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "body.limit must be a whole number from 1 to {MAX_LIMIT}."
                    ))
                })?,
        };
        let objects = match fields.take("objects") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    _ => Err(()),
                })
                .collect::<Result<Vec<_>, _>>()
                .ok(),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::validation("body.objects must be a non-empty array of object slugs or IDs.")
        })?;
        let request_as = fields.object_field("request_as")?.unwrap_or_default();
        Ok(Search {
            query,
            limit: limit as usize,
            objects,
            request_as,
        })
    }
}

/// Checks `request_as`: `{"type": "workspace"}`, or a workspace member by id or email address.
/// Every member sees every record in the sandbox, so the answer does not depend on it.
fn check_request_as(
    store: &WorkspaceStore,
    request_as: Map<String, Value>,
) -> Result<(), ApiError> {
    let mut fields = Fields::object(Value::Object(request_as))?;
    let invalid = || {
        ApiError::validation(
            "body.request_as must be {\"type\": \"workspace\"} or {\"type\": \"workspace-member\"} with workspace_member_id or email_address.",
        )
    };
    match fields.string("type")?.as_deref() {
        Some("workspace") => fields.only(&["type"]).map_err(|_| invalid()),
        Some("workspace-member") => {
            fields.only(&["type", "workspace_member_id", "email_address"])?;
            match (
                fields.uuid("workspace_member_id")?,
                fields.string("email_address")?,
            ) {
                (Some(id), None) => store.member(id).map(|_| ()).ok_or_else(|| {
                    ApiError::value_not_found(format!(
                        "Workspace member with ID \"{id}\" not found."
                    ))
                }),
                (None, Some(email)) => store.member_by_email(&email).map(|_| ()).ok_or_else(|| {
                    ApiError::value_not_found(format!(
                        "Workspace member with email address \"{email}\" not found."
                    ))
                }),
                _ => Err(invalid()),
            }
        }
        _ => Err(invalid()),
    }
}

/// A body that does not fit the document's request schema is a 400 `validation_type`, as
/// everywhere; an unknown object or member is the documented 400 `value_not_found`.
async fn search(
    auth: Authorized<ReadRecords>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let search = Search::read(body)?;
    let store = auth.store(&sandbox);
    let data = run(&store, search)?;
    Ok(Json(json!({ "data": data })))
}

fn run(store: &WorkspaceStore, search: Search) -> Result<Vec<Value>, ApiError> {
    let mut kinds: Vec<ObjectKind> = Vec::new();
    for key in &search.objects {
        let kind = store.object(key).map(|o| o.kind).ok_or_else(|| {
            ApiError::value_not_found(format!("Object with slug/ID \"{key}\" not found."))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    check_request_as(store, search.request_as)?;
    let mut hits: Vec<(u8, usize, usize, Value)> = Vec::new();
    for (object_rank, kind) in kinds.iter().enumerate() {
        let records = store.records.iter().filter(|r| r.object == *kind);
        for (position, record) in records.enumerate() {
            let (rendered, values) = record_values(store, record);
            let fields = SearchFields::of(&values);
            if let Some(tier) = fields.rank(&search.query) {
                let hit = hit_json(store, *kind, rendered["id"].clone(), &fields);
                hits.push((tier, object_rank, position, hit));
            }
        }
    }
    hits.sort_by_key(|(tier, object_rank, position, _)| (*tier, *object_rank, *position));
    Ok(hits
        .into_iter()
        .take(search.limit)
        .map(|(_, _, _, hit)| hit)
        .collect())
}

/// One result, in the document's shape for people or companies (no record images).
fn hit_json(store: &WorkspaceStore, kind: ObjectKind, id: Value, fields: &SearchFields) -> Value {
    let mut hit = json!({
        "id": id,
        "record_text": fields.record_text(),
        "record_image": null,
        "object_slug": store.object_slug(kind),
    });
    if let Some(map) = hit.as_object_mut() {
        match kind {
            ObjectKind::People => {
                map.insert("email_addresses".to_owned(), json!(fields.emails));
                map.insert("phone_numbers".to_owned(), json!(fields.phones));
            }
            ObjectKind::Companies => {
                map.insert("domains".to_owned(), json!(fields.domains));
            }
            // The document's shape for records of any other object: the four common fields.
            ObjectKind::Custom(_) => {}
        }
    }
    hit
}
