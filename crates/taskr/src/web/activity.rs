//! The activity feed: every event Attio delivered for the user's workspace, newest first, each
//! told in a sentence (`crate::feed`) with its records linked into Attio; paged, filterable by
//! event family and by member (both kept in the URL; `?type=` links from before still filter
//! by one event type); live like the tasks page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use super::clock::Clock;
use super::{render, Nav, Visitor};
use crate::error::AppError;
use crate::feed::{self, Part};
use crate::naming::Naming;
use crate::state::AppState;
use crate::store::{ActivityQuery, EventFamily};

const PAGE_SIZE: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/activity", get(activity_page))
}

#[derive(Deserialize)]
struct ActivityParams {
    #[serde(rename = "type")]
    event_type: Option<String>,
    family: Option<String>,
    member: Option<String>,
    page: Option<String>,
}

/// A piece of a sentence: text, linked when it is a record Attio still has.
struct PartView {
    text: String,
    href: Option<String>,
}

struct EntryView {
    when: String,
    event_type: String,
    known: bool,
    parts: Vec<PartView>,
}

/// The rows of the feed: rendered once for each cached page and kept with it
/// (`read_model::Page::rendered`); nothing in them changes with the day.
#[derive(Template)]
#[template(path = "activity_rows.html")]
struct ActivityRows {
    entries: Vec<EntryView>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    nav: Nav,
    workspace_name: String,
    families: Vec<Choice>,
    members: Vec<Choice>,
    /// An exact event type from a link made before families (kept as the filter it was).
    event_type: Option<String>,
    /// The filters, URL-encoded, for the paging links.
    filter_query: String,
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

/// The filters of a request, checked: what is not one of the choices is a 400 saying so.
fn parse_filters(params: &ActivityParams) -> Result<ActivityQuery, AppError> {
    let given = |raw: &Option<String>| {
        raw.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let event_type = given(&params.event_type);
    if let Some(t) = &event_type {
        if t.len() > 100
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(AppError::BadRequest("That is not an event type.".into()));
        }
    }
    let family = match given(&params.family) {
        None => None,
        Some(raw) => Some(EventFamily::parse(&raw).ok_or_else(|| {
            let known: Vec<&str> = EventFamily::ALL.iter().map(|f| f.as_str()).collect();
            AppError::BadRequest(format!(
                "Unknown event family; use one of {}.",
                known.join(", ")
            ))
        })?),
    };
    let actor = match given(&params.member) {
        None => None,
        Some(raw) => Some(
            Uuid::parse_str(&raw)
                .map_err(|_| AppError::BadRequest("That is not a member id.".into()))?,
        ),
    };
    Ok(ActivityQuery {
        event_type,
        family,
        actor,
        limit: PAGE_SIZE,
        offset: 0,
    })
}

/// The filters as a query string (without the page).
fn filter_query(query: &ActivityQuery) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Some(family) = query.family {
        out.append_pair("family", family.as_str());
    }
    if let Some(actor) = query.actor {
        out.append_pair("member", &actor.to_string());
    }
    if let Some(event_type) = &query.event_type {
        out.append_pair("type", event_type);
    }
    out.finish()
}

/// The member filter's choices: every cached member, by name.
fn member_choices(names: &HashMap<Uuid, String>, selected: Option<Uuid>) -> Vec<Choice> {
    let mut members: Vec<(&Uuid, &String)> = names.iter().collect();
    members.sort_by(|a, b| {
        a.1.to_lowercase()
            .cmp(&b.1.to_lowercase())
            .then(a.0.cmp(b.0))
    });
    members
        .into_iter()
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: name.clone(),
            selected: Some(*id) == selected,
        })
        .collect()
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
    let mut query = parse_filters(&params)?;
    let page = super::parse_page(params.page.as_deref())?;
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    query.offset = offset;
    let feed = reads.activity(store, workspace.info.id, &query).await?;
    let backlog = reads.backlog(store, workspace.info.id).await?;
    let shown = feed.entries.len() as u64;
    let naming = Naming {
        app_url: &state.sync.attio.app_url,
        workspace_slug: &workspace.info.slug,
        objects: &head.objects,
    };
    // The rows depend on the page and on the zone times are shown in.
    let clock = Clock::for_user(user.time_zone.as_deref());
    let rows = feed.rendered(clock.render_key(()), |feed| {
        let cx = feed::Context {
            members: &head.member_names,
            names: &feed.names,
            naming: &naming,
        };
        ActivityRows {
            entries: feed
                .entries
                .iter()
                .map(|e| EntryView {
                    when: clock.instant_ms(e.occurred_ms),
                    known: attio::EventType::parse(&e.event_type).is_known(),
                    event_type: e.event_type.clone(),
                    parts: feed::sentence(e, &cx)
                        .0
                        .iter()
                        .map(|part| PartView {
                            text: part.text(),
                            href: match part {
                                Part::Record { view, .. } => view.href.clone(),
                                Part::Text(_) => None,
                            },
                        })
                        .collect(),
                })
                .collect(),
        }
        .render()
    })?;
    render(&ActivityPage {
        nav: Nav::new(&visitor, None),
        workspace_name: workspace.info.name.clone(),
        families: EventFamily::ALL
            .iter()
            .map(|f| Choice {
                value: f.as_str().to_owned(),
                label: f.label().to_owned(),
                selected: query.family == Some(*f),
            })
            .collect(),
        members: member_choices(&head.member_names, query.actor),
        filter_query: filter_query(&query),
        event_type: query.event_type.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(family: Option<&str>, member: Option<&str>, t: Option<&str>) -> ActivityParams {
        ActivityParams {
            event_type: t.map(str::to_owned),
            family: family.map(str::to_owned),
            member: member.map(str::to_owned),
            page: None,
        }
    }

    #[test]
    fn filters_are_checked_and_kept_in_the_url() {
        let member = Uuid::from_u128(5);
        let query = parse_filters(&params(Some("note"), Some(&member.to_string()), None)).unwrap();
        assert_eq!(query.family, Some(EventFamily::Note));
        assert_eq!(query.actor, Some(member));
        assert_eq!(filter_query(&query), format!("family=note&member={member}"));
        let old = parse_filters(&params(None, Some(""), Some("task.created"))).unwrap();
        assert_eq!(old.event_type.as_deref(), Some("task.created"));
        assert_eq!(filter_query(&old), "type=task.created");
        for (what, bad) in [
            ("an unknown family", params(Some("notes"), None, None)),
            (
                "a member that is not an id",
                params(None, Some("alice"), None),
            ),
            ("a type with markup", params(None, None, Some("<script>"))),
        ] {
            assert!(parse_filters(&bad).is_err(), "{what}");
        }
    }
}
