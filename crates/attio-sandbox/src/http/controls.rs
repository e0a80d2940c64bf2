//! Loopback-only JSON controls for changes Attio has no public endpoint for (adding a member,
//! resolving a comment, deleting a list), for some it has that a test wants to make without a
//! token (merging records, editing a note, finishing a call recording), `POST /_sandbox/trigger`,
//! and read access to every webhook and its delivery log.
//! Changes made here are attributed to `system`, or to the member named by `actor_member_id`.
//! Each acts on the workspace named by `workspace_id` (body or query), the first by default.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::body::Fields;
use super::comments::{comment_json, comment_not_found};
use super::error::ApiError;
use super::extract::{path_uuid, MaybeJson};
use super::lists::find as find_list;
use super::members::member_json;
use super::notes::{note_json, note_not_found};
use super::record_values::record_json;
use super::recordings::recording_json;
use super::records::object;
use super::webhooks::webhook_json;
use super::workspaces::chosen_workspace;
use crate::store::{AccessLevel, Actor, Owner, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::{DeliveryAttempt, Sandbox};

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/members", post(add_member))
        .route("/_sandbox/records/merge", post(merge))
        .route("/_sandbox/notes/{note_id}", patch(edit_note))
        .route("/_sandbox/comments/{comment_id}/resolve", post(resolve))
        .route("/_sandbox/comments/{comment_id}/unresolve", post(unresolve))
        .route("/_sandbox/lists/{list}", delete(delete_list))
        .route("/_sandbox/call-recordings", post(finish_recording))
        .route("/_sandbox/trigger", post(trigger))
        .route("/_sandbox/webhooks", get(webhooks))
        .route(
            "/_sandbox/webhooks/{webhook_id}/deliveries",
            get(deliveries),
        )
}

/// `system`, or the active member named by the body's `actor_member_id`.
fn actor(store: &WorkspaceStore, fields: &mut Fields) -> Result<Actor, ApiError> {
    match fields.uuid("actor_member_id")? {
        None => Ok(Actor::System),
        Some(id) => store
            .member(id)
            .filter(|m| m.access_level != AccessLevel::Suspended)
            .map(|m| Actor::WorkspaceMember(m.id))
            .ok_or_else(|| {
                ApiError::value_not_found(format!(
                    "Active workspace member with ID \"{id}\" not found."
                ))
            }),
    }
}

/// `{first_name, last_name, email_address, access_level?}` → `workspace-member.created`.
async fn add_member(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&[
        "first_name",
        "last_name",
        "email_address",
        "access_level",
        "actor_member_id",
        "workspace_id",
    ])?;
    let first = fields.text("first_name")?;
    let last = fields.text("last_name")?;
    let email = fields.text("email_address")?;
    let level = match fields.string("access_level")? {
        None => AccessLevel::Member,
        Some(raw) => AccessLevel::parse(&raw).ok_or_else(|| {
            ApiError::validation("body.access_level must be admin, member or suspended.")
        })?,
    };
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    let member = store
        .add_member(&first, &last, &email, level, actor, now())
        .map_err(ApiError::validation)?;
    Ok(Json(
        json!({ "data": member_json(store.workspace.id, &member) }),
    ))
}

/// `{object, record_id, duplicate_record_id}` → a new record and two `record.merged`.
async fn merge(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&[
        "object",
        "record_id",
        "duplicate_record_id",
        "actor_member_id",
        "workspace_id",
    ])?;
    let object_key = fields.text("object")?;
    let missing = |key| ApiError::validation(format!("body.{key} is required."));
    let original = fields
        .uuid("record_id")?
        .ok_or_else(|| missing("record_id"))?;
    let duplicate = fields
        .uuid("duplicate_record_id")?
        .ok_or_else(|| missing("duplicate_record_id"))?;
    if original == duplicate {
        return Err(ApiError::self_merge(
            "A record cannot be merged with itself.",
        ));
    }
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    let kind = object(&store, &object_key)?;
    let merged = store
        .merge_records(kind, original, duplicate, actor, now())
        .ok_or_else(|| ApiError::not_found("Both records must exist in the object."))?;
    Ok(Json(json!({ "data": record_json(&store, &merged) })))
}

