//! `POST /webhooks/attio`: Attio's deliveries over HTTP. The body is read raw and size-limited
//! here; verifying and storing it is `sync::receive`, and only a stored delivery is
//! acknowledged. Answers are JSON; nothing here uses sessions or CSRF tokens.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;
use crate::sync::receive::{self, Receipt, Refusal};

/// Attio's deliveries are small; anything over this is refused unread.
pub const MAX_BODY: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/attio", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn answer(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "status": status.as_u16(), "message": message })),
    )
        .into_response()
}

/// Refuses a delivery, counting it by `reason` (`taskr_webhook_deliveries_refused_total`).
fn refuse(state: &AppState, reason: &str, status: StatusCode, message: &str) -> Response {
    state
        .metrics
        .count(crate::metrics::WEBHOOKS_REFUSED, &[("reason", reason)], 1);
    answer(status, message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn refusal_answer(refusal: Refusal) -> (StatusCode, &'static str) {
    match refusal {
        Refusal::NoSignature => (StatusCode::UNAUTHORIZED, "missing Attio-Signature"),
        Refusal::WrongSignature => (StatusCode::UNAUTHORIZED, "wrong signature"),
        Refusal::UnknownWebhook => (StatusCode::NOT_FOUND, "unknown webhook"),
        Refusal::Malformed => (
            StatusCode::BAD_REQUEST,
            "the body is not a webhook delivery",
        ),
        Refusal::KeyTooLong => (StatusCode::BAD_REQUEST, "Idempotency-Key is too long"),
        Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "try again later"),
        Refusal::StoreFailed => (
            StatusCode::SERVICE_UNAVAILABLE,
            "could not store the delivery; retry later",
        ),
    }
}

#[tracing::instrument(skip_all)]
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                &state,
                "too_large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 1 MiB",
            )
        }
        Err(_) => {
            return refuse(
                &state,
                "unreadable",
                StatusCode::BAD_REQUEST,
                "the body could not be read",
            )
        }
    };
    let signatures: Vec<&str> = ["attio-signature", "x-attio-signature"]
        .iter()
        .filter_map(|name| header(&headers, name))
        .filter(|v| !v.is_empty())
        .collect();
    let key = header(&headers, "idempotency-key");
    match receive::receive(&state.sync, &signatures, key, &body).await {
        Ok(receipt) => {
            state.metrics.count(
                crate::metrics::WEBHOOKS_ACCEPTED,
                &[("kind", receipt.kind())],
                1,
            );
            match receipt {
                Receipt::Stored => answer(StatusCode::OK, "stored"),
                Receipt::Duplicate => answer(StatusCode::OK, "already received"),
            }
        }
        Err(refusal) => {
            let (status, message) = refusal_answer(refusal);
            refuse(&state, refusal.reason(), status, message)
        }
    }
}
