//! The web layer: one router per feature, merged here, with the layers applied once.

mod accounts;
mod activity;
mod attio;
mod client_addr;
pub mod clock;
pub mod connections;
mod deliveries;
mod live;
mod ops;
mod sequence;
pub mod session;
mod settings;
mod task_changes;
mod tasks;

use std::time::Duration;

use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{error_page, AppError};
use crate::state::AppState;
pub use client_addr::ClientAddr;
pub use session::Visitor;

/// What every page's chrome needs: who is logged in, the CSRF token, and a notice to show.
pub struct Nav {
    pub username: Option<String>,
    pub csrf_token: String,
    pub notice: Option<Notice>,
}

impl Nav {
    pub fn new(visitor: &Visitor, notice: Option<Notice>) -> Self {
        Self {
            username: visitor.user.as_ref().map(|u| u.username.clone()),
            csrf_token: visitor.csrf_token.clone(),
            notice,
        }
    }
}

/// A one-line message after a redirect. Only fixed texts chosen by code are ever shown, so a
/// crafted link cannot put words on a Taskr page.
pub struct Notice {
    pub kind: &'static str,
    pub message: &'static str,
}

impl Notice {
    pub fn from_code(code: Option<&str>) -> Option<Self> {
        let (kind, message) = match code? {
            "connected" => ("success", "Attio is connected. Here are your workspace's tasks."),
            "syncing" => ("info", "Attio is connected. The first sync is still running; reload in a moment."),
            "denied" => ("error", "You cancelled the connection at Attio, so nothing was connected."),
            "disconnected" => ("success", "Attio is disconnected and its access token was revoked."),
            "disconnected-unrevoked" => ("error", "Attio is disconnected here, but Attio could not be reached to revoke the token. You can remove Taskr's access in Attio's settings."),
            "synced" => ("success", "Tasks are up to date."),
            "sync-running" => ("info", "The sync is still running; reload in a moment."),
            "sync-failed" => ("error", "The sync failed; the details are below. Taskr shows the last good copy."),
            "broken" => ("error", "Attio no longer accepts Taskr's access. Please reconnect."),
            "logged-out" => ("success", "You are logged out."),
            "welcome" => ("success", "Your account is ready. Connect Attio to see your tasks."),
            "connection-ok" => ("success", "The connection works."),
            "connection-removed" => ("success", "The connection is removed and was revoked at the provider."),
            "connection-removed-unrevoked" => ("error", "The connection is removed here, but the provider could not be told to revoke it."),
            "enrolled" => ("success", "The contact was added to the sequence."),
            "task-completed" => ("success", "The task is completed in Attio."),
            "task-reopened" => ("success", "The task is open again in Attio."),
            "task-saved" => ("success", "The task is saved in Attio."),
            "task-unchanged" => ("info", "Nothing was changed, so nothing was sent to Attio."),
            "task-read-only" => ("error", "Taskr's access to this workspace is read-only (it lacks the task:read-write scope), so the task was not changed."),
            "task-gone" => ("error", "That task no longer exists in Attio, so it was removed from this list."),
            "task-denied" => ("error", "Attio refused the change (403 Forbidden); nothing was changed. Taskr's access may lack a permission."),
            "task-rejected" => ("error", "Attio did not accept the change; nothing was changed."),
            "task-rate-limited" => ("error", "Attio is limiting how fast Taskr may write (429 Too Many Requests); nothing was changed. Try again in a few seconds."),
            "task-attio-error" => ("error", "Attio had a problem (a 5xx error) and did not change the task; nothing was changed. Try again shortly."),
            "task-unreachable" => ("error", "Attio could not be reached, so the task was not changed. Try again shortly."),
            "task-failed" => ("error", "Taskr could not change the task; nothing was changed."),
            "settings-saved" => ("success", "Your settings are saved."),
            _ => return None,
        };
        Some(Self { kind, message })
    }
}

/// Renders an askama template into a response; a template error is a 500 like any other.
pub fn render<T: askama::Template>(template: &T) -> Result<Response, AppError> {
    let html = template.render()?;
    Ok(axum::response::Html(html).into_response())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/taskr.css"),
    )
}

async fn live_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/live.js"),
    )
}

async fn zone_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/zone.js"),
    )
}

async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "That page does not exist.".to_owned(),
    )
}

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub fn router(state: AppState) -> Router {
    let x_request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(accounts::router())
        .merge(attio::router())
        .merge(tasks::router())
        .merge(task_changes::router())
        .merge(settings::router())
        .merge(activity::router())
        .merge(live::router())
        .merge(connections::router())
        .merge(sequence::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::visitor_layer,
        ))
        // Machine-to-machine and static routes: no sessions, no CSRF.
        .merge(deliveries::router())
        .merge(ops::router())
        .route("/static/taskr.css", get(stylesheet))
        .route("/static/live.js", get(live_script))
        .route("/static/zone.js", get(zone_script))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            ops::track,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let client = request
                    .extensions()
                    .get::<ClientAddr>()
                    .map_or_else(|| "-".to_owned(), ToString::to_string);
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), %client, request_id)
            }),
        )
        // Outside the trace layer, so that the request's span names the client.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_addr::resolve,
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// A `page` query parameter: absent means 1; anything but a whole number from 1 is a 400.
pub fn parse_page(raw: Option<&str>) -> Result<u32, AppError> {
    match raw {
        None | Some("") => Ok(1),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| {
                AppError::BadRequest("The page number must be a positive whole number.".into())
            }),
    }
}

/// Accepts only local paths as a place to return to, so that a log-in link cannot send people
/// to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_log_in() {
        let cases = [
            (Some("/tasks?filter=open"), "/tasks?filter=open"),
            (Some("https://evil.example"), "/"),
            (Some("//evil.example"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("/ok\\path"), "/"),
            (Some("/line\nbreak"), "/"),
            (Some(""), "/"),
            (None, "/"),
        ];
        for (input, expected) in cases {
            assert_eq!(safe_next(input), expected, "{input:?}");
        }
    }

    #[test]
    fn unknown_notice_codes_show_nothing() {
        assert!(Notice::from_code(Some("<script>")).is_none());
        assert!(Notice::from_code(Some("denied")).is_some());
    }
}
