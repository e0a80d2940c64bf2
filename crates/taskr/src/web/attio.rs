//! The Attio link pages: start the OAuth flow, take Attio's answer, disconnect.

use axum::extract::{Query, State};
use axum::http::header::REFERRER_POLICY;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::Visitor;
use crate::attio_link::{self, CallbackParams, LinkError};
use crate::error::AppError;
use crate::state::AppState;
use crate::sync::{self, SyncOutcome};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/integrations/attio/connect", get(connect))
        .route("/integrations/attio/callback", get(callback))
        .route("/integrations/attio/disconnect", post(disconnect))
}

async fn connect(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let user = visitor.require_user("/integrations/attio/connect")?;
    let url = attio_link::begin(&state.sync, user.id, visitor.session_hash(&state)).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// What a failed link tells the visitor.
impl From<LinkError> for AppError {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Attio(attio::AttioError::OAuth(detail)) => AppError::BadRequest(format!(
                "Attio refused the authorization ({detail}). Start again from Taskr."
            )),
            LinkError::Attio(e) => {
                tracing::warn!(error = %e, "Attio call failed while linking");
                AppError::Upstream(
                    "Taskr could not complete the connection with Attio. Please try again."
                        .to_owned(),
                )
            }
            LinkError::Store(e) => e.into(),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// Attio's redirect back. The URL carries a code, so the page must never leak it as a referrer.
async fn callback(
    State(state): State<AppState>,
    visitor: Visitor,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let mut response = match callback_inner(&state, &visitor, params).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn callback_inner(
    state: &AppState,
    visitor: &Visitor,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/")?;
    let Query(params) = params
        .map_err(|_| AppError::BadRequest("The callback's parameters are malformed.".into()))?;
    match attio_link::complete(&state.sync, user.id, &visitor.session_hash(state), params).await {
        Ok(_) => {}
        Err(LinkError::Denied) => return Ok(Redirect::to("/?notice=denied").into_response()),
        Err(error) => return Err(error.into()),
    }
    let notice = match sync::sync_and_wait(&state.sync, user.id).await {
        Some(Ok(SyncOutcome::Synced { .. })) => "connected",
        Some(Ok(SyncOutcome::LinkBroken)) => "broken",
        Some(Ok(SyncOutcome::Failed(_))) => "sync-failed",
        Some(Ok(SyncOutcome::NotLinked)) => "connected",
        Some(Err(e)) => return Err(e.into()),
        None => "syncing",
    };
    Ok(Redirect::to(&format!("/?notice={notice}")).into_response())
}

async fn disconnect(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let user = visitor.require_user("/")?;
    let revoked = attio_link::disconnect(&state.sync, user.id).await?;
    let notice = if revoked {
        "disconnected"
    } else {
        "disconnected-unrevoked"
    };
    Ok(Redirect::to(&format!("/?notice={notice}")).into_response())
}
