//! `POST /webhooks/attio`: Attio's deliveries. The raw body is verified against the workspace's
//! secret before it is trusted, written to the durable inbox keyed by `Idempotency-Key`, and
//! only then acknowledged. Answers are JSON; nothing here uses sessions or CSRF tokens.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::AppState;
use crate::store::NewDelivery;
use crate::webhooks;

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
    if signatures.is_empty() {
        return refuse(
            &state,
            "no_signature",
            StatusCode::UNAUTHORIZED,
            "missing Attio-Signature",
        );
    }
    let verified =
        |secret: &attio::WebhookSecret| signatures.iter().any(|s| secret.verify(&body, s));

    // Only the webhook id is read before verification, to find which secret to check with.
    let (webhook_id, workspace_id) = match attio::webhooks::peek_webhook_id(&body) {
        Some(webhook_id) => match webhooks::secret_for(&state, webhook_id).await {
            Ok(Some((workspace, secret))) if verified(&secret) => (webhook_id, workspace),
            Ok(Some(_)) => {
                return refuse(
                    &state,
                    "wrong_signature",
                    StatusCode::UNAUTHORIZED,
                    "wrong signature",
                )
            }
            Ok(None) => {
                return refuse(
                    &state,
                    "unknown_webhook",
                    StatusCode::NOT_FOUND,
                    "unknown webhook",
                )
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "could not read webhook secrets");
                return refuse(
                    &state,
                    "unavailable",
                    StatusCode::SERVICE_UNAVAILABLE,
                    "try again later",
                );
            }
        },
        None => {
            // No readable id: a body signed by one of our secrets is ours but malformed.
            let known = match webhooks::all_secrets(&state).await {
                Ok(known) => known,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "could not read webhook secrets");
                    return refuse(
                        &state,
                        "unavailable",
                        StatusCode::SERVICE_UNAVAILABLE,
                        "try again later",
                    );
                }
            };
            return if known.iter().any(|(_, _, secret)| verified(secret)) {
                refuse(
                    &state,
                    "malformed",
                    StatusCode::BAD_REQUEST,
                    "the body is not a webhook delivery",
                )
            } else {
                refuse(
                    &state,
                    "wrong_signature",
                    StatusCode::UNAUTHORIZED,
                    "wrong signature",
                )
            };
        }
    };

    // Verified: now the body may be parsed. Unknown event types parse; a wrong shape does not.
    if let Err(e) = serde_json::from_slice::<attio::WebhookPayload>(&body) {
        tracing::warn!(error = %e, "a signed delivery is malformed");
        return refuse(
            &state,
            "malformed",
            StatusCode::BAD_REQUEST,
            "the body is not a webhook delivery",
        );
    }
    let idempotency_key = match header(&headers, "idempotency-key").filter(|k| !k.is_empty()) {
        Some(key) if key.len() <= 200 => key.to_owned(),
        Some(_) => {
            return refuse(
                &state,
                "key_too_long",
                StatusCode::BAD_REQUEST,
                "Idempotency-Key is too long",
            )
        }
        // Attio always sends one; without it, the body itself identifies the message.
        None => format!("sha256:{}", hex::encode(Sha256::digest(&body))),
    };
    let delivery = NewDelivery {
        idempotency_key,
        webhook_id,
        workspace_id,
        body: body.to_vec(),
        received_ms: crate::now_ms(),
    };
    match state.inbox_writer.insert(delivery).await {
        Ok(true) => {
            state.coordinator.wake_worker();
            accepted(&state, "stored");
            answer(StatusCode::OK, "stored")
        }
        Ok(false) => {
            accepted(&state, "duplicate");
            answer(StatusCode::OK, "already received")
        }
        Err(e) => {
            // Not acknowledged, so Attio will deliver it again.
            tracing::error!(error = %e, "could not store a webhook delivery");
            refuse(
                &state,
                "store_failed",
                StatusCode::SERVICE_UNAVAILABLE,
                "could not store the delivery; retry later",
            )
        }
    }
}

fn accepted(state: &AppState, kind: &str) {
    state
        .metrics
        .count(crate::metrics::WEBHOOKS_ACCEPTED, &[("kind", kind)], 1);
}
