//! The console at `/`: the workspace, its members and tasks with forms to change them, a
//! trigger for every event type, the registered webhooks and recent deliveries. Changes made here
//! are made by the workspace admin and fire webhooks like any other. Works without JavaScript.

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
use crate::events::EVENT_TYPES;
use crate::store::{Store, TaskFilter, TaskSort};
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
    notice: Option<String>,
    error: Option<String>,
    members: Vec<MemberRow>,
    task_count: usize,
    tasks: Vec<TaskRow>,
    event_types: &'static [&'static str],
    webhooks: Vec<WebhookRow>,
    deliveries: Vec<DeliveryRow>,
}

async fn page(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let page = {
        let store = sandbox.store();
        build(&store, &params)
    };
    render_page(StatusCode::OK, &page)
}

fn build(store: &Store, params: &[(String, String)]) -> ConsolePage {
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

/// Back to the console with a message (303, so a reload does not post again).
fn back(outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(notice) => ("notice", notice),
        Err(error) => ("error", error),
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &text)
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
    let content = first(&form, "content")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if content.is_empty() || content.chars().count() > 2000 {
        return Ok(back(Err(
            "A task needs content of 1 to 2000 characters.".to_owned()
        )));
    }
    let assignee = first(&form, "assignee").and_then(|id| Uuid::parse_str(id).ok());
    if sandbox.create_assigned_task(&content, assignee).is_none() {
        return Ok(back(Err("That member cannot be assigned.".to_owned())));
    }
    Ok(back(Ok("Task created.".to_owned())))
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
    Ok(back(done.ok_or_else(|| {
        "That task or member does not exist.".to_owned()
    })))
}

async fn add_member(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let form = pairs(&body);
    let field = |name| first(&form, name).unwrap_or_default().trim();
    let (first_name, last_name) = (field("first_name"), field("last_name"));
    let added = sandbox.add_member(first_name, last_name, field("email_address"));
    Ok(back(added.map(|_| {
        format!("{first_name} {last_name} joined the workspace.")
    })))
}

async fn trigger(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let form = pairs(&body);
    let event_type = first(&form, "event_type").unwrap_or_default().to_owned();
    Ok(back(
        sandbox
            .trigger(&event_type)
            .map(|()| format!("Triggered {event_type}.")),
    ))
}
