//! `/v2/objects/{object}/attributes` and `/v2/lists/{list}/attributes`: list, create, get and
//! update attributes (emitting `object-attribute.*` or `list-attribute.*`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::body::Fields;
use super::error::ApiError;
use super::extract::{
    path_pair, ApiJson, Authorized, ReadListConfig, ReadObjectConfig, WriteListConfig,
    WriteObjectConfig,
};
use super::lists::find as find_list;
use super::records::object;
use crate::shared::WorkspaceGuard;
use crate::store::{
    Actor, Attribute, AttributeError, AttributeParent, AttributePatch, NewAttribute, WorkspaceStore,
};
use crate::timestamp::{format, now};
use crate::Sandbox;

/// Attio's attribute types.
const TYPES: &[&str] = &[
    "text",
    "number",
    "checkbox",
    "currency",
    "date",
    "timestamp",
    "rating",
    "status",
    "select",
    "record-reference",
    "actor-reference",
    "location",
    "domain",
    "email-address",
    "phone-number",
];

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v2/objects/{object}/attributes",
            get(object_list).post(object_create),
        )
        .route(
            "/v2/objects/{object}/attributes/{attribute}",
            get(object_show).patch(object_update),
        )
        .route(
            "/v2/lists/{list}/attributes",
            get(list_list).post(list_create),
        )
        .route(
            "/v2/lists/{list}/attributes/{attribute}",
            get(list_show).patch(list_update),
        )
}

fn object_parent(store: &WorkspaceStore, key: &str) -> Result<AttributeParent, ApiError> {
    object(store, key).map(AttributeParent::Object)
}

fn list_parent(store: &WorkspaceStore, key: &str) -> Result<AttributeParent, ApiError> {
    find_list(store, key).map(|l| AttributeParent::List(l.id))
}

type ParentOf = fn(&WorkspaceStore, &str) -> Result<AttributeParent, ApiError>;

async fn object_list(
    a: Authorized<ReadObjectConfig>,
    s: State<Sandbox>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list_all(a.store(&s), &key, object_parent)
}

async fn list_list(
    a: Authorized<ReadListConfig>,
    s: State<Sandbox>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list_all(a.store(&s), &key, list_parent)
}

async fn object_create(
    a: Authorized<WriteObjectConfig>,
    s: State<Sandbox>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    create(a.store(&s), &key, object_parent, body, a.actor())
}

async fn list_create(
    a: Authorized<WriteListConfig>,
    s: State<Sandbox>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    create(a.store(&s), &key, list_parent, body, a.actor())
}

async fn object_show(
    a: Authorized<ReadObjectConfig>,
    s: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    show(a.store(&s), path_pair(path), object_parent)
}

async fn list_show(
    a: Authorized<ReadListConfig>,
    s: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    show(a.store(&s), path_pair(path), list_parent)
}

async fn object_update(
    a: Authorized<WriteObjectConfig>,
    s: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    update(a.store(&s), path_pair(path), object_parent, body, a.actor())
}

async fn list_update(
    a: Authorized<WriteListConfig>,
    s: State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    update(a.store(&s), path_pair(path), list_parent, body, a.actor())
}

fn list_all(
    store: WorkspaceGuard<'_>,
    key: &str,
    parent_of: ParentOf,
) -> Result<Json<Value>, ApiError> {
    let parent = parent_of(&store, key)?;
    let data: Vec<Value> = store
        .attributes_of(parent)
        .into_iter()
        .map(|a| attribute_json(&store, a))
        .collect();
    Ok(Json(json!({ "data": data })))
}

fn find<'a>(
    store: &'a WorkspaceStore,
    (parent_key, key): &(String, String),
    parent_of: ParentOf,
) -> Result<&'a Attribute, ApiError> {
    let parent = parent_of(store, parent_key)?;
    store
        .attribute(parent, key)
        .ok_or_else(|| ApiError::not_found(format!("Attribute with slug/ID \"{key}\" not found.")))
}

fn show(
    store: WorkspaceGuard<'_>,
    keys: (String, String),
    parent_of: ParentOf,
) -> Result<Json<Value>, ApiError> {
    let attribute = find(&store, &keys, parent_of)?;
    Ok(Json(json!({ "data": attribute_json(&store, attribute) })))
}

