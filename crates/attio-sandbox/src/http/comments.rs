//! `/v2/comments` (create on a thread, a record or a list entry; get; delete); threads are in
//! `threads.rs`. Attio has no public endpoint to resolve a comment;
//! `POST /_sandbox/comments/{id}/resolve` and `/unresolve` do.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{path_uuid, ApiJson, Authorized, ScopeSet};
use super::lists::find as find_list;
use super::records::object;
use crate::store::{AccessLevel, Comment, CommentTarget, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

pub(super) struct ReadComments;
impl ScopeSet for ReadComments {
    const REQUIRED: &'static [&'static str] = &["comment:read"];
}

pub(super) struct WriteComments;
impl ScopeSet for WriteComments {
    const REQUIRED: &'static [&'static str] = &["comment:read-write"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/comments", post(create))
        .route("/v2/comments/{comment_id}", get(show).delete(remove))
}

pub(super) fn comment_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Comment with ID \"{id}\" not found."))
}

/// Where a new comment goes: an existing thread, or a new thread on a record or entry.
enum Destination {
    Thread(Uuid),
    New(CommentTarget),
}

async fn create(
    auth: Authorized<WriteComments>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    create_comment(auth, &sandbox, body).map_err(|e| {
        if e.status() == axum::http::StatusCode::BAD_REQUEST {
            e.with_camel_case_status()
        } else {
            e
        }
    })
}

fn create_comment(
    auth: Authorized<WriteComments>,
    sandbox: &Sandbox,
    body: Value,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&[
        "format",
        "content",
        "author",
        "created_at",
        "thread_id",
        "record",
        "entry",
    ])?;
    data.require(&["format", "content", "author"])?;
    if data.string("format")?.as_deref() != Some("plaintext") {
        return Err(ApiError::validation("data.format must be \"plaintext\"."));
    }
    let content = data.text("content")?;
    let author = data.object_field("author")?.unwrap_or_default();
    let created_at = data.timestamp("created_at")?.unwrap_or_else(now);
    let thread_id = data.uuid("thread_id")?;
    let record = data.object_field("record")?;
    let entry = data.object_field("entry")?;
    let mut store = auth.store(sandbox);
    let author = author_id(&store, &author)?;
    let destination = match (thread_id, record, entry) {
        (Some(id), None, None) => {
            let thread = store.thread(id).ok_or_else(|| {
                ApiError::value_not_found(format!("Thread with ID \"{id}\" not found."))
            })?;
            scopes_for(&auth, thread.target)?;
            Destination::Thread(id)
        }
        (None, Some(record), None) => Destination::New(record_target(&store, &record)?),
        (None, None, Some(entry)) => Destination::New(entry_target(&store, &entry)?),
        _ => {
            return Err(ApiError::validation(
                "Give exactly one of data.thread_id, data.record or data.entry.",
            ))
        }
    };
    let thread_id = match destination {
        Destination::Thread(id) => id,
        Destination::New(target) => {
            scopes_for(&auth, target)?;
            store.start_thread(target, created_at)
        }
    };
    let comment = store.create_comment(thread_id, content, author, auth.actor(), created_at);
    Ok(Json(json!({ "data": comment_json(&store, &comment) })))
}

/// Comments on records also need record scopes; comments on entries, list scopes.
pub(super) fn scopes_for<R>(auth: &Authorized<R>, target: CommentTarget) -> Result<(), ApiError> {
    match target {
        CommentTarget::Record { .. } => {
            auth.require(&["object_configuration:read", "record_permission:read"])
        }
        CommentTarget::Entry { .. } => {
            auth.require(&["list_configuration:read", "list_entry:read"])
        }
    }
}

/// `{"type": "workspace-member", "id": uuid}`: an active member.
fn author_id(store: &WorkspaceStore, author: &Map<String, Value>) -> Result<Uuid, ApiError> {
    if author.get("type").and_then(Value::as_str) != Some("workspace-member") || author.len() != 2 {
        return Err(ApiError::validation(
            "data.author must be {\"type\": \"workspace-member\", \"id\": <member id>}.",
        ));
    }
    let raw = author.get("id").and_then(Value::as_str).unwrap_or_default();
    Uuid::parse_str(raw)
        .ok()
        .and_then(|id| store.member(id))
        .filter(|m| m.access_level != AccessLevel::Suspended)
        .map(|m| m.id)
        .ok_or_else(|| {
            ApiError::value_not_found(format!(
                "Active workspace member with ID \"{raw}\" not found."
            ))
        })
}

/// `{"object": slug|id, "record_id": uuid}`.
fn record_target(
    store: &WorkspaceStore,
    record: &Map<String, Value>,
) -> Result<CommentTarget, ApiError> {
    let object_key = record
        .get("object")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = object(store, object_key)?;
    let raw = record
        .get("record_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let record_id = Uuid::parse_str(raw)
        .ok()
        .filter(|id| store.record(kind, *id).is_some())
        .ok_or_else(|| ApiError::value_not_found(format!("Record with ID \"{raw}\" not found.")))?;
    Ok(CommentTarget::Record {
        object: kind,
        record_id,
    })
}

/// `{"list": slug|id, "entry_id": uuid}`.
fn entry_target(
    store: &WorkspaceStore,
    entry: &Map<String, Value>,
) -> Result<CommentTarget, ApiError> {
    let list_key = entry
        .get("list")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let list_id = find_list(store, list_key)?.id;
    let raw = entry
        .get("entry_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let entry_id = Uuid::parse_str(raw)
        .ok()
        .filter(|id| store.entry(list_id, *id).is_some())
        .ok_or_else(|| {
            ApiError::value_not_found(format!("List entry with ID \"{raw}\" not found."))
        })?;
    Ok(CommentTarget::Entry { list_id, entry_id })
}

async fn show(
    auth: Authorized<ReadComments>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_uuid(path).map_err(|raw| comment_not_found(&raw))?;
    let store = auth.store(&sandbox);
    let comment = store
        .comment(id)
        .ok_or_else(|| comment_not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": comment_json(&store, comment) })))
}

async fn remove(
    auth: Authorized<WriteComments>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_uuid(path).map_err(|raw| comment_not_found(&raw))?;
    let mut store = auth.store(&sandbox);
    if !store.delete_comment(id, auth.actor()) {
        return Err(comment_not_found(&id.to_string()));
    }
    Ok(Json(json!({})))
}

/// The Comment object.
pub(super) fn comment_json(store: &WorkspaceStore, comment: &Comment) -> Value {
    let place = store
        .thread(comment.thread_id)
        .and_then(|t| store.place(t.target));
    let record = place
        .as_ref()
        .map(|p| json!({ "object_id": store.object_id(p.object), "record_id": p.record_id }));
    let entry = place.as_ref().and_then(|p| {
        p.list_id
            .zip(p.entry_id)
            .map(|(list_id, entry_id)| json!({ "list_id": list_id, "entry_id": entry_id }))
    });
    json!({
        "id": { "workspace_id": store.workspace.id, "comment_id": comment.id },
        "thread_id": comment.thread_id,
        "content_plaintext": comment.content,
        "entry": entry,
        "record": record,
        "resolved_at": comment.resolved.map(|(at, _)| format(at)),
        // An object whose fields are null while unresolved: the document's schema has
        // `resolved_by` as a (non-nullable) object with nullable `type` and `id`.
        "resolved_by": comment.resolved.map_or_else(
            || json!({ "type": null, "id": null }),
            |(_, by)| by.event_json(),
        ),
        "created_at": format(comment.created_at),
        "author": { "type": "workspace-member", "id": comment.author },
    })
}
