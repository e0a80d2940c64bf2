//! `/v2/notes`: list, create, get, update (newer than Attio's OpenAPI copy: title and body;
//! `note.updated` for a new title, `note-content.updated` for a new body) and delete notes.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{pairs, path_uuid, single, ApiJson, Authorized, ScopeSet};
use super::records::{object, referenced_record};
use crate::store::{NewNote, Note, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

pub(super) struct ReadNotes;
impl ScopeSet for ReadNotes {
    const REQUIRED: &'static [&'static str] = &[
        "note:read",
        "object_configuration:read",
        "record_permission:read",
    ];
}

pub(super) struct WriteNotes;
impl ScopeSet for WriteNotes {
    const REQUIRED: &'static [&'static str] = &[
        "note:read-write",
        "object_configuration:read",
        "record_permission:read",
    ];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/notes", get(list).post(create))
        .route(
            "/v2/notes/{note_id}",
            get(show).patch(update).delete(remove),
        )
}

pub(super) fn note_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Note with ID \"{id}\" not found."))
}

/// `limit` (1 to 50, default 10), `offset`, and optionally `parent_object` with
/// `parent_record_id`.
async fn list(
    auth: Authorized<ReadNotes>,
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let param = |name: &'static str| single(&params, name).map_err(ApiError::validation);
    let number = |name: &'static str, max: usize, default: usize| -> Result<usize, ApiError> {
        match param(name)? {
            None => Ok(default),
            Some(raw) => raw.parse().ok().filter(|n| *n <= max).ok_or_else(|| {
                ApiError::validation(format!(
                    "{name} must be an integer up to {max}, got \"{raw}\"."
                ))
            }),
        }
    };
    let (limit, offset) = (
        number("limit", 50, 10)?.max(1),
        number("offset", usize::MAX, 0)?,
    );
    let store = auth.store(&sandbox);
    let parent = match (param("parent_object")?, param("parent_record_id")?) {
        (None, None) => None,
        (Some(object_key), Some(record)) => {
            let kind = object(&store, object_key)?;
            let id = Uuid::parse_str(record).map_err(|_| {
                ApiError::validation(format!(
                    "parent_record_id must be a UUID, got \"{record}\"."
                ))
            })?;
            Some((kind, id))
        }
        _ => {
            return Err(ApiError::validation(
                "parent_object and parent_record_id must be given together.",
            ))
        }
    };
    let data: Vec<Value> = store
        .notes
        .iter()
        .filter(|n| parent.is_none_or(|(kind, id)| n.object == kind && n.record_id == id))
        .skip(offset)
        .take(limit)
        .map(|n| note_json(&store, n))
        .collect();
    Ok(Json(json!({ "data": data })))
}

async fn create(
    auth: Authorized<WriteNotes>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    let required = [
        "parent_object",
        "parent_record_id",
        "title",
        "format",
        "content",
    ];
    data.only(&[&required[..], &["created_at", "meeting_id"]].concat())?;
    data.require(&required)?;
    let parent = data.text("parent_object")?;
    let record_id = data
        .uuid("parent_record_id")?
        .ok_or_else(|| ApiError::validation("data.parent_record_id is required."))?;
    let title = data.string("title")?.unwrap_or_default();
    let format = data.string("format")?.unwrap_or_default();
    if format != "plaintext" && format != "markdown" {
        return Err(ApiError::validation(
            "data.format must be \"plaintext\" or \"markdown\".",
        ));
    }
    let content = data.string("content")?.unwrap_or_default();
    let created_at = data.timestamp("created_at")?.unwrap_or_else(now);
    let meeting_id = data.nullable_string("meeting_id")?.flatten();
    let mut store = auth.store(&sandbox);
    let kind = object(&store, &parent)?;
    referenced_record(&store, kind, record_id)?;
    let meeting_id = match meeting_id {
        None => None,
        Some(raw) => Some(
            Uuid::parse_str(&raw)
                .ok()
                .filter(|id| store.meeting(*id).is_some())
                .ok_or_else(|| {
                    ApiError::value_not_found(format!("Meeting with ID \"{raw}\" not found."))
                })?,
        ),
    };
    let new = NewNote {
        object: kind,
        record_id,
        title,
        content,
        meeting_id,
    };
    let note = store.create_note(new, auth.actor(), created_at);
    Ok(Json(json!({ "data": note_json(&store, &note) })))
}

fn find(
    store: &WorkspaceStore,
    path: Result<Path<String>, PathRejection>,
) -> Result<Uuid, ApiError> {
    let id = path_uuid(path).map_err(|raw| note_not_found(&raw))?;
    store
        .note(id)
        .map(|n| n.id)
        .ok_or_else(|| note_not_found(&id.to_string()))
}

async fn show(
    auth: Authorized<ReadNotes>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let id = find(&store, path)?;
    let note = store
        .note(id)
        .ok_or_else(|| note_not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": note_json(&store, note) })))
}

/// `{"data": {"title"?, "format"?, "content"?}}`: only what is given changes. `format` says how
/// `content` is written (`plaintext`, the default, or `markdown`; the sandbox keeps one body for
/// both). A change of title emits `note.updated`, of body `note-content.updated`; a change to
/// nothing emits nothing. The answer is the note, as `GET` answers it.
async fn update(
    auth: Authorized<WriteNotes>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&["title", "format", "content"])?;
    let title = data.string("title")?;
    if let Some(format) = data.string("format")? {
        if format != "plaintext" && format != "markdown" {
            return Err(ApiError::validation(
                "data.format must be \"plaintext\" or \"markdown\".",
            ));
        }
    }
    let content = data.string("content")?;
    let mut store = auth.store(&sandbox);
    let id = find(&store, path)?;
    let note = store
        .update_note(id, title, content, auth.actor())
        .ok_or_else(|| note_not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": note_json(&store, &note) })))
}

async fn remove(
    auth: Authorized<WriteNotes>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut store = auth.store(&sandbox);
    let id = find(&store, path)?;
    store.delete_note(id, auth.actor());
    Ok(Json(json!({})))
}

/// The Note object.
pub(super) fn note_json(store: &WorkspaceStore, note: &Note) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "note_id": note.id },
        "parent_object": store.object_slug(note.object),
        "parent_record_id": note.record_id,
        "title": note.title,
        "meeting_id": note.meeting_id,
        "content_plaintext": note.content,
        "content_markdown": note.content,
        "tags": [],
        "created_by_actor": note.created_by.event_json(),
        "created_at": format(note.created_at),
    })
}
