//! Webhooks: the registry behind `/v2/webhooks`, their status (`active`, `degraded`, `inactive`),
//! and [`WorkspaceStore::emit`], which turns one event into one signed message per subscribed webhook.

use std::time::{Instant, SystemTime};

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::WorkspaceStore;
use crate::delivery::{DeliveryAttempt, Message, Next};
use crate::events::{sign, Event, Filter};
use crate::ids::random_hex_secret;

/// Who a webhook belongs to: the OAuth app whose token created it, or the API key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    App(String),
    ApiKey(Uuid),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub event_type: &'static str,
    pub filter: Option<Filter>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WebhookStatus {
    Active,
    Degraded,
    Inactive,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Degraded => "degraded",
            WebhookStatus::Inactive => "inactive",
        }
    }
}

/// Deliberately not `Debug`: it holds the signing secret.
pub(crate) struct Webhook {
    pub id: Uuid,
    pub target_url: String,
    pub subscriptions: Vec<Subscription>,
    pub created_at: OffsetDateTime,
    pub owner: Owner,
    pub(super) secret: String,
    /// Set when a message used up its retries; cleared by a later success or a PATCH. Wall-clock
    /// time, so that a saved state keeps it across restarts of the machine.
    pub(super) degraded_since: Option<SystemTime>,
}

impl Webhook {
    /// `degraded` turns into `inactive` once it has lasted `degraded_to_inactive`.
    pub fn status(
        &self,
        now: SystemTime,
        degraded_to_inactive: std::time::Duration,
    ) -> WebhookStatus {
        match self.degraded_since {
            None => WebhookStatus::Active,
            Some(since)
                if now.duration_since(since).unwrap_or_default() >= degraded_to_inactive =>
            {
                WebhookStatus::Inactive
            }
            Some(_) => WebhookStatus::Degraded,
        }
    }

    fn wants(&self, event: &Event) -> bool {
        self.subscriptions.iter().any(|s| {
            s.event_type == event.event_type
                && s.filter.as_ref().is_none_or(|f| f.matches(&event.json))
        })
    }
}

impl WorkspaceStore {
    pub fn webhook_status_now(&self, webhook: &Webhook) -> WebhookStatus {
        webhook.status(
            SystemTime::now(),
            self.delivery.settings.degraded_to_inactive,
        )
    }

    /// Registers a webhook and returns it with its secret (64 lowercase hex characters), which
    /// is never shown again.
    pub fn create_webhook(
        &mut self,
        owner: Owner,
        target_url: String,
        subscriptions: Vec<Subscription>,
        now: OffsetDateTime,
    ) -> (Uuid, String) {
        let secret = random_hex_secret();
        let id = Uuid::new_v4();
        self.webhooks.push(Webhook {
            id,
            target_url,
            subscriptions,
            created_at: now,
            owner,
            secret: secret.clone(),
            degraded_since: None,
        });
        (id, secret)
    }

    pub fn webhook(&self, id: Uuid) -> Option<&Webhook> {
        self.webhooks.iter().find(|w| w.id == id)
    }

    /// A webhook as its owner sees it; other owners' webhooks do not exist for them.
    pub fn owned_webhook(&self, owner: &Owner, id: Uuid) -> Option<&Webhook> {
        self.webhook(id).filter(|w| &w.owner == owner)
    }

    pub fn owned_webhooks(&self, owner: &Owner) -> Vec<&Webhook> {
        self.webhooks.iter().filter(|w| &w.owner == owner).collect()
    }

    /// Changes the target and/or subscriptions. Any successful update also makes a degraded or
    /// inactive webhook `active` again (Attio documents no other way back).
    pub fn update_webhook(
        &mut self,
        id: Uuid,
        target_url: Option<String>,
        subscriptions: Option<Vec<Subscription>>,
    ) -> Option<&Webhook> {
        let webhook = self.webhooks.iter_mut().find(|w| w.id == id)?;
        if let Some(target_url) = target_url {
            webhook.target_url = target_url;
        }
        if let Some(subscriptions) = subscriptions {
            webhook.subscriptions = subscriptions;
        }
        webhook.degraded_since = None;
        Some(webhook)
    }

    pub fn delete_webhook(&mut self, id: Uuid) -> bool {
        let before = self.webhooks.len();
        self.webhooks.retain(|w| w.id != id);
        self.delivery.forget_webhook(id);
        self.webhooks.len() != before
    }

    /// Queues one message per webhook that is not inactive and has a subscription matching the
    /// event. Called by every mutation, under the lock, so queues follow the order of changes.
    pub(crate) fn emit(&mut self, event: Event) {
        let now = Instant::now();
        let wall = SystemTime::now();
        let limit = self.delivery.settings.degraded_to_inactive;
        let mut messages = Vec::new();
        for webhook in &self.webhooks {
            if webhook.status(wall, limit) == WebhookStatus::Inactive || !webhook.wants(&event) {
                continue;
            }
            let envelope = json!({ "webhook_id": webhook.id, "events": [event.json] });
            let body = serde_json::to_vec(&envelope).unwrap_or_default();
            let message = Message {
                idempotency_key: Uuid::new_v4(),
                webhook_id: webhook.id,
                event_type: event.event_type,
                signature: sign(&webhook.secret, &body),
                body: body.into(),
                attempts: 0,
                due: now,
            };
            messages.push((webhook.target_url.clone(), message));
        }
        for (target, message) in messages {
            self.delivery.enqueue(&target, message);
        }
    }

    /// The next message for a target's worker, skipping messages whose webhook was deleted or
    /// became inactive while they waited.
    pub(crate) fn next_delivery(&mut self, target: &str, now: Instant) -> Next {
        loop {
            match self.delivery.take(target, now) {
                Next::Send(message) => {
                    let live = self
                        .webhook(message.webhook_id)
                        .is_some_and(|w| self.webhook_status_now(w) != WebhookStatus::Inactive);
                    if live {
                        return Next::Send(message);
                    }
                    self.delivery.discard(message.idempotency_key);
                }
                other => return other,
            }
        }
    }

    /// Logs an attempt; a success heals a degraded webhook, a message out of retries degrades it.
    pub(crate) fn finish_delivery(
        &mut self,
        target: &str,
        message: Message,
        attempt: DeliveryAttempt,
    ) {
        let webhook_id = message.webhook_id;
        let succeeded = attempt.succeeded;
        let exhausted = self.delivery.finish(target, message, attempt);
        let now = SystemTime::now();
        let limit = self.delivery.settings.degraded_to_inactive;
        let Some(webhook) = self.webhooks.iter_mut().find(|w| w.id == webhook_id) else {
            return;
        };
        match webhook.status(now, limit) {
            WebhookStatus::Inactive => {}
            WebhookStatus::Degraded if succeeded => webhook.degraded_since = None,
            WebhookStatus::Active if exhausted => webhook.degraded_since = Some(now),
            _ => {}
        }
    }
}
