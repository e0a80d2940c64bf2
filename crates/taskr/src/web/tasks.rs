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

use super::clock::{Clock, Deadline};
use super::{render, Nav, Notice, Visitor};
use crate::error::AppError;
use crate::naming::Naming;
use crate::state::AppState;
use crate::store::{CachedRecord, LinkStatus, TaskFilter, TaskQuery, TaskSort, User};
use crate::sync::health;
use crate::sync::task_writes::{can_write, WRITE_SCOPE};
use crate::sync::{self, SyncOutcome};

const PAGE_SIZE: u32 = 50;
/// The longest search text accepted (characters).
const MAX_SEARCH: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/tasks", get(tasks_page))
        .route("/tasks/sync", post(sync_now))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    filter: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

/// What a view of the list is: filter, search and order, as the URL carries them so that a view
/// can be bookmarked. Defaults are left out of the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListView {
    filter: &'static str,
    search: Option<String>,
    sort: &'static str,
}

impl ListView {
    /// The list's address with this view, on `page` (the first when `None`).
    fn href(&self, page: Option<u32>) -> String {
        self.href_with(self.filter, self.sort, page)
    }

    fn href_with(&self, filter: &str, sort: &str, page: Option<u32>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if filter != "all" {
            query.append_pair("filter", filter);
        }
        if let Some(search) = &self.search {
            query.append_pair("q", search);
        }
        if sort != SORTS[0].0 {
            query.append_pair("sort", sort);
        }
        if let Some(page) = page.filter(|p| *p > 1) {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            "/tasks".to_owned()
        } else {
            format!("/tasks?{query}")
        }
    }
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
    label: &'static str,
    href: String,
    active: bool,
}

struct SortChoice {
    key: &'static str,
    label: &'static str,
    selected: bool,
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
    id: Uuid,
    content: String,
    sequence_href: Option<String>,
    assignees: Vec<String>,
    deadline: Option<Deadline>,
    /// A deadline Taskr cannot read as a date, shown as it came.
    deadline_raw: Option<String>,
    completed: bool,
    linked_records: Vec<RecordView>,
}