/// `{title?, content?}`: `note.updated` for a title, `note-content.updated` for a body.
async fn edit_note(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    path: Result<Path<String>, PathRejection>,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let id = path_uuid(path).map_err(|raw| note_not_found(&raw))?;
    let mut fields = Fields::object(body)?;
    fields.only(&["title", "content", "actor_member_id", "workspace_id"])?;
    let (title, content) = (fields.string("title")?, fields.string("content")?);
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    let note = store
        .update_note(id, title, content, actor)
        .ok_or_else(|| note_not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": note_json(&store, &note) })))
}

async fn resolve(
    s: State<Sandbox>,
    q: RawQuery,
    path: Result<Path<String>, PathRejection>,
    body: MaybeJson,
) -> Result<Json<Value>, ApiError> {
    set_resolved(s, q, path, body, true)
}

async fn unresolve(
    s: State<Sandbox>,
    q: RawQuery,
    path: Result<Path<String>, PathRejection>,
    body: MaybeJson,
) -> Result<Json<Value>, ApiError> {
    set_resolved(s, q, path, body, false)
}

fn set_resolved(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    path: Result<Path<String>, PathRejection>,
    MaybeJson(body): MaybeJson,
    resolved: bool,
) -> Result<Json<Value>, ApiError> {
    let id = path_uuid(path).map_err(|raw| comment_not_found(&raw))?;
    let mut fields = Fields::object(body)?;
    fields.only(&["actor_member_id", "workspace_id"])?;
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    let comment = store
        .set_comment_resolved(id, resolved, actor, now())
        .ok_or_else(|| comment_not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": comment_json(&store, &comment) })))
}

async fn delete_list(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    Path(key): Path<String>,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&["actor_member_id", "workspace_id"])?;
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    let id = find_list(&store, &key)?.id;
    store.delete_list(id, actor);
    Ok(Json(json!({})))
}

/// `{meeting_id?}` (default: the first seeded meeting) → `call-recording.created`.
async fn finish_recording(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&["meeting_id", "actor_member_id", "workspace_id"])?;
    let meeting = fields.uuid("meeting_id")?;
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    let meeting = meeting
        .or_else(|| store.meetings.first().map(|m| m.id))
        .filter(|id| store.meeting(*id).is_some())
        .ok_or_else(|| ApiError::value_not_found("No such meeting."))?;
    let recording = store.finish_recording(meeting, actor, now());
    Ok(Json(json!({ "data": recording_json(&store, &recording) })))
}

/// `{"event_type": "..."}`: one representative change that emits that event.
async fn trigger(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    MaybeJson(body): MaybeJson,
) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::object(body)?;
    fields.only(&["event_type", "actor_member_id", "workspace_id"])?;
    let event_type = fields.text("event_type")?;
    let mut store = chosen_workspace(&sandbox, query.as_deref(), Some(&mut fields))?;
    let actor = actor(&store, &mut fields)?;
    crate::trigger::trigger(&mut store, &event_type, actor).map_err(ApiError::validation)?;
    Ok(Json(json!({})))
}

/// Every webhook of the workspace with its owner (no secrets).
async fn webhooks(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let store = chosen_workspace(&sandbox, query.as_deref(), None)?;
    let data: Vec<Value> = store
        .webhooks
        .iter()
        .map(|w| {
            let mut json = webhook_json(&store, w);
            json["owner"] = match &w.owner {
                Owner::App(client_id) => json!({ "type": "app", "client_id": client_id }),
                Owner::ApiKey(id) => json!({ "type": "api-key", "token_id": id }),
            };
            json
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}

async fn deliveries(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let not_found =
        |id: &str| ApiError::not_found(format!("Webhook with ID \"{id}\" was not found."));
    let store = chosen_workspace(&sandbox, query.as_deref(), None)?;
    let id = path_uuid(path).map_err(|raw| not_found(&raw))?;
    let attempts = store.delivery.attempts(id);
    // A deleted webhook's log stays readable.
    if attempts.is_empty() && store.webhook(id).is_none() {
        return Err(not_found(&id.to_string()));
    }
    let data: Vec<Value> = attempts.iter().map(attempt_json).collect();
    Ok(Json(json!({ "data": data })))
}

fn attempt_json(attempt: &DeliveryAttempt) -> Value {
    json!({
        "event_type": attempt.event_type,
        "idempotency_key": attempt.idempotency_key,
        "attempt": attempt.attempt,
        "status_code": attempt.status,
        "latency_ms": attempt.latency.as_millis() as u64,
        "error": attempt.error,
        "succeeded": attempt.succeeded,
        "at": format(OffsetDateTime::from(attempt.at)),
    })
}
