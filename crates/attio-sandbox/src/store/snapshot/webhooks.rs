//! Webhooks and their deliveries in a snapshot. Secrets are kept as they are (the sandbox signs
//! with them; the file is private). Messages still to be sent are kept with their exact body and
//! idempotency key, so that after a restart they go out again byte for byte, re-signed with
//! their webhook's secret; the last attempts of each webhook are kept as its log.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Clock, Ts};
use crate::delivery::{AttemptLogs, Deliveries, DeliveryAttempt, Message, PendingTarget};
use crate::events::{event_type, sign, Filter};
use crate::store::{Owner, Subscription, Webhook};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookState {
    id: Uuid,
    target_url: String,
    subscriptions: Vec<SubscriptionState>,
    created_at: Ts,
    owner: OwnerState,
    /// The signing secret: 64 hex characters, as `POST /v2/webhooks` showed it once.
    secret: String,
    degraded_since: Option<Ts>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionState {
    event_type: String,
    /// `null`, or the filter as the API shows it (`{"$and": [...]}` / `{"$or": [...]}`).
    filter: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum OwnerState {
    /// The OAuth app (client id) whose tokens share the webhook.
    App(String),
    /// The id of the API key that created it.
    ApiKey(Uuid),
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveriesState {
    /// Messages still to be sent, per target URL.
    queues: Vec<QueueState>,
    /// Each webhook's latest attempts, oldest first.
    logs: Vec<LogState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueState {
    target_url: String,
    /// New messages, in the order of the changes.
    fresh: Vec<MessageState>,
    /// Messages that failed and wait for their retry.
    retries: Vec<MessageState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageState {
    idempotency_key: Uuid,
    webhook_id: Uuid,
    event_type: String,
    /// The exact JSON body, as sent on every attempt.
    body: String,
    /// Attempts made so far.
    attempts: u32,
    /// When a retry may go out.
    due: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogState {
    webhook_id: Uuid,
    attempts: Vec<AttemptState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttemptState {
    event_type: String,
    idempotency_key: String,
    attempt: u32,
    status: Option<u16>,
    latency_ns: u64,
    error: Option<String>,
    at: Ts,
    succeeded: bool,
}

impl WebhookState {
    pub(super) fn from_webhook(webhook: &Webhook) -> WebhookState {
        let Webhook {
            id,
            target_url,
            subscriptions,
            created_at,
            owner,
            secret,
            degraded_since,
        } = webhook;
        WebhookState {
            id: *id,
            target_url: target_url.clone(),
            subscriptions: subscriptions
                .iter()
                .map(|s| SubscriptionState {
                    event_type: s.event_type.to_owned(),
                    filter: s.filter.as_ref().map_or(Value::Null, Filter::to_json),
                })
                .collect(),
            created_at: Ts(*created_at),
            owner: match owner {
                Owner::App(client_id) => OwnerState::App(client_id.clone()),
                Owner::ApiKey(id) => OwnerState::ApiKey(*id),
            },
            secret: secret.clone(),
            degraded_since: degraded_since.map(Ts::from),
        }
    }

    pub(super) fn into_webhook(self, at: &str) -> Result<Webhook, String> {
        let valid_secret = self.secret.len() == 64
            && self
                .secret
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid_secret {
            return Err(format!("{at}.secret: must be 64 lowercase hex characters"));
        }
        if url::Url::parse(&self.target_url).is_err() {
            return Err(format!("{at}.target_url: not an absolute URL"));
        }
        let subscriptions = self
            .subscriptions
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let here = format!("{at}.subscriptions[{i}]");
                Ok(Subscription {
                    event_type: known_event(&s.event_type, &here)?,
                    filter: Filter::parse(&s.filter, &format!("{here}.filter"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Webhook {
            id: self.id,
            target_url: self.target_url,
            subscriptions,
            created_at: self.created_at.0,
            owner: match self.owner {
                OwnerState::App(client_id) => Owner::App(client_id),
                OwnerState::ApiKey(id) => Owner::ApiKey(id),
            },
            secret: self.secret,
            degraded_since: self.degraded_since.map(Into::into),
        })
    }
}

fn known_event(name: &str, at: &str) -> Result<&'static str, String> {
    event_type(name).ok_or_else(|| format!("{at}.event_type: unknown event type \"{name}\""))
}

impl DeliveriesState {
    /// Messages of webhooks that no longer exist (deleted while a copy was in flight) are left
    /// out: they would never be sent.
    pub(super) fn from_deliveries(deliveries: &Deliveries, live: &[Uuid], clock: Clock) -> Self {
        let message = |m: &Message| MessageState {
            idempotency_key: m.idempotency_key,
            webhook_id: m.webhook_id,
            event_type: m.event_type.to_owned(),
            body: String::from_utf8_lossy(&m.body).into_owned(),
            attempts: m.attempts,
            due: clock.wall_of(m.due),
        };
        let keep = |m: &&Message| live.contains(&m.webhook_id);
        let queues = deliveries
            .pending(clock.instant)
            .iter()
            .map(|p| QueueState {
                target_url: p.target.clone(),
                fresh: p.fresh.iter().filter(keep).map(message).collect(),
                retries: p.retries.iter().filter(keep).map(message).collect(),
            })
            .filter(|q| !q.fresh.is_empty() || !q.retries.is_empty())
            .collect();
        let mut logs: Vec<LogState> = deliveries
            .logs()
            .iter()
            .map(|(webhook_id, attempts)| LogState {
                webhook_id: *webhook_id,
                attempts: attempts.iter().map(attempt_out).collect(),
            })
            .collect();
        logs.sort_by_key(|log| log.webhook_id);
        DeliveriesState { queues, logs }
    }

    /// The queues (each message re-signed with its webhook's secret) and logs; a message must
    /// belong to one of `webhooks`.
    pub(super) fn into_parts(
        self,
        at: &str,
        webhooks: &[Webhook],
        clock: Clock,
    ) -> Result<(Vec<PendingTarget>, AttemptLogs), String> {
        let mut pending = Vec::with_capacity(self.queues.len());
        for (i, queue) in self.queues.into_iter().enumerate() {
            let here = format!("{at}.queues[{i}]");
            if pending
                .iter()
                .any(|p: &PendingTarget| p.target == queue.target_url)
            {
                return Err(format!("{here}.target_url: this target appears twice"));
            }
            let messages = |list: Vec<MessageState>, kind: &str| {
                list.into_iter()
                    .enumerate()
                    .map(|(j, m)| message_in(m, &format!("{here}.{kind}[{j}]"), webhooks, clock))
                    .collect::<Result<Vec<_>, String>>()
            };
            pending.push(PendingTarget {
                fresh: messages(queue.fresh, "fresh")?,
                retries: messages(queue.retries, "retries")?,
                target: queue.target_url,
            });
        }
        let mut logs = HashMap::with_capacity(self.logs.len());
        for (i, log) in self.logs.into_iter().enumerate() {
            let attempts = log.attempts.into_iter().map(attempt_in).collect();
            if logs.insert(log.webhook_id, attempts).is_some() {
                return Err(format!(
                    "{at}.logs[{i}].webhook_id: webhook {} has two logs",
                    log.webhook_id
                ));
            }
        }
        Ok((pending, logs))
    }
}

fn message_in(
    state: MessageState,
    at: &str,
    webhooks: &[Webhook],
    clock: Clock,
) -> Result<Message, String> {
    let webhook = webhooks
        .iter()
        .find(|w| w.id == state.webhook_id)
        .ok_or_else(|| format!("{at}.webhook_id: no webhook {} here", state.webhook_id))?;
    let body = Bytes::from(state.body.into_bytes());
    Ok(Message {
        idempotency_key: state.idempotency_key,
        webhook_id: state.webhook_id,
        event_type: known_event(&state.event_type, at)?,
        signature: sign(&webhook.secret, &body),
        body,
        attempts: state.attempts,
        due: clock.instant_of(state.due),
    })
}

fn attempt_out(attempt: &DeliveryAttempt) -> AttemptState {
    let DeliveryAttempt {
        event_type,
        idempotency_key,
        attempt,
        status,
        latency,
        error,
        at,
        succeeded,
    } = attempt;
    AttemptState {
        event_type: event_type.clone(),
        idempotency_key: idempotency_key.clone(),
        attempt: *attempt,
        status: *status,
        latency_ns: u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX),
        error: error.clone(),
        at: Ts::from(*at),
        succeeded: *succeeded,
    }
}

fn attempt_in(state: AttemptState) -> DeliveryAttempt {
    DeliveryAttempt {
        event_type: state.event_type,
        idempotency_key: state.idempotency_key,
        attempt: state.attempt,
        status: state.status,
        latency: Duration::from_nanos(state.latency_ns),
        error: state.error,
        at: state.at.into(),
        succeeded: state.succeeded,
    }
}
