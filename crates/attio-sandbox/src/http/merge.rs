//! `POST /v2/objects/{object}/records/merge` (newer than Attio's OpenAPI copy; the shape is from
//! Attio's "Merge two records" page and its newer generated client): the two records become a
//! new one, the primary's values winning, and two `record.merged` events fire.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::extract::{ApiJson, Authorized, ScopeSet};
use super::records::object;
use crate::store::ObjectKind;
use crate::timestamp::now;
use crate::Sandbox;

pub(super) struct MergeRecords;
impl ScopeSet for MergeRecords {
    const REQUIRED: &'static [&'static str] =
        &["record_permission:read-write", "object_configuration:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/v2/objects/{object}/records/merge", post(merge))
}

/// `{"data": {"primary_record_id", "secondary_record_id"}}` → 200 `{"data": {"new_record_id"}}`.
/// A record merged with itself is 400 `self_merge`; an unknown object 404 `not_found`; a record
/// that does not exist in the object (or was merged already) 404 `value_not_found`.
async fn merge(
    auth: Authorized<MergeRecords>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    let keys = ["primary_record_id", "secondary_record_id"];
    data.only(&keys)?;
    data.require(&keys)?;
    let required = |id: Option<uuid::Uuid>, key: &str| {
        id.ok_or_else(|| ApiError::validation(format!("data.{key} is required.")))
    };
    let primary = required(data.uuid("primary_record_id")?, "primary_record_id")?;
    let secondary = required(data.uuid("secondary_record_id")?, "secondary_record_id")?;
    if primary == secondary {
        return Err(ApiError::self_merge(
            "A record cannot be merged with itself.",
        ));
    }
    let object_key = path.map(|Path(key)| key).unwrap_or_default();
    let mut store = auth.store(&sandbox);
    let kind: ObjectKind = object(&store, &object_key)?;
    for id in [primary, secondary] {
        if store.record(kind, id).is_none() {
            return Err(ApiError::value_not_found_404(format!(
                "Record with ID \"{id}\" not found in object \"{}\".",
                store.object_slug(kind)
            )));
        }
    }
    let merged = store
        .merge_records(kind, primary, secondary, auth.actor(), now())
        .ok_or_else(|| ApiError::not_found("Both records must exist in the object."))?;
    Ok(Json(json!({ "data": { "new_record_id": merged.id } })))
}
