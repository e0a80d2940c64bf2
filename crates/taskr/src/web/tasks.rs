//! The home page and the tasks page, served from Taskr's cache (never a blocking call to Attio
//! per page view), and "Sync now".

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use super::{render, Nav, Notice, Visitor};
use crate::error::AppError;
use crate::naming::Naming;
use crate::state::AppState;
use crate::store::{CachedRecord, LinkStatus, TaskFilter, TaskQuery, User};
use crate::sync::health;
use crate::sync::{self, SyncOutcome};

const PAGE_SIZE: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/tasks", get(tasks_page))
        .route("/tasks/sync", post(sync_now))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    filter: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
}

#[derive(Template)]
#[template(path = "connect.html")]
struct ConnectPage {
    nav: Nav,
    username: String,
    broken_reason: Option<String>,
}

struct FilterLink {
    key: &'static str,
    label: &'static str,
    active: bool,
}

/// A linked record: "Initech · Company", linked into Attio, or said to be deleted.
struct RecordView {
    label: String,
    href: Option<String>,
    /// "(deleted in Attio)", "(merged)".
    note: Option<&'static str>,
    id: String,
}

struct TaskView {
    content: String,
    sequence_href: Option<String>,
    assignees: Vec<String>,
    deadline: Option<String>,
    overdue: bool,
    completed: bool,
    linked_records: Vec<RecordView>,
}

/// The rows of the tasks table: rendered once for each cached page and day, and kept with
/// the page (`read_model::Page::rendered`).
#[derive(Template)]
#[template(path = "task_rows.html")]
struct TaskRows {
    tasks: Vec<TaskView>,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    nav: Nav,
    workspace_name: String,
    last_synced: Option<String>,
    /// "Taskr reconciles every …" when the last sync is older than that.
    sync_stale: Option<String>,
    sync_error: Option<String>,
    webhook_note: Option<String>,
    live_status: String,
    /// Whether `live_status` is a warning (changes are delayed).
    live_delayed: bool,
    filters: Vec<FilterLink>,
    filter_key: &'static str,
    has_tasks: bool,
    /// `TaskRows`, already rendered and escaped.
    rows: std::sync::Arc<str>,
    empty_message: &'static str,
    total: u64,
    shown_from: u64,
    shown_to: u64,
    prev_page: Option<u32>,
    next_page: Option<u32>,
}

const FILTERS: [(&str, &str); 4] = [
    ("all", "All"),
    ("mine", "Assigned to me"),
    ("open", "Open"),
    ("completed", "Completed"),
];

fn parse_query(query: &PageQuery) -> Result<(&'static str, u32), AppError> {
    let key = match query.filter.as_deref().unwrap_or("all") {
        "" | "all" => "all",
        "mine" => "mine",
        "open" => "open",
        "completed" => "completed",
        _ => {
            return Err(AppError::BadRequest(
                "Unknown filter; use all, mine, open or completed.".into(),
            ))
        }
    };
    let page = super::parse_page(query.page.as_deref())?;
    Ok((key, page))
}

fn format_unix(ts: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "at an unknown time".to_owned())
}

/// Deadlines come as a date or a timestamp; both show as a date, and a past one is overdue.
fn format_deadline(raw: &str, completed: bool, today: time::Date) -> (String, bool) {
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let shown = time::macros::format_description!("[month repr:short] [day padding:none], [year]");
    match raw
        .get(..10)
        .and_then(|d| time::Date::parse(d, &date_format).ok())
    {
        Some(date) => (
            date.format(&shown).unwrap_or_else(|_| raw.to_owned()),
            !completed && date < today,
        ),
        None => (raw.to_owned(), false),
    }
}

/// The records a task links, named from the cache (read with the page).
fn linked_records(
    task: &attio::Task,
    records: &HashMap<Uuid, CachedRecord>,
    naming: &Naming<'_>,
) -> Vec<RecordView> {
    task.linked_records
        .iter()
        .map(|link| {
            let id = link.target_record_id;
            let view = naming.record(&link.target_object_id, id, records.get(&id));
            RecordView {
                label: view.label(),
                note: view.note(),
                href: view.href,
                id: id.to_string(),
            }
        })
        .collect()
}

