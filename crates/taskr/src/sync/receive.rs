//! Receiving one of Attio's deliveries: the raw body is verified against the secret of the
//! webhook it names before it is trusted, parsed, written to the durable inbox keyed by its
//! idempotency key, and the worker is woken. `web::deliveries` turns the outcome into an HTTP
//! answer; nothing here knows about requests or status codes.

use sha2::{Digest, Sha256};

use crate::store::NewDelivery;
use crate::sync::registration;
use crate::sync::SyncService;

/// The longest `Idempotency-Key` stored.
const MAX_KEY_LEN: usize = 200;

/// A delivery that was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Written to the inbox; the worker was woken.
    Stored,
    /// Its idempotency key was seen before; nothing was written.
    Duplicate,
}

impl Receipt {
    /// The label of `taskr_webhook_deliveries_accepted_total`.
    pub fn kind(self) -> &'static str {
        match self {
            Receipt::Stored => "stored",
            Receipt::Duplicate => "duplicate",
        }
    }
}

/// Why a delivery was not taken. Nothing is stored for any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoSignature,
    WrongSignature,
    UnknownWebhook,
    /// Signed by one of Taskr's secrets, but not a webhook delivery.
    Malformed,
    KeyTooLong,
    /// The secrets could not be read; Attio should try again.
    Unavailable,
    /// The inbox could not store it; not acknowledged, so Attio delivers it again.
    StoreFailed,
}

impl Refusal {
    /// The label of `taskr_webhook_deliveries_refused_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::NoSignature => "no_signature",
            Refusal::WrongSignature => "wrong_signature",
            Refusal::UnknownWebhook => "unknown_webhook",
            Refusal::Malformed => "malformed",
            Refusal::KeyTooLong => "key_too_long",
            Refusal::Unavailable => "unavailable",
            Refusal::StoreFailed => "store_failed",
        }
    }
}

/// Verifies, parses and stores one delivery. `signatures` are the non-empty signature headers
/// sent; `idempotency_key` the header, if any.
#[tracing::instrument(skip_all)]
pub async fn receive(
    state: &SyncService,
    signatures: &[&str],
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Result<Receipt, Refusal> {
    if signatures.is_empty() {
        return Err(Refusal::NoSignature);
    }
    let verified =
        |secret: &attio::WebhookSecret| signatures.iter().any(|s| secret.verify(body, s));

    // Only the webhook id is read before verification, to find which secret to check with.
    let (webhook_id, workspace_id) = match attio::webhooks::peek_webhook_id(body) {
        Some(webhook_id) => match registration::secret_for(state, webhook_id).await {
            Ok(Some((workspace, secret))) if verified(&secret) => (webhook_id, workspace),
            Ok(Some(_)) => return Err(Refusal::WrongSignature),
            Ok(None) => return Err(Refusal::UnknownWebhook),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "could not read webhook secrets");
                return Err(Refusal::Unavailable);
            }
        },
        None => {
            // No readable id: a body signed by one of our secrets is ours but malformed.
            let known = match registration::all_secrets(state).await {
                Ok(known) => known,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "could not read webhook secrets");
                    return Err(Refusal::Unavailable);
                }
            };
            return Err(if known.iter().any(|(_, _, secret)| verified(secret)) {
                Refusal::Malformed
            } else {
                Refusal::WrongSignature
            });
        }
    };

    // Verified: now the body may be parsed. Unknown event types parse; a wrong shape does not.
    if let Err(e) = serde_json::from_slice::<attio::WebhookPayload>(body) {
        tracing::warn!(error = %e, "a signed delivery is malformed");
        return Err(Refusal::Malformed);
    }
    let idempotency_key = match idempotency_key.filter(|k| !k.is_empty()) {
        Some(key) if key.len() <= MAX_KEY_LEN => key.to_owned(),
        Some(_) => return Err(Refusal::KeyTooLong),
        // Attio always sends one; without it, the body itself identifies the message.
        None => format!("sha256:{}", hex::encode(Sha256::digest(body))),
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
            Ok(Receipt::Stored)
        }
        Ok(false) => Ok(Receipt::Duplicate),
        Err(e) => {
            tracing::error!(error = %e, "could not store a webhook delivery");
            Err(Refusal::StoreFailed)
        }
    }
}
