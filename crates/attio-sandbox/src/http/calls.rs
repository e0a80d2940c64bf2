//! `/v2/meetings` (the seeded meetings, read-only) and their call recordings: creating one
//! finishes it at once (there is no media to process) and emits `call-recording.created`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use url::Url;
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{path_pair, path_uuid, ApiJson, Authorized, ScopeSet};
use crate::store::{CallRecording, Meeting, WorkspaceStore};
use crate::timestamp::{format, now};
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

async fn list(auth: Authorized<ReadMeetings>, State(sandbox): State<Sandbox>) -> Json<Value> {
    let store = auth.store(&sandbox);
    let data: Vec<Value> = store
        .meetings
        .iter()
        .map(|m| meeting_json(&store, m))
        .collect();
    Json(json!({ "data": data }))
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

fn meeting_json(store: &WorkspaceStore, meeting: &Meeting) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "meeting_id": meeting.id },
        "title": meeting.title,
        "start": { "datetime": format(meeting.start), "timezone": "UTC" },
        "end": { "datetime": format(meeting.end), "timezone": "UTC" },
        "is_all_day": false,
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