fn task_view(
    task: &attio::Task,
    names: &HashMap<Uuid, String>,
    records: Vec<RecordView>,
    sequences: bool,
    today: time::Date,
) -> TaskView {
    let assignees = task
        .assignees
        .iter()
        .map(
            |a| match (a.referenced_actor_type.as_str(), a.referenced_actor_id) {
                ("workspace-member", Some(id)) => names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "Unknown member".to_owned()),
                ("api-token", _) => "An API token".to_owned(),
                ("app", _) => "An app".to_owned(),
                (other, _) => other.to_owned(),
            },
        )
        .collect();
    let (deadline, overdue) = match task.deadline_at.as_deref() {
        Some(raw) if !raw.is_empty() => {
            let (shown, overdue) = format_deadline(raw, task.is_completed, today);
            (Some(shown), overdue)
        }
        _ => (None, false),
    };
    let links_person = task
        .linked_records
        .iter()
        .any(|r| r.target_object_id == "people");
    TaskView {
        sequence_href: (sequences && links_person)
            .then(|| format!("/tasks/{}/sequence", task.id.task_id)),
        content: task.content_plaintext.clone(),
        assignees,
        deadline,
        overdue,
        completed: task.is_completed,
        linked_records: records,
    }
}

async fn home(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let notice = Notice::from_code(query.notice.as_deref());
    match &visitor.user {
        None => render(&HomePage {
            nav: Nav::new(&visitor, notice),
        }),
        Some(user) => user_home(&state, &visitor, user, &query, notice).await,
    }
}

async fn tasks_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/tasks")?;
    let notice = Notice::from_code(query.notice.as_deref());
    user_home(&state, &visitor, user, &query, notice).await
}

/// A logged-in user's page: the connect prompt, the reconnect prompt, or the tasks.
async fn user_home(
    state: &AppState,
    visitor: &Visitor,
    user: &User,
    query: &PageQuery,
    notice: Option<Notice>,
) -> Result<Response, AppError> {
    let (filter_key, page) = parse_query(query)?;
    let reads = state.coordinator.read_model();
    let store = state.store.as_ref();
    let link = reads.link(store, user.id).await?;
    let head = match &link {
        Some(link) => reads.head(store, link.workspace_id).await?,
        None => None,
    };
    let (link, head) = match (link, head) {
        (Some(link), Some(head)) if link.status == LinkStatus::Active => (link, head),
        (link, _) => {
            return render(&ConnectPage {
                nav: Nav::new(visitor, notice),
                username: user.username.clone(),
                broken_reason: link.and_then(|l| {
                    (l.status == LinkStatus::Broken).then(|| {
                        l.broken_reason
                            .clone()
                            .unwrap_or_else(|| "Attio no longer accepts the token.".into())
                    })
                }),
            })
        }
    };
    let workspace = &head.workspace;

    let filter = match filter_key {
        "open" => TaskFilter::Open,
        "completed" => TaskFilter::Completed,
        // A user whose member is unknown has, by definition, nothing assigned.
        "mine" => TaskFilter::AssignedTo(link.member_id.unwrap_or(Uuid::nil())),
        _ => TaskFilter::All,
    };
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let list = reads
        .tasks(
            store,
            link.workspace_id,
            &TaskQuery {
                filter,
                limit: PAGE_SIZE,
                offset,
            },
        )
        .await?;
    let now_ms = crate::now_ms();
    let inbox = reads
        .inbox_health(store, link.workspace_id, now_ms, health::LATE_AFTER_MS)
        .await?;
    let interval = state.settings.reconcile_interval;
    let health = health::assess(workspace, &inbox, interval, now_ms);
    let webhook_status = match head.webhook_status.as_deref() {
        Some(status) => match status {
            "active" => "Live updates are on.".to_owned(),
            "degraded" => "Attio reports that deliveries to Taskr are failing (webhook degraded); \
                           Taskr reconciles periodically meanwhile."
                .to_owned(),
            other => format!("Attio reports the webhook as {other}; Taskr will re-create it."),
        },
        None => "Live updates start once Taskr's webhook is registered.".to_owned(),
    };
    let live_delayed = health.delayed.is_some();
    let live_status = health.delayed.unwrap_or(webhook_status);
    let shown = list.tasks.len() as u64;
    // What the rows depend on besides the page: the day (overdue or not) and the sequencer.
    let sequences = super::sequence::enabled(state);
    let today = time::OffsetDateTime::now_utc().date();
    let naming = Naming {
        app_url: &state.sync.attio.app_url,
        workspace_slug: &workspace.info.slug,
        objects: &head.objects,
    };
    let rows = list.rendered(
        i64::from(today.to_julian_day()) * 2 + i64::from(sequences),
        |list| {
            TaskRows {
                tasks: list
                    .tasks
                    .iter()
                    .map(|t| {
                        let records = linked_records(t, &list.records, &naming);
                        task_view(t, &head.member_names, records, sequences, today)
                    })
                    .collect(),
            }
            .render()
        },
    )?;
    let page_view = TasksPage {
        nav: Nav::new(visitor, notice),
        workspace_name: workspace.info.name.clone(),
        last_synced: workspace.last_synced_at.map(format_unix),
        sync_stale: health.sync_stale.then(|| {
            format!(
                "older than the reconcile interval (Taskr reconciles every {})",
                health::interval_words(interval)
            )
        }),
        sync_error: workspace.sync_error.clone(),
        webhook_note: workspace.webhook_note.clone(),
        live_status,
        live_delayed,
        filters: FILTERS
            .iter()
            .map(|(key, label)| FilterLink {
                key,
                label,
                active: *key == filter_key,
            })
            .collect(),
        filter_key,
        empty_message: match filter_key {
            "mine" => "No tasks are assigned to you.",
            "open" => "No open tasks. Nice.",
            "completed" => "No completed tasks yet.",
            _ if workspace.last_synced_at.is_none() => {
                "Tasks will appear when the first sync finishes."
            }
            _ => "This workspace has no tasks.",
        },
        has_tasks: shown > 0,
        rows,
        total: list.total,
        shown_from: if shown == 0 { 0 } else { u64::from(offset) + 1 },
        shown_to: u64::from(offset) + shown,
        prev_page: (page > 1).then(|| page - 1),
        next_page: (u64::from(offset) + shown < list.total).then(|| page + 1),
    };
    render(&page_view)
}

