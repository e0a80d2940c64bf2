//! `/v2/meetings/{meeting_id}/call_recordings`: create (finished at once: there is no media to
//! process; `call-recording.created`), list by cursor, get, delete (204, no event), and the
//! transcript, which the sandbox writes itself (see `crate::transcript`) and pages by cursor.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use url::Url;
use uuid::Uuid;

use super::body::Fields;
use super::calls::meeting_not_found;
use super::error::ApiError;
use super::extract::{pairs, path_pair, path_uuid, ApiJson, Authorized, ScopeSet};
use super::paging;
use crate::store::{AccessLevel, CallRecording, Meeting, ObjectKind, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::transcript::{raw, segments};
use crate::Sandbox;

pub(super) struct ReadRecordings;
impl ScopeSet for ReadRecordings {
    const REQUIRED: &'static [&'static str] = &["call_recording:read", "meeting:read"];
}

pub(super) struct WriteRecordings;
impl ScopeSet for WriteRecordings {
    const REQUIRED: &'static [&'static str] = &["call_recording:read-write", "meeting:read"];
}

/// Transcript segments per page (Attio does not document its page size).
const TRANSCRIPT_PAGE: usize = 50;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v2/meetings/{meeting_id}/call_recordings",
            post(create).get(list),
        )
        .route(
            "/v2/meetings/{meeting_id}/call_recordings/{call_recording_id}",
            get(show).delete(remove),
        )
        .route(
            "/v2/meetings/{meeting_id}/call_recordings/{call_recording_id}/transcript",
            get(transcript),
        )
}

fn recording_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Call recording with ID \"{id}\" not found."))
}

/// The meeting and recording named by the path, or the 404 of an unknown recording.
fn find_recording(
    store: &WorkspaceStore,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(&Meeting, &CallRecording), ApiError> {
    let (meeting_key, recording_key) = path_pair(path);
    let not_found = || recording_not_found(&recording_key);
    let meeting_id = Uuid::parse_str(&meeting_key).map_err(|_| not_found())?;
    let id = Uuid::parse_str(&recording_key).map_err(|_| not_found())?;
    let meeting = store.meeting(meeting_id).ok_or_else(not_found)?;
    let recording = store.recording(meeting_id, id).ok_or_else(not_found)?;
    Ok((meeting, recording))
}

/// `{"data": {"video_url": <https URL>}}`.
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
    match Url::parse(&video_url) {
        Ok(url) if url.scheme() == "https" => {}
        Ok(_) => {
            return Err(ApiError::validation(
                "Invalid video URL protocol. Only https is supported.",
            ))
        }
        Err(_) => {
            return Err(ApiError::validation(
                "data.video_url must be an absolute URL.",
            ))
        }
    }
    let mut store = auth.store(&sandbox);
    if store.meeting(meeting_id).is_none() {
        return Err(meeting_not_found(&meeting_id.to_string()));
    }
    let recording = store.finish_recording(meeting_id, auth.actor(), now());
    Ok(Json(json!({ "data": recording_json(&store, &recording) })))
}

/// A meeting's recordings, oldest first: `limit` (1 to 200, default 50) and `cursor`.
async fn list(
    auth: Authorized<ReadRecordings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let meeting_id = path_uuid(path).map_err(|raw| meeting_not_found(&raw))?;
    let params = pairs(query.unwrap_or_default().as_bytes());
    let limit = paging::limit(&params, 50, 200)?;
    let position = paging::cursor(&params)?;
    let store = auth.store(&sandbox);
    if store.meeting(meeting_id).is_none() {
        return Err(meeting_not_found(&meeting_id.to_string()));
    }
    let all: Vec<&CallRecording> = store.recordings_of(meeting_id).collect();
    let data: Vec<Value> = all
        .iter()
        .skip(position)
        .take(limit)
        .map(|r| recording_json(&store, r))
        .collect();
    let next_cursor = paging::next_cursor(position, limit, all.len());
    Ok(Json(
        json!({ "data": data, "pagination": { "next_cursor": next_cursor } }),
    ))
}

async fn show(
    auth: Authorized<ReadRecordings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let (_, recording) = find_recording(&store, path)?;
    Ok(Json(json!({ "data": recording_json(&store, recording) })))
}

/// 204 with no body, as the document has it.
async fn remove(
    auth: Authorized<WriteRecordings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let mut store = auth.store(&sandbox);
    let (meeting_id, id) = {
        let (meeting, recording) = find_recording(&store, path)?;
        (meeting.id, recording.id)
    };
    store.delete_recording(meeting_id, id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One page of the transcript (`cursor`), with the whole raw transcript beside it.
async fn transcript(
    auth: Authorized<ReadRecordings>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let position = paging::cursor(&params)?;
    let store = auth.store(&sandbox);
    let (meeting, recording) = find_recording(&store, path)?;
    let all = segments(&meeting.title, &speakers(&store, meeting));
    let page: Vec<Value> = all
        .iter()
        .skip(position)
        .take(TRANSCRIPT_PAGE)
        .map(|s| {
            json!({
                "speech": s.speech,
                "start_time": s.start_time(),
                "end_time": s.end_time(),
                "speaker": { "name": s.speaker },
            })
        })
        .collect();
    let next_cursor = paging::next_cursor(position, TRANSCRIPT_PAGE, all.len());
    Ok(Json(json!({
        "data": {
            "id": recording_id_json(&store, recording),
            "transcript": page,
            "raw_transcript": raw(&all),
            "web_url": format!("{}/transcript", web_url(&store, recording)),
        },
        "pagination": { "next_cursor": next_cursor },
    })))
}

/// Who speaks: the participants (by their person record's name, else a member's, else the
/// address), or, for a meeting without participants, the workspace's first two active members.
fn speakers(store: &WorkspaceStore, meeting: &Meeting) -> Vec<String> {
    if meeting.participants.is_empty() {
        return store
            .members
            .iter()
            .filter(|m| m.access_level != AccessLevel::Suspended)
            .take(2)
            .map(|m| format!("{} {}", m.first_name, m.last_name))
            .collect();
    }
    meeting
        .participants
        .iter()
        .map(|p| {
            let person = store
                .record_by_unique_value(ObjectKind::People, &p.email)
                .map(|r| r.name.trim().to_owned())
                .filter(|name| !name.is_empty());
            let member = || {
                store
                    .member_by_email(&p.email)
                    .map(|m| format!("{} {}", m.first_name, m.last_name))
            };
            person
                .or_else(member)
                .unwrap_or_else(|| p.email.split('@').next().unwrap_or_default().to_owned())
        })
        .collect()
}

fn recording_id_json(store: &WorkspaceStore, recording: &CallRecording) -> Value {
    json!({
        "workspace_id": store.workspace.id,
        "meeting_id": recording.meeting_id,
        "call_recording_id": recording.id,
    })
}

fn web_url(store: &WorkspaceStore, recording: &CallRecording) -> String {
    format!(
        "https://app.attio.com/{}/calls/{}/{}",
        store.workspace.slug, recording.meeting_id, recording.id
    )
}

pub(super) fn recording_json(store: &WorkspaceStore, recording: &CallRecording) -> Value {
    json!({
        "id": recording_id_json(store, recording),
        "status": "completed",
        "web_url": web_url(store, recording),
        "created_by_actor": recording.created_by.event_json(),
        "created_at": format(recording.created_at),
    })
}
