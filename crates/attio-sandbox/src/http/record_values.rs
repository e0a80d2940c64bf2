//! Record and entry attribute values: parsing the `values` / `entry_values` of a request (Attio
//! accepts bare values, arrays and value objects) and rendering them as value-object arrays.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::references;
use crate::store::{Attribute, AttributeParent, ObjectKind, Record, RecordChanges, WorkspaceStore};

fn unknown_attribute(key: &str) -> ApiError {
    ApiError::value_not_found(format!("Cannot find attribute with slug/ID \"{key}\"."))
}

/// The attribute `key` (slug or ID) of `parent`, which must not be archived.
fn writable<'a>(
    store: &'a WorkspaceStore,
    parent: AttributeParent,
    key: &str,
) -> Result<&'a Attribute, ApiError> {
    let attribute = store
        .attribute(parent, key)
        .ok_or_else(|| unknown_attribute(key))?;
    if attribute.is_archived {
        return Err(ApiError::validation(format!(
            "The attribute \"{key}\" is archived and cannot be written."
        )));
    }
    Ok(attribute)
}

/// Parses a record's `values`. With `append` (PATCH), new unique values are added to the
/// current ones; otherwise (POST, PUT) they replace them.
pub(super) fn record_changes(
    store: &WorkspaceStore,
    object: ObjectKind,
    values: Map<String, Value>,
    current: Option<&Record>,
    append: bool,
) -> Result<RecordChanges, ApiError> {
    let parent = AttributeParent::Object(object);
    let (unique_slug, unique_field) = object.unique_attribute();
    let mut changes = RecordChanges::default();
    for (key, value) in values {
        let attribute = writable(store, parent, &key)?;
        if attribute.is_system && attribute.api_slug == "name" {
            changes.name = Some(name(object, value)?);
        } else if attribute.is_system && attribute.api_slug == unique_slug {
            let mut uniques = if append {
                current.map(|r| r.uniques.clone()).unwrap_or_default()
            } else {
                Vec::new()
            };
            for value in unique_values(value, unique_slug, unique_field)? {
                if !uniques.iter().any(|u| u.eq_ignore_ascii_case(&value)) {
                    uniques.push(value);
                }
            }
            changes.uniques = Some(uniques);
        } else {
            changes
                .values
                .push((attribute.id, stored(store, attribute, value)?));
        }
    }
    Ok(changes)
}

/// Parses an entry's `entry_values` against the list's attributes.
pub(super) fn entry_values(
    store: &WorkspaceStore,
    list_id: Uuid,
    values: Map<String, Value>,
) -> Result<Vec<(Uuid, Option<Value>)>, ApiError> {
    values
        .into_iter()
        .map(|(key, value)| {
            let attribute = writable(store, AttributeParent::List(list_id), &key)?;
            Ok((attribute.id, stored(store, attribute, value)?))
        })
        .collect()
}

/// A person's name (`"Ada Lovelace"` or `[{first_name, last_name, full_name}]`) or a company's
/// (`"Acme"` or `[{"value": "Acme"}]`).
fn name(object: ObjectKind, value: Value) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::validation(match object {
            ObjectKind::People => "name must be a string or [{first_name, last_name, full_name}].",
            ObjectKind::Companies => "name must be a string or [{\"value\": \"…\"}].",
        })
    };
    let value = match value {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    };
    match value {
        Value::String(s) => Ok(s),
        Value::Object(map) => {
            let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
            if let Some(full) = text("full_name").or_else(|| text("value")) {
                return Ok(full);
            }
            match (text("first_name"), text("last_name")) {
                (None, None) => Err(invalid()),
                (first, last) => {
                    Ok(
                        format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
                            .trim()
                            .to_owned(),
                    )
                }
            }
        }
        _ => Err(invalid()),
    }
}

/// Email addresses or domains: a string, or an array of strings or `{field: "…"}` objects.
fn unique_values(value: Value, slug: &str, field: &str) -> Result<Vec<String>, ApiError> {
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let text = match &item {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Object(map) => map
                    .get(field)
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_owned()),
                _ => None,
            };
            let valid = text.filter(|s| {
                !s.is_empty()
                    && !s.contains(char::is_whitespace)
                    && (field != "email_address" || s.contains('@'))
            });
            valid.ok_or_else(|| {
                ApiError::validation(format!(
                    "{slug} must hold values like \"…\" or {{\"{field}\": \"…\"}}; got {item}."
                ))
            })
        })
        .collect()
}

