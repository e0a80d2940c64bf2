//! `/v2/threads`: the threads of a record (`object` + `record_id`) or of a list entry (`list` +
//! `entry_id`), or every thread the token may see, paged by `limit` (default 10, at most 50) and
//! `offset`; and one thread by id. Threads on records also need the record scopes
//! (`object_configuration:read`, `record_permission:read`), threads on entries the list scopes
//! (`list_configuration:read`, `list_entry:read`), as Attio's document says.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::comments::{comment_json, scopes_for, ReadComments};
use super::error::ApiError;
use super::extract::{pairs, path_uuid, single, Authorized};
use super::lists::find as find_list;
use super::paging;
use super::records::object;
use crate::store::{Comment, CommentTarget, Thread, WorkspaceStore};
use crate::timestamp::format;
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/threads", get(list))
        .route("/v2/threads/{thread_id}", get(show))
}

/// A UUID query parameter, or a 400 naming it.
fn uuid_param(name: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::validation(format!("{name} must be a UUID, got \"{raw}\".")))
}

/// Threads oldest first.
async fn list(
    auth: Authorized<ReadComments>,
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let param = |name: &str| single(&params, name).map_err(ApiError::validation);
    let limit = paging::limit(&params, 10, 50)?;
    let offset = paging::offset(&params)?;
    let store = auth.store(&sandbox);
    let on_record = match (param("object")?, param("record_id")?) {
        (None, None) => None,
        (Some(object_key), Some(raw)) => Some(CommentTarget::Record {
            object: object(&store, object_key)?,
            record_id: uuid_param("record_id", raw)?,
        }),
        _ => {
            return Err(ApiError::validation(
                "object and record_id must be given together.",
            ))
        }
    };
    let on_entry = match (param("list")?, param("entry_id")?) {
        (None, None) => None,
        (Some(list_key), Some(raw)) => Some(CommentTarget::Entry {
            list_id: find_list(&store, list_key)?.id,
            entry_id: uuid_param("entry_id", raw)?,
        }),
        _ => {
            return Err(ApiError::validation(
                "list and entry_id must be given together.",
            ))
        }
    };
    let target =
        match (on_record, on_entry) {
            (Some(_), Some(_)) => return Err(ApiError::validation(
                "Filter by a record (object, record_id) or by an entry (list, entry_id), not both.",
            )),
            (record, entry) => record.or(entry),
        };
    if let Some(target) = target {
        scopes_for(&auth, target)?;
    }
    let mut threads: Vec<&Thread> = store
        .threads
        .iter()
        .filter(|t| match target {
            Some(target) => t.target == target,
            // Unfiltered: only the threads whose kind the token's scopes cover.
            None => scopes_for(&auth, t.target).is_ok(),
        })
        .collect();
    threads.sort_by_key(|t| (t.created_at, t.id));
    let data: Vec<Value> = threads
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|t| thread_json(&store, t))
        .collect();
    Ok(Json(json!({ "data": data })))
}

async fn show(
    auth: Authorized<ReadComments>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let not_found = |id: &str| ApiError::not_found(format!("Thread with ID \"{id}\" not found."));
    let id = path_uuid(path).map_err(|raw| not_found(&raw))?;
    let store = auth.store(&sandbox);
    let thread = store.thread(id).ok_or_else(|| not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": thread_json(&store, thread) })))
}

/// The Thread object: its comments sorted by `created_at`, as the document says.
fn thread_json(store: &WorkspaceStore, thread: &Thread) -> Value {
    let mut comments: Vec<&Comment> = store
        .comments
        .iter()
        .filter(|c| c.thread_id == thread.id)
        .collect();
    comments.sort_by_key(|c| c.created_at);
    let comments: Vec<Value> = comments
        .into_iter()
        .map(|c| comment_json(store, c))
        .collect();
    json!({
        "id": { "workspace_id": store.workspace.id, "thread_id": thread.id },
        "comments": comments,
        "created_at": format(thread.created_at),
    })
}
