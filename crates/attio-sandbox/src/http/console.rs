//! The console at `/`: a workspace selector (`?workspace_id=`, the first by default), the
//! workspace's members and tasks with forms to change them, a trigger for every event type, its
//! webhooks and recent deliveries. Changes made here are made by the workspace's admin and fire
//! webhooks like any other. Works without JavaScript: every form carries `workspace_id`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{render_page, ApiError};
use super::extract::{first, pairs, path_pair};
use super::workspaces::chosen_workspace;
use crate::events::EVENT_TYPES;
use crate::store::{TaskFilter, TaskSort, WorkspaceStore};
use crate::timestamp::format;
use crate::Sandbox;

/// How many tasks and deliveries the page shows.
const SHOWN: usize = 25;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/", get(page))
        .route("/_sandbox/console/tasks", post(create_task))
        .route(
            "/_sandbox/console/tasks/{task_id}/{action}",
            post(change_task),
        )
        .route("/_sandbox/console/members", post(add_member))
        .route("/_sandbox/console/trigger", post(trigger))
}

struct WorkspaceOption {
    id: String,
    name: String,
    selected: bool,
}

struct MemberRow {
    id: String,
    name: String,
    email: String,
    access_level: &'static str,
}

struct TaskRow {
    id: String,
    content: String,
    assignees: String,
    is_completed: bool,
    created_at: String,
}

struct WebhookRow {
    id: String,
    target_url: String,
    event_types: String,
    status: &'static str,
}

struct DeliveryRow {
    at: String,
    webhook_id: String,
    event_type: String,
    attempt: u32,
    outcome: String,
    latency_ms: u128,
    succeeded: bool,
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    workspace_name: String,
    workspace_slug: String,
    workspace_id: String,
    workspaces: Vec<WorkspaceOption>,
    notice: Option<String>,
    error: Option<String>,
    members: Vec<MemberRow>,
    task_count: usize,
    tasks: Vec<TaskRow>,
    event_types: &'static [&'static str],
    webhooks: Vec<WebhookRow>,
    deliveries: Vec<DeliveryRow>,
}

async fn page(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = pairs(query.as_deref().unwrap_or_default().as_bytes());
    // Listed before the chosen workspace is locked: the lock is not re-entrant.
    let all = sandbox.workspaces();
    let page = {
        let store = chosen_workspace(&sandbox, query.as_deref(), None)?;
        let workspaces = all
            .into_iter()
            .map(|w| WorkspaceOption {
                selected: w.id == store.workspace.id,
                id: w.id.to_string(),
                name: w.name,
            })
            .collect();
        build(&store, workspaces, &params)
    };
    Ok(render_page(StatusCode::OK, &page))
}

fn build(
    store: &WorkspaceStore,
    workspaces: Vec<WorkspaceOption>,
    params: &[(String, String)],
) -> ConsolePage {
    let member_name = |id: Uuid| {
        store.member(id).map_or_else(
            || id.to_string(),
            |m| format!("{} {}", m.first_name, m.last_name),
        )
    };
    let tasks = store
        .list_tasks(&TaskFilter::default(), TaskSort::CreatedDesc, 0, SHOWN)
        .into_iter()
        .map(|t| TaskRow {
            id: t.id.to_string(),
            assignees: t
                .assignees
                .iter()
                .map(|a| member_name(*a))
                .collect::<Vec<_>>()
                .join(", "),
            content: t.content,
            is_completed: t.is_completed,
            created_at: format(t.created_at)
                .get(..16)
                .unwrap_or_default()
                .replace('T', " "),
        })
        .collect();
    let webhooks = store
        .webhooks
        .iter()
        .map(|w| WebhookRow {
            id: w.id.to_string(),
            target_url: w.target_url.clone(),
            event_types: w
                .subscriptions
                .iter()
                .map(|s| s.event_type)
                .collect::<Vec<_>>()
                .join(", "),
            status: store.webhook_status_now(w).as_str(),
        })
        .collect();
    let deliveries = store
        .delivery
        .recent(SHOWN)
        .into_iter()
        .map(|(webhook_id, a)| DeliveryRow {
            at: time_of_day(OffsetDateTime::from(a.at)),
            webhook_id: webhook_id.to_string()[..8].to_owned(),
            outcome: match (a.status, &a.error) {
                (Some(code), _) => code.to_string(),
                (None, Some(error)) => error.clone(),
                (None, None) => String::new(),
            },
            event_type: a.event_type,
            attempt: a.attempt,
            latency_ms: a.latency.as_millis(),
            succeeded: a.succeeded,
        })
        .collect();
    ConsolePage {
        workspace_name: store.workspace.name.clone(),
        workspace_slug: store.workspace.slug.clone(),
        workspace_id: store.workspace.id.to_string(),
        workspaces,
        notice: first(params, "notice").map(str::to_owned),
        error: first(params, "error").map(str::to_owned),
        members: store
            .members
            .iter()
            .map(|m| MemberRow {
                id: m.id.to_string(),
                name: format!("{} {}", m.first_name, m.last_name),
                email: m.email.clone(),
                access_level: m.access_level.as_str(),
            })
            .collect(),
        task_count: store.task_count(),
        tasks,
        event_types: &EVENT_TYPES,
        webhooks,
        deliveries,
    }
}

