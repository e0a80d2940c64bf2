//! The Connections page and its actions (connect, replace, test, disconnect), the per-provider
//! OAuth callback, and the prompt shown when server code needs a connection that is missing.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::REFERRER_POLICY;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{render, safe_next, Nav, Notice, Visitor};
use crate::connections::providers::ProviderKind;
use crate::connections::{self, ConnectionRequired, Ctx, FlowError};
use crate::error::{error_page, AppError};
use crate::oauth_callback::CallbackParams;
use crate::state::AppState;
use crate::store::{ConnectionStatus, OwnerKind, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(page))
        .route("/connections/{provider}/{scope}/connect", get(connect))
        .route("/connections/{provider}/{scope}/secret", post(save_secret))
        .route(
            "/connections/{provider}/{scope}/disconnect",
            post(disconnect),
        )
        .route("/connections/{provider}/{scope}/test", post(test))
        .route("/connections/{provider}/callback", get(callback))
}

/// The connections context of a logged-in user: their workspace and whether they administer it
/// (the linked Attio member's `access_level`).
pub async fn ctx_for(state: &AppState, user: &User) -> Result<Ctx, AppError> {
    let link = state.store.link(user.id).await?;
    let is_admin = match link
        .as_ref()
        .and_then(|l| l.member_id.map(|m| (l.workspace_id, m)))
    {
        Some((workspace, member)) => state
            .store
            .members(workspace)
            .await?
            .iter()
            .any(|m| m.id.workspace_member_id == member && m.access_level == "admin"),
        None => false,
    };
    Ok(Ctx {
        user: user.id,
        workspace: link.map(|l| l.workspace_id),
        is_admin,
    })
}

/// What every per-connection action starts with: a logged-in user's context and the scope
/// (`user` or `workspace`) named in the path.
async fn scoped(
    state: &AppState,
    visitor: &Visitor,
    scope: &str,
) -> Result<(Ctx, OwnerKind), AppError> {
    let user = visitor.require_user("/connections")?;
    let scope = OwnerKind::parse(scope).ok_or(AppError::NotFound)?;
    Ok((ctx_for(state, user).await?, scope))
}

/// What a failed connection flow tells the visitor.
impl From<FlowError> for AppError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::UnknownProvider => AppError::NotFound,
            FlowError::AdminOnly | FlowError::NoWorkspace | FlowError::ScopeNotAllowed(_) => {
                AppError::Forbidden(e.to_string())
            }
            FlowError::Internal(e) => AppError::Internal(e),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "connection_required.html")]
struct PromptPage<'a> {
    nav: Nav,
    display_name: &'a str,
    reason: Option<&'a str>,
    workspace: bool,
    can_connect: bool,
    has_workspace: bool,
    connect_href: String,
}

/// The page that explains what is needed and offers "Connect <provider>", returning to
/// `return_to` afterwards.
pub fn prompt_page(visitor: &Visitor, required: &ConnectionRequired, return_to: &str) -> Response {
    let connect_href = format!(
        "/connections/{}/{}/connect?return_to={}",
        required.provider,
        required.scope.as_str(),
        form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
    );
    let page = PromptPage {
        nav: Nav::new(visitor, None),
        display_name: &required.display_name,
        reason: required.reason.as_deref(),
        workspace: required.scope == OwnerKind::Workspace,
        can_connect: required.can_connect,
        has_workspace: required.has_workspace,
        connect_href,
    };
    match render(&page) {
        Ok(mut response) => {
            *response.status_mut() = StatusCode::PRECONDITION_REQUIRED;
            response
        }
        Err(e) => e.into_response(),
    }
}

enum RowState {
    Connected {
        by: String,
        at: String,
        hint: String,
        expires: Option<String>,
    },
    NeedsReconnect {
        reason: String,
    },
    NotConnected,
}

struct Row {
    scope: &'static str,
    scope_label: &'static str,
    state: RowState,
    connected: bool,
    can_manage: bool,
    why_not: &'static str,
}

struct ProviderView {
    name: String,
    display_name: String,
    kind: &'static str,
    help: Option<String>,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    nav: Nav,
    providers: Vec<ProviderView>,
    has_workspace: bool,
}

fn format_time(ts: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/connections")?;
    let ctx = ctx_for(&state, user).await?;
    let records = state
        .store
        .connections_visible_to(ctx.user, ctx.workspace)
        .await?;
    let mut providers = Vec::new();
    for provider in state.connections.providers() {
        let mut rows = Vec::new();
        for (scope, allowed, label) in [
            (OwnerKind::User, provider.allow_user, "You"),
            (
                OwnerKind::Workspace,
                provider.allow_workspace,
                "The workspace",
            ),
        ] {
            if !allowed {
                continue;
            }
            let record = records
                .iter()
                .find(|r| r.provider == provider.name && r.owner.kind == scope);
            let state_view = match record {
                None => RowState::NotConnected,
                Some(r) if r.status == ConnectionStatus::NeedsReconnect => {
                    RowState::NeedsReconnect {
                        reason: r.status_reason.clone().unwrap_or_default(),
                    }
                }
                Some(r) => RowState::Connected {
                    by: if r.created_by == ctx.user {
                        "you".to_owned()
                    } else {
                        state
                            .store
                            .user_by_id(r.created_by)
                            .await?
                            .map(|u| u.username)
                            .unwrap_or_else(|| "a former user".to_owned())
                    },
                    at: format_time(r.created_at),
                    hint: r.hint.clone(),
                    expires: r.expires_at.map(format_time),
                },
            };
            let (can_manage, why_not) = match scope {
                OwnerKind::User => (true, ""),
                OwnerKind::Workspace if ctx.workspace.is_none() => {
                    (false, "Connect an Attio workspace first.")
                }
                OwnerKind::Workspace if !ctx.is_admin => {
                    (false, "Only workspace admins manage this.")
                }
                OwnerKind::Workspace => (true, ""),
            };
            rows.push(Row {
                scope: scope.as_str(),
                scope_label: label,
                connected: record.is_some(),
                state: state_view,
                can_manage,
                why_not,
            });
        }
        providers.push(ProviderView {
            name: provider.name.clone(),
            display_name: provider.display_name.clone(),
            kind: if provider.oauth2().is_some() {
                "OAuth 2.0"
            } else {
                "secret"
            },
            help: match &provider.kind {
                ProviderKind::Secret { help, .. } => help.clone(),
                ProviderKind::OAuth2(_) => None,
            },
            rows,
        });
    }
    render(&ConnectionsPage {
        nav: Nav::new(&visitor, Notice::from_code(q.notice.as_deref())),
        providers,
        has_workspace: ctx.workspace.is_some(),
    })
}

