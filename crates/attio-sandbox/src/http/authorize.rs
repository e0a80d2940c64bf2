//! `GET/POST /authorize`: Attio's consent screen. Requests with an unverified client or redirect
//! URI get an error page and are never redirected (RFC 6749 §4.1.2.1).
//!
//! The person chooses the workspace (as on Attio for a user of several) and the member to sign in
//! as, without JavaScript: a `GET` form re-renders the page for `workspace_id` (default: the
//! first workspace), and the consent form carries that `workspace_id` as a hidden field.

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

struct WorkspaceOption {
    id: String,
    name: String,
    selected: bool,
}

/// The authorization request's own parameters, echoed by the workspace selector.
struct Echo {
    name: &'static str,
    value: String,
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
    workspace_id: String,
    workspaces: Vec<WorkspaceOption>,
    echo: Vec<Echo>,
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
    let workspace_id = param("workspace_id")?;

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

    let key = match workspace_id {
        None => store.first_key(),
        Some(raw) => Uuid::parse_str(raw)
            .ok()
            .and_then(|id| store.key(id))
            .ok_or_else(unknown_workspace)?,
    };
    let chosen_id = store.at(key).workspace.id;
    let request_id = store.begin_authorization(
        &app.client_id,
        redirect_uri,
        state.map(str::to_owned),
        chosen_id,
    );
    let chosen = store.at(key);
    let echo = [
        ("client_id", client_id),
        ("redirect_uri", Some(redirect_uri)),
        ("response_type", response_type),
        ("state", state),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        value.map(|v| Echo {
            name,
            value: v.to_owned(),
        })
    })
    .collect();
    let page = ConsentPage {
        app_name: app.name,
        workspace_name: chosen.workspace.name.clone(),
        workspace_id: chosen.workspace.id.to_string(),
        workspaces: store
            .workspaces()
            .iter()
            .map(|w| WorkspaceOption {
                id: w.workspace.id.to_string(),
                name: w.workspace.name.clone(),
                selected: w.workspace.id == chosen.workspace.id,
            })
            .collect(),
        echo,
        scopes: app
            .scopes
            .iter()
            .map(|s| ScopeLine {
                name: s.clone(),
                description: describe(s),
            })
            .collect(),
        members: chosen
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
            let code = approve(
                &sandbox,
                &pending,
                first(&form, "workspace_id"),
                first(&form, "member_id"),
            )?;
            redirect(redirect_url, &[("code", &code)], pending.state.as_deref())
        }
        _ => Err(PageError::bad_request(
            "Invalid request",
            "The decision must be \"approve\" or \"deny\".",
        )),
    }
}

/// Issues a code for the chosen member of the chosen workspace (when the form names none, the
/// one the page was rendered for), who must be a member of that workspace who is not suspended.
fn approve(
    sandbox: &Sandbox,
    pending: &PendingAuthorization,
    workspace_id: Option<&str>,
    member_id: Option<&str>,
) -> Result<String, PageError> {
    let mut store = sandbox.store();
    let key = match workspace_id {
        None => store.key(pending.workspace_id),
        Some(raw) => Uuid::parse_str(raw).ok().and_then(|id| store.key(id)),
    }
    .ok_or_else(unknown_workspace)?;
    let chosen = store.at(key);
    let workspace = chosen.workspace.id;
    let member = member_id
        .and_then(|id| Uuid::parse_str(id).ok())
        .and_then(|id| chosen.member(id))
        .filter(|m| m.access_level != AccessLevel::Suspended)
        .map(|m| m.id)
        .ok_or_else(|| {
            PageError::bad_request(
                "Unknown member",
                "Choose an active member of the workspace to sign in as.",
            )
        })?;
    Ok(store.issue_code(pending, workspace, member))
}

fn unknown_workspace() -> PageError {
    PageError::bad_request(
        "Unknown workspace",
        "No workspace with this workspace_id exists in this Attio.",
    )
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