/// One value as the store keeps it: a record reference's target, or an ordinary value.
fn stored(
    store: &WorkspaceStore,
    attribute: &Attribute,
    value: Value,
) -> Result<Option<Value>, ApiError> {
    if attribute.kind == references::KIND {
        references::write(store, attribute, value)
    } else {
        scalar(attribute, value)
    }
}

/// One value for an ordinary attribute: a bare value, `[value]` or `[{"value": value}]`;
/// `null` or `[]` clears it. The value must suit the attribute's type.
fn scalar(attribute: &Attribute, value: Value) -> Result<Option<Value>, ApiError> {
    let value = match value {
        Value::Array(mut items) if items.len() <= 1 => items.pop().unwrap_or(Value::Null),
        other => other,
    };
    let value = match value {
        Value::Object(mut map) if map.contains_key("value") => {
            map.remove("value").unwrap_or_default()
        }
        other => other,
    };
    let ok = match (attribute.kind.as_str(), &value) {
        (_, Value::Null) => return Ok(None),
        ("number" | "currency" | "rating", Value::Number(_)) => true,
        ("checkbox", Value::Bool(_)) => true,
        ("number" | "currency" | "rating" | "checkbox", _) => false,
        (_, Value::String(_) | Value::Number(_) | Value::Bool(_)) => true,
        _ => false,
    };
    if ok {
        Ok(Some(value))
    } else {
        Err(ApiError::validation(format!(
            "The value {value} does not suit the {} attribute \"{}\".",
            attribute.kind, attribute.api_slug
        )))
    }
}

/// `{slug: [value objects]}` for every attribute of `parent`, in attribute order.
pub(super) fn values_json(
    attributes: &[&Attribute],
    value_of: impl Fn(&Attribute) -> Vec<Value>,
) -> Value {
    let map: Map<String, Value> = attributes
        .iter()
        .map(|a| (a.api_slug.clone(), Value::Array(value_of(a))))
        .collect();
    Value::Object(map)
}

/// An ordinary value as a value object.
pub(super) fn plain(attribute: &Attribute, value: Option<&Value>) -> Vec<Value> {
    value
        .map(|v| {
            vec![references::render(attribute, v)
                .unwrap_or_else(|| json!({ "value": v, "attribute_type": attribute.kind }))]
        })
        .unwrap_or_default()
}

/// The Record object: `{id, created_at, web_url, values}`.
pub(super) fn record_json(store: &WorkspaceStore, record: &Record) -> Value {
    let attributes = store.attributes_of(AttributeParent::Object(record.object));
    let (unique_slug, unique_field) = record.object.unique_attribute();
    let values = values_json(&attributes, |a| {
        if a.is_system && a.api_slug == "name" {
            name_json(record)
        } else if a.is_system && a.api_slug == unique_slug {
            record
                .uniques
                .iter()
                .map(|u| match record.object {
                    ObjectKind::People => json!({ unique_field: u, "attribute_type": a.kind }),
                    ObjectKind::Companies => {
                        json!({ unique_field: u, "root_domain": u, "attribute_type": a.kind })
                    }
                })
                .collect()
        } else {
            plain(a, record.values.get(&a.id))
        }
    });
    json!({
        "id": {
            "workspace_id": store.workspace.id,
            "object_id": store.object_id(record.object),
            "record_id": record.id,
        },
        "created_at": crate::timestamp::format(record.created_at),
        "web_url": format!(
            "https://app.attio.com/{}/{}/{}",
            store.workspace.slug,
            record.object.slug(),
            record.id
        ),
        "values": values,
    })
}

fn name_json(record: &Record) -> Vec<Value> {
    if record.name.is_empty() {
        return Vec::new();
    }
    match record.object {
        ObjectKind::People => {
            let (first, last) = record.name.split_once(' ').unwrap_or((&record.name, ""));
            vec![
                json!({ "first_name": first, "last_name": last, "full_name": record.name,
                         "attribute_type": "personal-name" }),
            ]
        }
        ObjectKind::Companies => vec![json!({ "value": record.name, "attribute_type": "text" })],
    }
}
