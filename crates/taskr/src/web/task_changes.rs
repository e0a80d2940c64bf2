//! Changing a task from Taskr: "Complete" and "Reopen" on the tasks page, and the edit page for
//! assignees, deadline and status. Every change goes to Attio first (`sync::task_writes`); a
//! failure is told in words and changes nothing.
//!
//! The edit form carries the values it was shown with, and only the fields the user changed
//! are sent: someone else's change in Attio to another field meanwhile is not overwritten.

use std::collections::BTreeSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::clock::Clock;
use super::{render, safe_next, Nav, Visitor};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Link, LinkStatus, User};
use crate::sync::task_writes::{can_write, update_task, WriteError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks/{task_id}/complete", post(complete))
        .route("/tasks/{task_id}/reopen", post(reopen))
        .route("/tasks/{task_id}/edit", get(edit_page).post(edit))
}

/// Where to go back to: a local path under `/tasks` only, so the form cannot send anyone away.
fn return_path(raw: Option<&str>) -> String {
    let path = safe_next(raw);
    if path == "/tasks" || path.starts_with("/tasks?") {
        path
    } else {
        "/tasks".to_owned()
    }
}

/// `path` with `notice` set as its notice (replacing one it had).
fn with_notice(path: &str, notice: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != "notice" {
            out.append_pair(&key, &value);
        }
    }
    out.append_pair("notice", notice);
    format!("{base}?{}", out.finish())
}

fn parse_task_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

/// The user's active link, or a page saying why there is nothing to change.
async fn active_link(state: &AppState, user: &User) -> Result<Link, AppError> {
    state
        .store
        .link(user.id)
        .await?
        .filter(|l| l.status == LinkStatus::Active)
        .ok_or_else(|| AppError::Forbidden("Connect Attio first.".into()))
}

/// The fields of a form body (repeated keys kept, in order).
fn fields(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn complete(
    state: State<AppState>,
    visitor: Visitor,
    Path(task_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    set_completed(state, visitor, task_id, body, true).await
}

async fn reopen(
    state: State<AppState>,
    visitor: Visitor,
    Path(task_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    set_completed(state, visitor, task_id, body, false).await
}

/// Completes or reopens a task, then goes back to the list view the button was on, with a
/// notice saying what happened.
async fn set_completed(
    State(state): State<AppState>,
    visitor: Visitor,
    task_id: String,
    body: Bytes,
    completed: bool,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/tasks")?;
    let task_id = parse_task_id(&task_id)?;
    let fields = fields(&body);
    let back = return_path(field(&fields, "return_to"));
    let link = active_link(&state, user).await?;
    let update = attio::TaskUpdate {
        is_completed: Some(completed),
        ..Default::default()
    };
    let notice = match update_task(&state.sync, &link, task_id, &update).await {
        Ok(_) if completed => "task-completed",
        Ok(_) => "task-reopened",
        Err(WriteError::Internal(e)) => return Err(AppError::Internal(e)),
        Err(e) => {
            tracing::info!(%task_id, error = %e, "a task change did not happen");
            e.code()
        }
    };
    Ok(Redirect::to(&with_notice(&back, notice)).into_response())
}

struct MemberChoice {
    id: Uuid,
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "task_edit.html")]
struct EditPage {
    nav: Nav,
    task_id: Uuid,
    content: String,
    completed: bool,
    /// `YYYY-MM-DD` for the date input; empty for none.
    deadline: String,
    members: Vec<MemberChoice>,
    /// What the form was shown with, sent back so that only changes are written.
    orig_completed: bool,
    orig_deadline: String,
    orig_assignees: String,
    time_zone: String,
    return_to: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct EditQuery {
    return_to: Option<String>,
}

/// The form's starting values for a task as cached.
fn edit_page_for(
    visitor: &Visitor,
    task: &attio::Task,
    members: &[attio::WorkspaceMember],
    clock: &Clock,
    return_to: String,
) -> EditPage {
    let assigned: BTreeSet<Uuid> = task
        .assignees
        .iter()
        .filter(|a| a.referenced_actor_type == "workspace-member")
        .filter_map(|a| a.referenced_actor_id)
        .collect();
    let deadline = task
        .deadline_at
        .as_deref()
        .and_then(|raw| clock.deadline_date(raw))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    EditPage {
        nav: Nav::new(visitor, None),
        task_id: task.id.task_id,
        content: task.content_plaintext.clone(),
        completed: task.is_completed,
        deadline: deadline.clone(),
        members: member_choices(members, &assigned),
        orig_completed: task.is_completed,
        orig_deadline: deadline,
        orig_assignees: join_ids(&assigned),
        time_zone: clock.zone().name().to_owned(),
        return_to,
        error: None,
    }
}

/// Every member who can be assigned (suspended ones only when already assigned), by name.
fn member_choices(
    members: &[attio::WorkspaceMember],
    checked: &BTreeSet<Uuid>,
) -> Vec<MemberChoice> {
    let mut choices: Vec<MemberChoice> = members
        .iter()
        .filter(|m| m.access_level != "suspended" || checked.contains(&m.id.workspace_member_id))
        .map(|m| MemberChoice {
            id: m.id.workspace_member_id,
            name: m.display_name(),
            checked: checked.contains(&m.id.workspace_member_id),
        })
        .collect();
    choices.sort_by_key(|c| c.name.to_lowercase());
    choices
}

fn join_ids(ids: &BTreeSet<Uuid>) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

async fn edit_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(task_id): Path<String>,
    Query(query): Query<EditQuery>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/tasks")?;
    let task_id = parse_task_id(&task_id)?;
    let link = active_link(&state, user).await?;
    if !can_write(&link) {
        return Err(AppError::Forbidden(WriteError::ReadOnly.to_string()));
    }
    let task = state
        .store
        .task(link.workspace_id, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let members = state.store.members(link.workspace_id).await?;
    let clock = Clock::for_user(user.time_zone.as_deref());
    let back = return_path(query.return_to.as_deref());
    render(&edit_page_for(&visitor, &task, &members, &clock, back))
}

fn parse_ids(raw: &str) -> Result<BTreeSet<Uuid>, AppError> {
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s.trim()))
        .collect::<Result<_, _>>()
        .map_err(|_| AppError::BadRequest("The form's assignees are not member ids.".into()))
}

fn parse_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("“{raw}” is not a date; use the form YYYY-MM-DD."))
}

