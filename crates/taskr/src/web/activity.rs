//! The activity feed: every event Attio delivered for the user's workspace, newest first,
//! paged and filterable by event type; live like the tasks page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use super::{render, Nav, Visitor};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Activity, ActivityQuery};

const PAGE_SIZE: u32 = 50;

/// The filter's choices: every event type Attio sends, in alphabetical order.
static EVENT_TYPES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut types: Vec<&'static str> = attio::EventType::ALL.iter().map(|t| t.as_str()).collect();
    types.sort_unstable();
    types
});

pub fn router() -> Router<AppState> {
    Router::new().route("/activity", get(activity_page))
}

#[derive(Deserialize)]
struct ActivityParams {
    #[serde(rename = "type")]
    event_type: Option<String>,
    page: Option<String>,
}

struct EntryView {
    when: String,
    event_type: String,
    known: bool,
    actor: String,
    subject: String,
}

/// The rows of the feed: rendered once for each cached page and kept with it
/// (`read_model::Page::rendered`); nothing in them changes with the day.
#[derive(Template)]
#[template(path = "activity_rows.html")]
struct ActivityRows {
    entries: Vec<EntryView>,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    nav: Nav,
    workspace_name: String,
    event_types: &'static [&'static str],
    selected_type: Option<String>,
    type_param: String,
    has_entries: bool,
    /// `ActivityRows`, already rendered and escaped.
    rows: std::sync::Arc<str>,
    backlog_waiting: u64,
    backlog_failing: u64,
    backlog_error: Option<String>,
    total: u64,
    shown_from: u64,
    shown_to: u64,
    prev_page: Option<u32>,
    next_page: Option<u32>,
}

fn format_ms(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A member's name from a stored id (text, as Attio sent it).
fn member_name<'a>(names: &'a HashMap<Uuid, String>, id: &str) -> Option<&'a String> {
    names.get(&id.parse::<Uuid>().ok()?)
}

fn actor_name(entry: &Activity, names: &HashMap<Uuid, String>) -> String {
    match (entry.actor_type.as_deref(), entry.actor_id.as_deref()) {
        (Some("workspace-member"), Some(id)) => member_name(names, id)
            .cloned()
            .unwrap_or_else(|| format!("Member {}", short(id))),
        (Some("api-token"), _) => "An API token".to_owned(),
        (Some("app"), _) => "An app".to_owned(),
        (Some("system"), _) => "Attio".to_owned(),
        (Some(other), _) => other.to_owned(),
        (None, _) => "Unknown".to_owned(),
    }
}

fn subject_text(entry: &Activity, names: &HashMap<Uuid, String>) -> String {
    let id = entry.subject_id.as_deref().unwrap_or_default();
    match entry.subject_kind.as_deref() {
        Some("task") => match &entry.task {
            Some(task) => format!("Task “{}”", task.content_plaintext),
            None => format!("Task {} (no longer in the workspace)", short(id)),
        },
        Some("member") => match member_name(names, id) {
            Some(name) => format!("Member {name}"),
            None => format!("Member {}", short(id)),
        },
        Some(kind) => {
            let label = kind
                .strip_prefix("record:")
                .map(|object| format!("Record in {}", short(object)))
                .unwrap_or_else(|| {
                    let mut label = kind.replace('-', " ");
                    if let Some(first) = label.get_mut(..1) {
                        first.make_ascii_uppercase();
                    }
                    label
                });
            format!("{label} {}", short(id))
        }
        None => "—".to_owned(),
    }
}

async fn activity_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<ActivityParams>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/activity")?;
    // The feed of the user's workspace, also while their link is broken: it shows what is
    // waiting for a working token.
    let reads = state.coordinator.read_model();
    let store = state.store.as_ref();
    let head = match reads.link(store, user.id).await? {
        Some(link) => reads.head(store, link.workspace_id).await?,
        None => None,
    };
    let Some(head) = head else {
        return Ok(Redirect::to("/").into_response());
    };
    let workspace = &head.workspace;
    let event_type = params
        .event_type
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if let Some(t) = &event_type {
        if t.len() > 100
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(AppError::BadRequest("That is not an event type.".into()));
        }
    }
    let page = super::parse_page(params.page.as_deref())?;
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let feed = reads
        .activity(
            store,
            workspace.info.id,
            &ActivityQuery {
                event_type: event_type.clone(),
                limit: PAGE_SIZE,
                offset,
            },
        )
        .await?;
    let backlog = reads.backlog(store, workspace.info.id).await?;
    let names = &head.member_names;
    let shown = feed.entries.len() as u64;
    let rows = feed.rendered(0, |feed| {
        ActivityRows {
            entries: feed
                .entries
                .iter()
                .map(|e| EntryView {
                    when: format_ms(e.occurred_ms),
                    known: attio::EventType::parse(&e.event_type).is_known(),
                    event_type: e.event_type.clone(),
                    actor: actor_name(e, names),
                    subject: subject_text(e, names),
                })
                .collect(),
        }
        .render()
    })?;
    render(&ActivityPage {
        nav: Nav::new(&visitor, None),
        workspace_name: workspace.info.name.clone(),
        event_types: &EVENT_TYPES,
        type_param: event_type
            .as_deref()
            .map(|t| form_urlencoded::byte_serialize(t.as_bytes()).collect())
            .unwrap_or_default(),
        selected_type: event_type,
        has_entries: shown > 0,
        rows,
        backlog_waiting: backlog.waiting,
        backlog_failing: backlog.failing,
        backlog_error: backlog.last_error,
        total: feed.total,
        shown_from: if shown == 0 { 0 } else { u64::from(offset) + 1 },
        shown_to: u64::from(offset) + shown,
        prev_page: (page > 1).then(|| page - 1),
        next_page: (u64::from(offset) + shown < feed.total).then(|| page + 1),
    })
}