fn create(
    mut store: WorkspaceGuard<'_>,
    key: &str,
    parent_of: ParentOf,
    body: Value,
    actor: Actor,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    let required = [
        "title",
        "description",
        "api_slug",
        "type",
        "is_required",
        "is_unique",
        "is_multiselect",
        "config",
    ];
    data.only(&[&required[..], &["default_value", "relationship"]].concat())?;
    data.require(&required)?;
    let kind = data.text("type")?;
    if !TYPES.contains(&kind.as_str()) {
        return Err(ApiError::validation(format!(
            "data.type must be one of {}; got \"{kind}\".",
            TYPES.join(", ")
        )));
    }
    data.object_field("config")?;
    let parent = parent_of(&store, key)?;
    if kind == "status" && matches!(parent, AttributeParent::Object(_)) {
        // Attio's document: "company and person objects do not support status attributes".
        return Err(ApiError::validation(
            "Status attributes can only be created on lists: people and companies do not support them.",
        ));
    }
    let new = NewAttribute {
        title: data.text("title")?,
        api_slug: data.slug("api_slug")?.unwrap_or_default(),
        description: data.nullable_string("description")?.flatten(),
        kind,
        is_required: data.bool("is_required")?.unwrap_or_default(),
        is_unique: data.bool("is_unique")?.unwrap_or_default(),
        is_multiselect: data.bool("is_multiselect")?.unwrap_or_default(),
    };
    let attribute = store
        .create_attribute(parent, new, actor, now())
        .map_err(refused)?;
    Ok(Json(json!({ "data": attribute_json(&store, &attribute) })))
}

fn update(
    mut store: WorkspaceGuard<'_>,
    keys: (String, String),
    parent_of: ParentOf,
    body: Value,
    actor: Actor,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&[
        "title",
        "description",
        "api_slug",
        "is_required",
        "is_unique",
        "is_archived",
        "default_value",
        "config",
    ])?;
    if data.has("config") {
        data.object_field("config")?;
    }
    let patch = AttributePatch {
        title: if data.has("title") {
            Some(data.text("title")?)
        } else {
            None
        },
        api_slug: data.slug("api_slug")?,
        description: data.nullable_string("description")?,
        is_required: data.bool("is_required")?,
        is_unique: data.bool("is_unique")?,
        is_archived: data.bool("is_archived")?,
    };
    let id = find(&store, &keys, parent_of)?.id;
    let attribute = store
        .update_attribute(id, patch, actor)
        .map_err(refused)?
        .ok_or_else(|| ApiError::not_found("Attribute not found."))?;
    Ok(Json(json!({ "data": attribute_json(&store, &attribute) })))
}

fn refused(error: AttributeError) -> ApiError {
    match error {
        AttributeError::SlugConflict(slug) => ApiError::slug_conflict(format!(
            "An attribute with the slug \"{slug}\" already exists."
        )),
        AttributeError::SystemEdit(slug) => ApiError::system_edit(format!(
            "The slug of the system attribute \"{slug}\" cannot be changed."
        )),
    }
}

/// The Attribute object (simplified: `config` and `default_value` are not modelled, and answer
/// as unset).
pub(super) fn attribute_json(store: &WorkspaceStore, a: &Attribute) -> Value {
    let id = match a.parent {
        AttributeParent::Object(kind) => json!({ "workspace_id": store.workspace.id,
            "object_id": store.object_id(kind), "attribute_id": a.id }),
        // Attio's document gives list attributes the same id shape as object attributes:
        // `object_id` holds the list's id.
        AttributeParent::List(list_id) => json!({ "workspace_id": store.workspace.id,
            "object_id": list_id, "attribute_id": a.id }),
    };
    json!({
        "id": id,
        "title": a.title,
        "description": a.description,
        "api_slug": a.api_slug,
        "type": a.kind,
        "is_system_attribute": a.is_system,
        "is_writable": true,
        "is_required": a.is_required,
        "is_unique": a.is_unique,
        "is_multiselect": a.is_multiselect,
        "is_default_value_enabled": false,
        "is_archived": a.is_archived,
        "default_value": null,
        "relationship": null,
        "created_at": format(a.created_at),
        // The document requires both configurations on every attribute. The sandbox models
        // neither, so each says "nothing set": no default currency or display, and records of
        // any object allowed.
        "config": {
            "currency": { "default_currency_code": null, "display_type": null },
            "record_reference": { "allowed_object_ids": null },
        },
    })
}