/// Reads the form: the change it asks for, compared with what it was shown with (only that is
/// sent), or a message for the form.
fn requested(
    fields: &[(String, String)],
    clock: &Clock,
    members: &[attio::WorkspaceMember],
) -> Result<Result<attio::TaskUpdate, String>, AppError> {
    let completed = field(fields, "completed").is_some();
    let orig_completed = field(fields, "orig_completed") == Some("true");
    let deadline = field(fields, "deadline").unwrap_or_default();
    let orig_deadline = field(fields, "orig_deadline").unwrap_or_default();
    let orig_assignees = parse_ids(field(fields, "orig_assignees").unwrap_or_default())?;
    let assignees: BTreeSet<Uuid> = fields
        .iter()
        .filter(|(k, _)| k == "assignee")
        .map(|(_, v)| Uuid::parse_str(v))
        .collect::<Result<_, _>>()
        .map_err(|_| AppError::BadRequest("The form's assignees are not member ids.".into()))?;
    if let Some(unknown) = assignees
        .iter()
        .find(|id| !members.iter().any(|m| m.id.workspace_member_id == **id))
    {
        return Ok(Err(format!(
            "Member {unknown} is not in this workspace (any more); reload the page."
        )));
    }
    let new_date = match parse_date(deadline) {
        Ok(date) => date,
        Err(message) => return Ok(Err(message)),
    };
    let old_date = parse_date(orig_deadline).unwrap_or(None);
    Ok(Ok(attio::TaskUpdate {
        is_completed: (completed != orig_completed).then_some(completed),
        deadline_at: (new_date != old_date).then(|| new_date.map(|d| clock.deadline_for_date(d))),
        assignees: (assignees != orig_assignees).then(|| assignees.iter().copied().collect()),
    }))
}