/// The rows of the tasks table: rendered once for each cached page and what else they depend
/// on (the user's day and zone, whether they may change tasks), and kept with the page
/// (`read_model::Page::rendered`). Nothing in them is the user's own: the buttons submit the
/// page's one action form, which carries the CSRF token.
#[derive(Template)]
#[template(path = "task_rows.html")]
struct TaskRows {
    tasks: Vec<TaskView>,
    writable: bool,
    /// Where the edit page sends the user back to (this list view).
    return_to: String,
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
    search: String,
    sorts: Vec<SortChoice>,
    /// This view's own address (the action form returns here).
    list_href: String,
    writable: bool,
    write_scope: &'static str,
    time_zone: String,
    /// The user has no zone yet: the page's script may report the browser's.
    zone_unset: bool,
    has_tasks: bool,
    /// `TaskRows`, already rendered and escaped.
    rows: std::sync::Arc<str>,
    empty_message: &'static str,
    total: u64,
    shown_from: u64,
    shown_to: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// The orders offered, the default first.
const SORTS: [(&str, &str, TaskSort); 3] = [
    ("created", "Oldest first", TaskSort::Created),
    ("newest", "Newest first", TaskSort::Newest),
    ("deadline", "Deadline", TaskSort::Deadline),
];

const FILTERS: [(&str, &str); 4] = [
    ("all", "All"),
    ("mine", "Assigned to me"),
    ("open", "Open"),
    ("completed", "Completed"),
];

fn parse_query(query: &PageQuery) -> Result<(ListView, u32), AppError> {
    let filter = match query.filter.as_deref().unwrap_or("all") {
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
    let sort = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None => SORTS[0].0,
        Some(raw) => SORTS
            .iter()
            .find(|(key, _, _)| *key == raw)
            .map(|(key, _, _)| *key)
            .ok_or_else(|| {
                AppError::BadRequest("Unknown order; use created, newest or deadline.".into())
            })?,
    };
    let search = query
        .q
        .as_deref()
        .map(|q| q.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|q| !q.is_empty());
    if search
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH || q.chars().any(char::is_control))
    {
        return Err(AppError::BadRequest(format!(
            "The search text must be at most {MAX_SEARCH} characters, without control characters."
        )));
    }
    let page = super::parse_page(query.page.as_deref())?;
    Ok((
        ListView {
            filter,
            search,
            sort,
        },
        page,
    ))
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
    clock: &Clock,
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
    let raw_deadline = task
        .deadline_at
        .as_deref()
        .filter(|raw| !raw.trim().is_empty());
    let deadline = raw_deadline.and_then(|raw| clock.deadline(raw, task.is_completed));
    let links_person = task
        .linked_records
        .iter()
        .any(|r| r.target_object_id == "people");
    TaskView {
        id: task.id.task_id,
        sequence_href: (sequences && links_person)
            .then(|| format!("/tasks/{}/sequence", task.id.task_id)),
        content: task.content_plaintext.clone(),
        assignees,
        deadline_raw: raw_deadline
            .filter(|_| deadline.is_none())
            .map(str::to_owned),
        deadline,
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
    let (view, page) = parse_query(query)?;
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

    let filter = match view.filter {
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
                search: view.search.clone(),
                sort: SORTS
                    .iter()
                    .find(|(key, _, _)| *key == view.sort)
                    .map_or(TaskSort::Created, |(_, _, sort)| *sort),
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
    // What the rows depend on besides the page: the user's day and zone (deadlines in words),
    // whether they may change tasks, and the sequencer.
    let sequences = super::sequence::enabled(state);
    let writable = can_write(&link);
    let clock = Clock::for_user(user.time_zone.as_deref());
    let list_href = view.href(Some(page));
    let rows_key = clock.render_key((sequences, writable));
    let naming = Naming {
        app_url: &state.sync.attio.app_url,
        workspace_slug: &workspace.info.slug,
        objects: &head.objects,
    };
    let rows = list.rendered(rows_key, |list| {
        TaskRows {
            tasks: list
                .tasks
                .iter()
                .map(|t| {
                    let records = linked_records(t, &list.records, &naming);
                    task_view(t, &head.member_names, records, sequences, &clock)
                })
                .collect(),
            writable,
            return_to: list_href.clone(),
        }
        .render()
    })?;
    let page_view = TasksPage {
        nav: Nav::new(visitor, notice),
        workspace_name: workspace.info.name.clone(),
        last_synced: workspace
            .last_synced_at
            .map(|secs| clock.instant_ms(secs.saturating_mul(1000))),
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
                label,
                href: view.href_with(key, view.sort, None),
                active: *key == view.filter,
            })
            .collect(),
        filter_key: view.filter,
        search: view.search.clone().unwrap_or_default(),
        sorts: SORTS
            .iter()
            .map(|(key, label, _)| SortChoice {
                key,
                label,
                selected: *key == view.sort,
            })
            .collect(),
        list_href,
        writable,
        write_scope: WRITE_SCOPE,
        time_zone: clock.zone().name().to_owned(),
        zone_unset: user.time_zone.is_none(),
        empty_message: match view.filter {
            _ if view.search.is_some() => "No tasks match this search.",
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
        prev_href: (page > 1).then(|| view.href(Some(page - 1))),
        next_href: (u64::from(offset) + shown < list.total).then(|| view.href(Some(page + 1))),
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
    fn page_queries_are_validated() {
        let q = |filter: Option<&str>, page: Option<&str>| PageQuery {
            filter: filter.map(str::to_owned),
            page: page.map(str::to_owned),
            ..Default::default()
        };
        let parsed = |query: &PageQuery| {
            parse_query(query).map(|(view, page)| (view.filter, view.sort, view.search, page))
        };
        assert_eq!(parsed(&q(None, None)).unwrap(), ("all", "created", None, 1));
        assert_eq!(
            parsed(&q(Some("mine"), Some("3"))).unwrap(),
            ("mine", "created", None, 3)
        );
        let searched = PageQuery {
            q: Some("  call   Ada ".into()),
            sort: Some("deadline".into()),
            ..Default::default()
        };
        assert_eq!(
            parsed(&searched).unwrap(),
            ("all", "deadline", Some("call Ada".to_owned()), 1)
        );
        let blank = PageQuery {
            q: Some("   ".into()),
            ..Default::default()
        };
        assert_eq!(parsed(&blank).unwrap().2, None, "blank is no search");
        for bad in [
            PageQuery {
                sort: Some("random".into()),
                ..Default::default()
            },
            PageQuery {
                q: Some("x".repeat(MAX_SEARCH + 1)),
                ..Default::default()
            },
            PageQuery {
                q: Some("a\u{0}b".into()),
                ..Default::default()
            },
        ] {
            assert!(parse_query(&bad).is_err());
        }
        assert!(parse_query(&q(Some("everything"), None)).is_err());
        assert!(parse_query(&q(None, Some("0"))).is_err());
        assert!(parse_query(&q(None, Some("-1"))).is_err());
        assert!(parse_query(&q(None, Some("abc"))).is_err());
    }

    #[test]
    fn a_view_is_its_url_and_leaves_defaults_out() {
        let view = ListView {
            filter: "open",
            search: Some("Acme & co".into()),
            sort: "deadline",
        };
        assert_eq!(
            view.href(Some(2)),
            "/tasks?filter=open&q=Acme+%26+co&sort=deadline&page=2"
        );
        assert_eq!(
            view.href_with("all", "created", None),
            "/tasks?q=Acme+%26+co"
        );
        let plain = ListView {
            filter: "all",
            search: None,
            sort: "created",
        };
        assert_eq!(plain.href(Some(1)), "/tasks");
    }
}