#[derive(Deserialize)]
struct ReturnQuery {
    return_to: Option<String>,
}

#[derive(Template)]
#[template(path = "connect_secret.html")]
struct SecretPage<'a> {
    nav: Nav,
    name: &'a str,
    scope: &'a str,
    display_name: &'a str,
    help: Option<&'a str>,
    workspace: bool,
    error: Option<String>,
    return_to: String,
}

fn secret_form(
    visitor: &Visitor,
    provider: &connections::Provider,
    scope: OwnerKind,
    return_to: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let help = match &provider.kind {
        ProviderKind::Secret { help, .. } => help.as_deref(),
        ProviderKind::OAuth2(_) => None,
    };
    render(&SecretPage {
        nav: Nav::new(visitor, None),
        name: &provider.name,
        scope: scope.as_str(),
        display_name: &provider.display_name,
        help,
        workspace: scope == OwnerKind::Workspace,
        error,
        return_to,
    })
}

async fn connect(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((name, scope)): Path<(String, String)>,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, AppError> {
    let (ctx, scope) = scoped(&state, &visitor, &scope).await?;
    let return_to = safe_next(q.return_to.as_deref().or(Some("/connections")));
    let provider = state
        .connections
        .provider(&name)
        .ok_or(AppError::NotFound)?;
    if provider.oauth2().is_none() {
        // Check the rules before showing the form (admin-only for the workspace, and so on).
        if scope == OwnerKind::Workspace && !ctx.is_admin {
            return Err(if ctx.workspace.is_none() {
                FlowError::NoWorkspace
            } else {
                FlowError::AdminOnly
            }
            .into());
        }
        return secret_form(&visitor, provider, scope, return_to, None);
    }
    let url = connections::begin_oauth(
        &state.connections,
        &ctx,
        visitor.session_hash(&state),
        &state.settings.public_url,
        &name,
        scope,
        &return_to,
    )
    .await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Deserialize)]
struct SecretForm {
    #[serde(default)]
    value: String,
    return_to: Option<String>,
}

async fn save_secret(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((name, scope)): Path<(String, String)>,
    Form(form): Form<SecretForm>,
) -> Result<Response, AppError> {
    let (ctx, scope) = scoped(&state, &visitor, &scope).await?;
    let return_to = safe_next(form.return_to.as_deref().or(Some("/connections")));
    match connections::save_secret(&state.connections, &ctx, &name, scope, &form.value).await {
        Ok(()) => Ok(Redirect::to(&return_to).into_response()),
        Err(FlowError::InvalidSecret(message)) => {
            let provider = state
                .connections
                .provider(&name)
                .ok_or(AppError::NotFound)?;
            let mut response = secret_form(&visitor, provider, scope, return_to, Some(message))?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

async fn callback(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(name): Path<String>,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result: Result<Response, AppError> = async {
        let user = visitor.require_user("/connections")?;
        let Query(params) = params
            .map_err(|_| AppError::BadRequest("The callback's parameters are malformed.".into()))?;
        let ctx = ctx_for(&state, user).await?;
        match connections::complete_oauth(
            &state.connections,
            &ctx,
            &visitor.session_hash(&state),
            &state.settings.public_url,
            &name,
            &params,
        )
        .await
        {
            Ok(return_to) => Ok(Redirect::to(&safe_next(Some(&return_to))).into_response()),
            Err(FlowError::Denied(provider)) => Ok(error_page(
                StatusCode::BAD_REQUEST,
                format!("You cancelled at {provider}, so nothing was connected."),
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn disconnect(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((name, scope)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (ctx, scope) = scoped(&state, &visitor, &scope).await?;
    let revoked = connections::disconnect(&state.connections, &ctx, &name, scope).await?;
    let notice = if revoked {
        "connection-removed"
    } else {
        "connection-removed-unrevoked"
    };
    Ok(Redirect::to(&format!("/connections?notice={notice}")).into_response())
}

/// Reads the connection as server code would (renewing it if due): proof that it works.
async fn test(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((name, scope)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (ctx, scope) = scoped(&state, &visitor, &scope).await?;
    if state.connections.provider(&name).is_none() {
        return Err(AppError::NotFound);
    }
    let result = match scope {
        OwnerKind::User => state.connections.user(&ctx, &name).await,
        OwnerKind::Workspace => state.connections.workspace(&ctx, &name).await,
    };
    result?;
    Ok(Redirect::to("/connections?notice=connection-ok").into_response())
}