async fn sync_now(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let user = visitor.require_user("/tasks")?;
    let notice = match sync::sync_and_wait(&state.sync, user.id).await {
        Some(Ok(SyncOutcome::Synced { .. })) => "synced",
        Some(Ok(SyncOutcome::LinkBroken)) => "broken",
        Some(Ok(SyncOutcome::Failed(_))) => "sync-failed",
        Some(Ok(SyncOutcome::NotLinked)) => return Ok(Redirect::to("/").into_response()),
        Some(Err(e)) => return Err(e.into()),
        None => "sync-running",
    };
    Ok(Redirect::to(&format!("/tasks?notice={notice}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_show_as_dates_and_past_open_ones_are_overdue() {
        let today = time::macros::date!(2026 - 12 - 01);
        assert_eq!(
            format_deadline("2023-01-01", false, today),
            ("Jan 1, 2023".to_owned(), true)
        );
        assert_eq!(
            format_deadline("2023-01-01T15:00:00.000000000Z", true, today),
            ("Jan 1, 2023".to_owned(), false)
        );
        assert!(!format_deadline("2999-12-31", false, today).1);
        assert!(!format_deadline("2026-12-01", false, today).1, "due today");
        assert!(format_deadline("2026-11-30", false, today).1);
        assert_eq!(
            format_deadline("soon", false, today),
            ("soon".to_owned(), false)
        );
    }

    #[test]
    fn page_queries_are_validated() {
        let q = |filter: Option<&str>, page: Option<&str>| PageQuery {
            filter: filter.map(str::to_owned),
            page: page.map(str::to_owned),
            notice: None,
        };
        assert_eq!(parse_query(&q(None, None)).unwrap(), ("all", 1));
        assert_eq!(
            parse_query(&q(Some("mine"), Some("3"))).unwrap(),
            ("mine", 3)
        );
        assert!(parse_query(&q(Some("everything"), None)).is_err());
        assert!(parse_query(&q(None, Some("0"))).is_err());
        assert!(parse_query(&q(None, Some("-1"))).is_err());
        assert!(parse_query(&q(None, Some("abc"))).is_err());
    }
}
