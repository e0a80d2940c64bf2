//! `GET /provider/userinfo`: who an access token acts for, so a client can label a connection
//! ("connected as ada@example.com") and tests can tell per-user connections apart.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::client::bearer;
use super::error::ApiError;
use super::Provider;

pub(super) fn router() -> Router<Provider> {
    Router::new().route("/provider/userinfo", get(userinfo))
}

#[tracing::instrument(name = "provider.userinfo", skip_all)]
async fn userinfo(
    State(provider): State<Provider>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = bearer(&headers)
        .ok_or_else(|| ApiError::invalid_token("Send \"Authorization: Bearer <access token>\"."))?;
    let subject = provider
        .store()
        .grants
        .access_subject(token)
        .ok_or_else(|| {
            ApiError::invalid_token("The access token is unknown, revoked or expired.")
        })?;
    Ok(Json(json!({ "sub": subject.sub, "email": subject.email })))
}
