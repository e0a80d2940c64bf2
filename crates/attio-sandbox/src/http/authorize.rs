//! `GET/POST /authorize`: Attio's consent screen. Requests with an unverified client or redirect
//! URI get an error page and are never redirected (RFC 6749 §4.1.2.1).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use url::Url;
use uuid::Uuid;

use super::error::{render_page, PageError};
use super::extract::{first, pairs, single};
use crate::scopes::describe;
use crate::store::{AccessLevel, PendingAuthorization};
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/authorize", get(show_consent).post(answer_consent))
}

struct ScopeLine {
    name: String,
    description: &'static str,
}

struct MemberOption {
    id: String,
    name: String,
    email: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    app_name: String,
    workspace_name: String,
    scopes: Vec<ScopeLine>,
    members: Vec<MemberOption>,
    request_id: String,
    redirect_origin: String,
}

async fn show_consent(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let param =
        |name| single(&params, name).map_err(|m| PageError::bad_request("Invalid request", m));
    let (client_id, redirect_uri) = (param("client_id")?, param("redirect_uri")?);
    let (response_type, state) = (param("response_type")?, param("state")?);

    let mut store = sandbox.store();
    let app = client_id
        .and_then(|id| store.app(id))
        .cloned()
        .ok_or_else(|| {
            PageError::bad_request(
                "Unknown application",
                "No application with this client_id is registered with this workspace.",
            )
        })?;
    let redirect_uri = redirect_uri
        .filter(|uri| app.redirect_uris.iter().any(|r| r == uri))
        .ok_or_else(|| {
            PageError::bad_request(
                "Invalid redirect URI",
                "The redirect_uri is missing or is not one registered for this application.",
            )
        })?;
    let redirect_url = parse_redirect(redirect_uri)?;
    match response_type {
        Some("code") => {}
        other => {
            let error = if other.is_none() {
                "invalid_request"
            } else {
                "unsupported_response_type"
            };
            return redirect(redirect_url, &[("error", error)], state);
        }
    }

    let request_id =
        store.begin_authorization(&app.client_id, redirect_uri, state.map(str::to_owned));
    let page = ConsentPage {
        app_name: app.name,
        workspace_name: store.workspace.name.clone(),
        scopes: app
            .scopes
            .iter()
            .map(|s| ScopeLine {
                name: s.clone(),
                description: describe(s),
            })
            .collect(),
        members: store
            .members
            .iter()
            .filter(|m| m.access_level != AccessLevel::Suspended)
            .map(|m| MemberOption {
                id: m.id.to_string(),
                name: format!("{} {}", m.first_name, m.last_name),
                email: m.email.clone(),
                selected: m.access_level == AccessLevel::Admin,
            })
            .collect(),
        request_id,
        redirect_origin: redirect_url.origin().ascii_serialization(),
    };
    Ok(render_page(StatusCode::OK, &page))
}

async fn answer_consent(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = pairs(&body);
    let pending = first(&form, "request_id")
        .and_then(|id| sandbox.store().take_pending(id))
        .ok_or_else(|| {
            PageError::bad_request(
                "Request expired",
                "This authorization request is unknown, has expired or was already answered. \
                 Start again from the application.",
            )
        })?;
    let redirect_url = parse_redirect(&pending.redirect_uri)?;
    match first(&form, "decision") {
        Some("deny") => redirect(
            redirect_url,
            &[("error", "access_denied")],
            pending.state.as_deref(),
        ),
        Some("approve") => {
            let code = approve(&sandbox, &pending, first(&form, "member_id"))?;
            redirect(redirect_url, &[("code", &code)], pending.state.as_deref())
        }
        _ => Err(PageError::bad_request(
            "Invalid request",
            "The decision must be \"approve\" or \"deny\".",
        )),
    }
}

/// Issues a code for the chosen member, who must be a member who is not suspended.
fn approve(
    sandbox: &Sandbox,
    pending: &PendingAuthorization,
    member_id: Option<&str>,
) -> Result<String, PageError> {
    let mut store = sandbox.store();
    let member = member_id
        .and_then(|id| Uuid::parse_str(id).ok())
        .and_then(|id| store.member(id))
        .filter(|m| m.access_level != AccessLevel::Suspended)
        .map(|m| m.id)
        .ok_or_else(|| {
            PageError::bad_request(
                "Unknown member",
                "Choose an active member of the workspace to sign in as.",
            )
        })?;
    Ok(store.issue_code(pending, member))
}

fn parse_redirect(uri: &str) -> Result<Url, PageError> {
    Url::parse(uri).map_err(|_| {
        PageError::bad_request(
            "Invalid redirect URI",
            "The application's registered redirect_uri is not an absolute URL.",
        )
    })
}

/// A 302 to the client with `params` (and `state` if the client sent one) added to the
/// redirect URI's own query.
fn redirect(url: Url, params: &[(&str, &str)], state: Option<&str>) -> Result<Response, PageError> {
    crate::pages::redirect_to_client(url, params, state).ok_or_else(|| {
        PageError::bad_request("Invalid redirect URI", "The redirect URI cannot be used.")
    })
}