async fn edit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(task_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/tasks")?;
    let task_id = parse_task_id(&task_id)?;
    let fields = fields(&body);
    let back = return_path(field(&fields, "return_to"));
    let link = active_link(&state, user).await?;
    let task = state
        .store
        .task(link.workspace_id, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let members = state.store.members(link.workspace_id).await?;
    let clock = Clock::for_user(user.time_zone.as_deref());
    // The form as the user left it, for showing it again with a message.
    let again = |message: String, status: StatusCode| {
        let mut page = edit_page_for(&visitor, &task, &members, &clock, back.clone());
        page.completed = field(&fields, "completed").is_some();
        page.deadline = field(&fields, "deadline").unwrap_or_default().to_owned();
        let ticked: BTreeSet<Uuid> = fields
            .iter()
            .filter(|(k, _)| k == "assignee")
            .filter_map(|(_, v)| Uuid::parse_str(v).ok())
            .collect();
        page.members = member_choices(&members, &ticked);
        page.orig_completed = field(&fields, "orig_completed") == Some("true");
        page.orig_deadline = field(&fields, "orig_deadline")
            .unwrap_or_default()
            .to_owned();
        page.orig_assignees = field(&fields, "orig_assignees")
            .unwrap_or_default()
            .to_owned();
        page.error = Some(message);
        let mut response = render(&page)?;
        *response.status_mut() = status;
        Ok::<Response, AppError>(response)
    };
    let update = match requested(&fields, &clock, &members)? {
        Ok(update) => update,
        Err(message) => return again(message, StatusCode::BAD_REQUEST),
    };
    if update.is_empty() {
        return Ok(Redirect::to(&with_notice(&back, "task-unchanged")).into_response());
    }
    match update_task(&state.sync, &link, task_id, &update).await {
        Ok(_) => Ok(Redirect::to(&with_notice(&back, "task-saved")).into_response()),
        Err(WriteError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e @ (WriteError::Gone | WriteError::LinkBroken)) => {
            Ok(Redirect::to(&with_notice(&back, e.code())).into_response())
        }
        Err(e) => {
            let status = match &e {
                WriteError::ReadOnly | WriteError::Denied(_) => StatusCode::FORBIDDEN,
                WriteError::Rejected(_) => StatusCode::BAD_REQUEST,
                WriteError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_GATEWAY,
            };
            again(e.to_string(), status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_task_list_is_a_place_to_return_to() {
        assert_eq!(
            return_path(Some("/tasks?filter=open&q=x")),
            "/tasks?filter=open&q=x"
        );
        assert_eq!(return_path(Some("/tasks")), "/tasks");
        assert_eq!(return_path(Some("/settings")), "/tasks");
        assert_eq!(return_path(Some("https://evil.example/tasks")), "/tasks");
        assert_eq!(return_path(Some("/tasksevil")), "/tasks");
        assert_eq!(return_path(None), "/tasks");
    }

    #[test]
    fn a_notice_replaces_the_one_the_path_had() {
        assert_eq!(
            with_notice("/tasks", "task-saved"),
            "/tasks?notice=task-saved"
        );
        assert_eq!(
            with_notice("/tasks?filter=open&notice=synced&q=a+b", "task-gone"),
            "/tasks?filter=open&q=a+b&notice=task-gone"
        );
    }

    #[test]
    fn a_form_sends_only_what_the_user_changed() {
        let clock = Clock::new(
            super::super::clock::parse_zone("Europe/Paris").unwrap(),
            chrono::Utc::now(),
        );
        let ada = Uuid::from_u128(1);
        let bob = Uuid::from_u128(2);
        let member = |id: Uuid| attio::WorkspaceMember {
            id: attio::WorkspaceMemberId {
                workspace_id: Uuid::nil(),
                workspace_member_id: id,
            },
            first_name: String::new(),
            last_name: String::new(),
            avatar_url: None,
            email_address: String::new(),
            access_level: "member".into(),
            created_at: String::new(),
        };
        let members = [member(ada), member(bob)];
        let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let shown = [
            ("orig_completed", "false"),
            ("orig_deadline", "2026-12-05"),
            ("orig_assignees", "00000000-0000-0000-0000-000000000001"),
        ];
        let unchanged = form(&[
            shown[0],
            shown[1],
            shown[2],
            ("deadline", "2026-12-05"),
            ("assignee", "00000000-0000-0000-0000-000000000001"),
        ]);
        let r = requested(&unchanged, &clock, &members).unwrap().unwrap();
        assert!(r.is_empty(), "{r:?}");

        let moved = form(&[
            shown[0],
            shown[1],
            shown[2],
            ("completed", "on"),
            ("deadline", ""),
            ("assignee", "00000000-0000-0000-0000-000000000002"),
        ]);
        let r = requested(&moved, &clock, &members).unwrap().unwrap();
        assert_eq!(r.is_completed, Some(true));
        assert_eq!(r.deadline_at, Some(None), "cleared");
        assert_eq!(r.assignees, Some(vec![bob]));

        let redated = form(&[shown[0], shown[1], shown[2], ("deadline", "2026-12-24")]);
        let r = requested(&redated, &clock, &members).unwrap().unwrap();
        assert_eq!(
            r.deadline_at,
            Some(Some("2026-12-23T23:00:00.000000000Z".to_owned())),
            "midnight in Paris"
        );
        assert_eq!(r.assignees, Some(vec![]), "unticking everyone unassigns");

        let bad_date = form(&[shown[0], shown[1], shown[2], ("deadline", "24/12/2026")]);
        assert!(requested(&bad_date, &clock, &members).unwrap().is_err());
        let stranger = form(&[
            shown[0],
            shown[1],
            shown[2],
            ("assignee", "00000000-0000-0000-0000-000000000009"),
        ]);
        assert!(requested(&stranger, &clock, &members).unwrap().is_err());
        let garbage = form(&[shown[0], shown[1], shown[2], ("assignee", "nope")]);
        assert!(requested(&garbage, &clock, &members).is_err(), "a 400");
    }
}
