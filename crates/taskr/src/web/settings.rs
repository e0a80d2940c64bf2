//! The user's settings: the time zone their pages show times in. A user who has not chosen one
//! gets their browser's (reported once by `static/zone.js`) when JavaScript is on, UTC when not.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::clock::{parse_zone, zone_names, Clock, DEFAULT_ZONE};
use super::{render, Nav, Notice, Visitor};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page).post(save))
        .route("/settings/time-zone", post(detected))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Nav,
    zones: Vec<&'static str>,
    current: String,
    chosen: bool,
    now: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Deserialize)]
struct ZoneForm {
    time_zone: String,
}

fn settings_page(
    visitor: &Visitor,
    zone: Option<&str>,
    notice: Option<Notice>,
    error: Option<String>,
) -> SettingsPage {
    let clock = Clock::for_user(zone);
    SettingsPage {
        nav: Nav::new(visitor, notice),
        zones: zone_names(),
        current: clock.zone().name().to_owned(),
        chosen: zone.is_some(),
        now: clock.instant_ms(crate::now_ms()),
        error,
    }
}

async fn page(visitor: Visitor, Query(query): Query<NoticeQuery>) -> Result<Response, AppError> {
    let user = visitor.require_user("/settings")?;
    let notice = Notice::from_code(query.notice.as_deref());
    render(&settings_page(
        &visitor,
        user.time_zone.as_deref(),
        notice,
        None,
    ))
}

/// Saves the zone chosen on the settings page; an unknown name comes back on the form.
async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ZoneForm>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/settings")?;
    let Some(zone) = parse_zone(&form.time_zone) else {
        let mut page = settings_page(
            &visitor,
            user.time_zone.as_deref(),
            None,
            Some("That is not a time zone Taskr knows; choose one from the list.".to_owned()),
        );
        page.current = user
            .time_zone
            .clone()
            .unwrap_or_else(|| DEFAULT_ZONE.name().to_owned());
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    };
    state
        .store
        .set_time_zone(user.id, Some(zone.name()))
        .await?;
    state.coordinator.user_changed(user.id);
    Ok(Redirect::to("/settings?notice=settings-saved").into_response())
}

/// The browser's zone, reported by `zone.js`: kept only while the user has none (a zone they
/// chose is never overwritten). 200 when it was kept (the page reloads to show it), 204 when
/// nothing changed, 400 for a name that is not a zone.
async fn detected(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ZoneForm>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/settings")?;
    let zone = parse_zone(&form.time_zone)
        .ok_or_else(|| AppError::BadRequest("Unknown time zone.".into()))?;
    if user.time_zone.is_some() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    state
        .store
        .set_time_zone(user.id, Some(zone.name()))
        .await?;
    state.coordinator.user_changed(user.id);
    Ok(StatusCode::OK.into_response())
}
