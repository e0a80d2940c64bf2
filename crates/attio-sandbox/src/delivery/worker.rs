//! The task that delivers one workspace's messages to one target URL: takes messages in order, POSTs them signed, and
//! reports each attempt back to the store. It holds the sandbox only weakly, so it ends once every
//! handle to the sandbox is gone, and it never holds the lock across an `.await`. It also ends
//! once the state it was started for is replaced (a reset or a restore: a new epoch), so that
//! its workspace key never reaches into another state, and once a sandbox with a data
//! directory has stopped serving (its queue is in the file, for the next one to send).

use std::sync::{Arc, Weak};
use std::time::{Instant, SystemTime};

use axum::http::header;
use tokio::sync::Notify;

use super::{DeliveryAttempt, Message, Next};
use crate::shared::Shared;
use crate::store::WorkspaceKey;
use crate::Sandbox;

/// The User-Agent of Attio's older docs (whether Attio still sends it is unconfirmed).
const USER_AGENT: &str = "Attio 2.0 (https://attio.com/developers/using-webhooks)";

/// Spawns [`run`] on `runtime`: the [`crate::shared::StartWorker`] the sandbox gives its state.
pub(crate) fn start(
    runtime: &tokio::runtime::Handle,
    shared: Weak<Shared>,
    workspace: WorkspaceKey,
    epoch: u64,
    target: String,
    wake: Arc<Notify>,
) {
    runtime.spawn(run(shared, workspace, epoch, target, wake));
}

async fn run(
    shared: Weak<Shared>,
    workspace: WorkspaceKey,
    epoch: u64,
    target: String,
    wake: Arc<Notify>,
) {
    loop {
        let (message, sandbox) = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            if shared.handed_over() {
                return;
            }
            let sandbox = Sandbox::from_shared(shared);
            let next = match sandbox.store().current_mut(workspace, epoch) {
                Some(store) => store.next_delivery(&target, Instant::now()),
                None => return,
            };
            match next {
                Next::Stop => return,
                Next::Wait(until) => {
                    drop(sandbox);
                    tokio::select! {
                        () = tokio::time::sleep_until(until.into()) => {}
                        () = wake.notified() => {}
                    }
                    continue;
                }
                Next::Send(message) => (message, sandbox),
            }
        };
        let attempt = send(&sandbox, &target, &message).await;
        tracing::info!(
            webhook_id = %message.webhook_id,
            event_type = message.event_type,
            attempt = attempt.attempt,
            status = attempt.status,
            error = attempt.error.as_deref(),
            "webhook delivery attempt"
        );
        let mut store = sandbox.store();
        if let Some(store) = store.current_mut(workspace, epoch) {
            store.finish_delivery(&target, message, attempt);
        }
    }
}

async fn send(sandbox: &Sandbox, target: &str, message: &Message) -> DeliveryAttempt {
    let at = SystemTime::now();
    let started = Instant::now();
    let result = match sandbox.shared().http() {
        Some(client) => client
            .post(target)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .header("Attio-Signature", &message.signature)
            .header("X-Attio-Signature", &message.signature)
            .header("Idempotency-Key", message.idempotency_key.to_string())
            .body(message.body.clone())
            .send()
            .await
            .map_err(describe),
        None => Err("the sandbox's HTTP client could not be built".to_owned()),
    };
    let latency = started.elapsed();
    let (status, error) = match result {
        Ok(response) => {
            let status = response.status();
            let error = (!status.is_success()).then(|| format!("the target answered {status}"));
            (Some(status.as_u16()), error)
        }
        Err(error) => (None, Some(error)),
    };
    DeliveryAttempt {
        event_type: message.event_type.to_owned(),
        idempotency_key: message.idempotency_key.to_string(),
        attempt: message.attempts + 1,
        succeeded: error.is_none(),
        status,
        latency,
        error,
        at,
    }
}

/// A one-line reason with the error's causes, without the URL (it may carry a token).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the delivery timeout".to_owned();
    }
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
