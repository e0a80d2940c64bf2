//! `/v2/meetings`: list (by cursor, with Attio's filters), get, and find-or-create by external
//! reference. Call recordings are in `recordings.rs`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use time::macros::format_description;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{pairs, path_uuid, single, ApiJson, Authorized, ScopeSet};
use super::meeting_body::new_meeting;
use super::paging;
use super::records::object;
use crate::store::{Meeting, WorkspaceStore};
use crate::timestamp::{format, now, parse_deadline};
use crate::Sandbox;

pub(super) struct ReadMeetings;
impl ScopeSet for ReadMeetings {
    const REQUIRED: &'static [&'static str] = &["meeting:read"];
}

pub(super) struct WriteMeetings;
impl ScopeSet for WriteMeetings {
    const REQUIRED: &'static [&'static str] = &["meeting:read-write", "record_permission:read"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/meetings", get(list).post(find_or_create))
        .route("/v2/meetings/{meeting_id}", get(show))
}

pub(super) fn meeting_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Meeting with ID \"{id}\" not found."))
}

/// Lists meetings by start (`sort`: `start_asc`, the default, or `start_desc`), `limit` (1 to
/// 200, default 50) at a time, with `pagination.next_cursor` for the next page (an opaque
/// string; the sandbox's is the position). `ends_from` (inclusive) and `starts_before`
/// (exclusive) take timestamps; `participants` (comma-separated email addresses) keeps meetings
/// with at least one of them, `linked_object` with `linked_record_id` those linked to the record.
async fn list(
    auth: Authorized<ReadMeetings>,
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let get = |name: &str| single(&params, name).map_err(ApiError::validation);
    let limit = paging::limit(&params, 50, 200)?;
    let position = paging::cursor(&params)?;
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
    let store = auth.store(&sandbox);
    let linked = match (get("linked_object")?, get("linked_record_id")?) {
        (None, None) => None,
        (Some(object_key), Some(raw)) => {
            let kind = object(&store, object_key)?;
            let id = Uuid::parse_str(raw).map_err(|_| {
                ApiError::validation(format!("linked_record_id must be a UUID, got \"{raw}\"."))
            })?;
            Some((kind, id))
        }
        _ => {
            return Err(ApiError::validation(
                "linked_object and linked_record_id go together.",
            ))
        }
    };
    let emails: Vec<String> = get("participants")?
        .unwrap_or_default()
        .split(',')
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();

    let mut meetings: Vec<&Meeting> = store
        .meetings
        .iter()
        .filter(|m| linked.is_none_or(|link| m.linked_records.contains(&link)))
        .filter(|m| emails.is_empty() || m.participants.iter().any(|p| emails.contains(&p.email)))
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
    let next_cursor = paging::next_cursor(position, limit, meetings.len());
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

/// Finds the meeting the body's `external_ref` names, or creates it (making person records
/// for participants it does not know, each with `record.created`). Either way the answer is
/// 200 with the meeting; a found meeting is answered as it is, unchanged by the body.
async fn find_or_create(
    auth: Authorized<WriteMeetings>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut store = auth.store(&sandbox);
    let new = new_meeting(&store, body).map_err(|e| {
        if e.status() == StatusCode::BAD_REQUEST {
            e.into_validation().with_camel_case_status()
        } else {
            e
        }
    })?;
    let meeting = store.find_or_create_meeting(new, auth.actor(), now());
    Ok(Json(json!({ "data": meeting_json(&store, &meeting) })))
}

/// A meeting as the document's schema has it: all-day meetings start and end on dates, others
/// at datetimes (in UTC, beside the time zone they were given in).
fn meeting_json(store: &WorkspaceStore, meeting: &Meeting) -> Value {
    let moment = |at: OffsetDateTime, timezone: &Option<String>| {
        if meeting.is_all_day {
            let date = at
                .date()
                .format(format_description!("[year]-[month]-[day]"))
                .unwrap_or_default();
            json!({ "date": date })
        } else {
            json!({ "datetime": format(at), "timezone": timezone })
        }
    };
    let participants: Vec<Value> = meeting
        .participants
        .iter()
        .map(|p| {
            json!({
                "status": p.status.as_str(),
                "is_organizer": p.is_organizer,
                "email_address": p.email,
            })
        })
        .collect();
    let linked_records: Vec<Value> = meeting
        .linked_records
        .iter()
        .map(|(kind, record_id)| {
            json!({
                "object_slug": store.object_slug(*kind),
                "object_id": store.object_id(*kind),
                "record_id": record_id,
            })
        })
        .collect();
    json!({
        "id": { "workspace_id": store.workspace.id, "meeting_id": meeting.id },
        "title": meeting.title,
        "description": meeting.description,
        "is_all_day": meeting.is_all_day,
        "start": moment(meeting.start, &meeting.start_timezone),
        "end": moment(meeting.end, &meeting.end_timezone),
        "participants": participants,
        "linked_records": linked_records,
        "created_at": format(meeting.created_at),
        "created_by_actor": meeting.created_by.event_json(),
    })
}
