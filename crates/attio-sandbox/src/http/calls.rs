//! `/v2/meetings` (the seeded meetings, read-only) and their call recordings: creating one
//! finishes it at once (there is no media to process) and emits `call-recording.created`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use url::Url;
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{pairs, path_pair, path_uuid, single, ApiJson, Authorized, ScopeSet};
use crate::store::{CallRecording, Meeting, WorkspaceStore};
use crate::timestamp::{format, now, parse_deadline};
use crate::Sandbox;

pub(super) struct ReadMeetings;
impl ScopeSet for ReadMeetings {
    const REQUIRED: &'static [&'static str] = &["meeting:read"];
}

pub(super) struct ReadRecordings;
impl ScopeSet for ReadRecordings {
    const REQUIRED: &'static [&'static str] = &["call_recording:read", "meeting:read"];
}

pub(super) struct WriteRecordings;
impl ScopeSet for WriteRecordings {
    const REQUIRED: &'static [&'static str] = &["call_recording:read-write", "meeting:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/meetings", get(list))
        .route("/v2/meetings/{meeting_id}", get(show))
        .route("/v2/meetings/{meeting_id}/call_recordings", post(create))
        .route(
            "/v2/meetings/{meeting_id}/call_recordings/{call_recording_id}",
            get(show_recording),
        )
}

fn meeting_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Meeting with ID \"{id}\" not found."))
}

/// Lists meetings by start (`sort`: `start_asc`, the default, or `start_desc`), `limit` (1 to
/// 200, default 50) at a time, with `pagination.next_cursor` for the next page (an opaque
/// string; the sandbox's is the position). `ends_from` (inclusive) and `starts_before`
/// (exclusive) take timestamps; `participants` and `linked_object` with `linked_record_id`
/// filter by what the sandbox's meetings do not have yet, so they match none.
async fn list(
    auth: Authorized<ReadMeetings>,
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let get = |name: &str| single(&params, name).map_err(ApiError::validation);
    let limit = match get("limit")? {
        None => 50,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "limit must be an integer between 1 and 200, got \"{raw}\"."
                ))
            })?,
    };
    let position = match get("cursor")? {
        None => 0,
        Some(raw) => raw.parse::<usize>().map_err(|_| {
            ApiError::validation(format!("\"{raw}\" is not a cursor this API gave."))
        })?,
    };
    let descending = match get("sort")? {
        None | Some("start_asc") => false,
        Some("start_desc") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "sort must be start_asc or start_desc, got \"{other}\"."
            )))
        }
    };
    let time = |name: &str| -> Result<Option<time::OffsetDateTime>, ApiError> {
        get(name)?
            .map(|raw| {
                parse_deadline(raw).ok_or_else(|| {
                    ApiError::validation(format!("{name} must be a timestamp, got \"{raw}\"."))
                })
            })
            .transpose()
    };
    let ends_from = time("ends_from")?;
    let starts_before = time("starts_before")?;
    let linked_object = get("linked_object")?;
    let linked_record = get("linked_record_id")?;
    if linked_object.is_some() != linked_record.is_some() {
        return Err(ApiError::validation(
            "linked_object and linked_record_id go together.",
        ));
    }
    let participants = get("participants")?.unwrap_or_default();
    let by_links_or_people = linked_record.is_some() || !participants.trim().is_empty();

    let store = auth.store(&sandbox);
    let mut meetings: Vec<&Meeting> = store
        .meetings
        .iter()
        .filter(|_| !by_links_or_people)
        .filter(|m| ends_from.is_none_or(|at| m.end >= at))
        .filter(|m| starts_before.is_none_or(|at| m.start < at))
        .collect();
    meetings.sort_by_key(|m| (m.start, m.id));
    if descending {
        meetings.reverse();
    }
    let data: Vec<Value> = meetings
        .iter()
        .skip(position)
        .take(limit)
        .map(|m| meeting_json(&store, m))
        .collect();
    let next = position.saturating_add(limit);
    let next_cursor = (next < meetings.len()).then(|| next.to_string());
    Ok(Json(
        json!({ "data": data, "pagination": { "next_cursor": next_cursor } }),
    ))
}

async fn show(
    auth: Authorized<ReadMeetings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_uuid(path).map_err(|raw| meeting_not_found(&raw))?;
    let store = auth.store(&sandbox);
    let meeting = store
        .meeting(id)
        .ok_or_else(|| meeting_not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": meeting_json(&store, meeting) })))
}

async fn create(
    auth: Authorized<WriteRecordings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let meeting_id = path_uuid(path).map_err(|raw| meeting_not_found(&raw))?;
    let mut data = Fields::data(body)?;
    data.only(&["video_url"])?;
    data.require(&["video_url"])?;
    let video_url = data.text("video_url")?;
    if Url::parse(&video_url).is_err() {
        return Err(ApiError::validation(
            "data.video_url must be an absolute URL.",
        ));
    }
    let mut store = auth.store(&sandbox);
    if store.meeting(meeting_id).is_none() {
        return Err(meeting_not_found(&meeting_id.to_string()));
    }
    let recording = store.finish_recording(meeting_id, auth.actor(), now());
    Ok(Json(json!({ "data": recording_json(&store, &recording) })))
}

async fn show_recording(
    auth: Authorized<ReadRecordings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let (meeting_key, recording_key) = path_pair(path);
    let not_found = || {
        ApiError::not_found(format!(
            "Call recording with ID \"{recording_key}\" not found."
        ))
    };
    let store = auth.store(&sandbox);
    let ids = Uuid::parse_str(&meeting_key)
        .ok()
        .zip(Uuid::parse_str(&recording_key).ok());
    let recording = ids
        .and_then(|(meeting, id)| store.recording(meeting, id))
        .ok_or_else(not_found)?;
    Ok(Json(json!({ "data": recording_json(&store, recording) })))
}

/// A meeting as the document's schema has it. Seeded meetings have no participants or linked
/// records (the sandbox models neither yet).
fn meeting_json(store: &WorkspaceStore, meeting: &Meeting) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "meeting_id": meeting.id },
        "title": meeting.title,
        "description": meeting.description,
        "is_all_day": false,
        "start": { "datetime": format(meeting.start), "timezone": "UTC" },
        "end": { "datetime": format(meeting.end), "timezone": "UTC" },
        "participants": [],
        "linked_records": [],
        "created_at": format(meeting.created_at),
        "created_by_actor": meeting.created_by.event_json(),
    })
}

pub(super) fn recording_json(store: &WorkspaceStore, recording: &CallRecording) -> Value {
    json!({
        "id": {
            "workspace_id": store.workspace.id,
            "meeting_id": recording.meeting_id,
            "call_recording_id": recording.id,
        },
        "status": "completed",
        "web_url": format!(
            "https://app.attio.com/{}/calls/{}/{}",
            store.workspace.slug, recording.meeting_id, recording.id
        ),
        "created_by_actor": recording.created_by.event_json(),
        "created_at": format(recording.created_at),
    })
}
