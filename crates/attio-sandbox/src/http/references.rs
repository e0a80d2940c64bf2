//! Record-reference values, which query paths drill through: written as
//! `{"target_object", "target_record_id"}` or, as Attio allows for the standard objects, as an
//! email address (a person) or a domain (a company); kept as that pair and rendered as Attio's
//! value object. The target must exist, or the write is a 400 `value_not_found`.

use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use crate::store::{Attribute, ObjectKind, WorkspaceStore};

pub(super) const KIND: &str = "record-reference";

/// The stored pair for one written reference; `null` or `[]` clears the value.
pub(super) fn write(
    store: &WorkspaceStore,
    attribute: &Attribute,
    value: Value,
) -> Result<Option<Value>, ApiError> {
    let value = match value {
        Value::Array(mut items) if items.len() <= 1 => items.pop().unwrap_or(Value::Null),
        other => other,
    };
    let slug = &attribute.api_slug;
    let record = match &value {
        Value::Null => return Ok(None),
        Value::String(text) => {
            let (kind, what) = if text.contains('@') {
                (ObjectKind::People, "person with the email address")
            } else {
                (ObjectKind::Companies, "company with the domain")
            };
            store
                .record_by_unique_value(kind, text.trim())
                .ok_or_else(|| ApiError::value_not_found(format!("No {what} \"{text}\" exists.")))?
        }
        Value::Object(map) => {
            let object = map.get("target_object").and_then(Value::as_str);
            let id = map.get("target_record_id").and_then(Value::as_str);
            let (Some(object), Some(id)) = (object, id) else {
                return Err(ApiError::validation(format!(
                    "{slug} takes {{\"target_object\": \"…\", \"target_record_id\": \"…\"}}, an email address or a domain; got {value}."
                )));
            };
            let kind = store.object(object).map(|o| o.kind).ok_or_else(|| {
                ApiError::value_not_found(format!("Object with slug/ID \"{object}\" not found."))
            })?;
            Uuid::parse_str(id)
                .ok()
                .and_then(|id| store.record(kind, id))
                .ok_or_else(|| {
                    ApiError::value_not_found(format!(
                        "Record with ID \"{id}\" not found in object \"{}\".",
                        kind.slug()
                    ))
                })?
        }
        _ => {
            return Err(ApiError::validation(format!(
                "{slug} holds one record reference in the sandbox; got {value}."
            )))
        }
    };
    Ok(Some(json!({
        "target_object": record.object.slug(),
        "target_record_id": record.id,
    })))
}

/// The value object of a stored reference (`None` for anything else).
pub(super) fn render(attribute: &Attribute, stored: &Value) -> Option<Value> {
    if attribute.kind != KIND {
        return None;
    }
    let target_object = stored.get("target_object")?;
    let target_record_id = stored.get("target_record_id")?;
    Some(json!({
        "target_object": target_object,
        "target_record_id": target_record_id,
        "attribute_type": KIND,
    }))
}