/// `HH:MM:SS.mmm` of a timestamp.
fn time_of_day(at: OffsetDateTime) -> String {
    format(at).get(11..23).unwrap_or_default().to_owned()
}

/// A form post from another site (a page in the same browser) must not drive the console.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let cross_site = header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none");
    let foreign_origin = match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => origin != format!("http://{host}"),
        (Some(_), None) => true,
        _ => false,
    };
    if cross_site || foreign_origin {
        return Err(ApiError::forbidden(
            "Console forms only accept posts from the console itself.",
        ));
    }
    Ok(())
}

/// The form's `workspace_id` (the first workspace when absent); an unknown one is a 404.
fn form_workspace(sandbox: &Sandbox, form: &[(String, String)]) -> Result<Uuid, ApiError> {
    match first(form, "workspace_id") {
        None => Ok(sandbox.workspace_id()),
        Some(raw) => Uuid::parse_str(raw)
            .ok()
            .filter(|id| sandbox.workspace_ids().contains(id))
            .ok_or_else(|| ApiError::not_found("No workspace with this workspace_id.")),
    }
}

/// Back to the console's workspace with a message (303, so a reload does not post again).
fn back(workspace_id: Uuid, outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(notice) => ("notice", notice),
        Err(error) => ("error", error),
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &text)
        .append_pair("workspace_id", &workspace_id.to_string())
        .finish();
    let location =
        HeaderValue::from_str(&format!("/?{query}")).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

async fn create_task(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let form = pairs(&body);
    let workspace = form_workspace(&sandbox, &form)?;
    let content = first(&form, "content")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if content.is_empty() || content.chars().count() > 2000 {
        return Ok(back(
            workspace,
            Err("A task needs content of 1 to 2000 characters.".to_owned()),
        ));
    }
    let assignee = first(&form, "assignee").and_then(|id| Uuid::parse_str(id).ok());
    if sandbox
        .create_assigned_task(workspace, &content, assignee)
        .is_none()
    {
        return Ok(back(
            workspace,
            Err("That member cannot be assigned.".to_owned()),
        ));
    }
    Ok(back(workspace, Ok("Task created.".to_owned())))
}

async fn change_task(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let (task, action) = path_pair(path);
    // An unreadable id becomes the nil UUID, which no task has.
    let task = Uuid::parse_str(&task).unwrap_or_default();
    let form = pairs(&body);
    let workspace = form_workspace(&sandbox, &form)?;
    // The typed helpers find a task in any workspace; the console acts only in the shown one.
    let task = if sandbox.task_ids_in(workspace).contains(&task) {
        task
    } else {
        Uuid::nil()
    };
    let done = match action.as_str() {
        "complete" => sandbox
            .complete_task(task)
            .then(|| "Task completed.".to_owned()),
        "delete" => sandbox
            .delete_task(task)
            .then(|| "Task deleted.".to_owned()),
        "assign" => {
            let member = first(&form, "member_id").and_then(|id| Uuid::parse_str(id).ok());
            sandbox
                .assign_task(task, member)
                .then(|| "Task reassigned.".to_owned())
        }
        _ => return Err(ApiError::not_found("No such console action.")),
    };
    Ok(back(
        workspace,
        done.ok_or_else(|| "That task or member does not exist.".to_owned()),
    ))
}

async fn add_member(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let form = pairs(&body);
    let workspace = form_workspace(&sandbox, &form)?;
    let field = |name| first(&form, name).unwrap_or_default().trim();
    let (first_name, last_name) = (field("first_name"), field("last_name"));
    let added = sandbox.add_member_in(workspace, first_name, last_name, field("email_address"));
    Ok(back(
        workspace,
        added.map(|_| format!("{first_name} {last_name} joined the workspace.")),
    ))
}

async fn trigger(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let form = pairs(&body);
    let workspace = form_workspace(&sandbox, &form)?;
    let event_type = first(&form, "event_type").unwrap_or_default().to_owned();
    Ok(back(
        workspace,
        sandbox
            .trigger_in(workspace, &event_type)
            .map(|()| format!("Triggered {event_type}.")),
    ))
}
