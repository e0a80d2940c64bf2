//! Outgoing webhook deliveries of one workspace: one ordered queue per target URL, retries with exponential
//! back-off, a per-target throttle and the per-webhook attempt log. This is the bookkeeping, kept
//! in the store under its one lock; [`worker`] does the HTTP.

pub(crate) mod worker;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::Config;

/// How many attempts the log keeps per webhook (oldest dropped first).
const LOG_LIMIT: usize = 500;

/// The delivery schedule, from [`Config`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeliverySettings {
    pub retry_base: Duration,
    pub max_retries: u32,
    pub timeout: Duration,
    /// Minimum spacing between two requests to one target (1 s / rate).
    pub spacing: Duration,
    pub degraded_to_inactive: Duration,
}

impl From<&Config> for DeliverySettings {
    fn from(config: &Config) -> Self {
        DeliverySettings {
            retry_base: config.retry_base,
            max_retries: config.max_retries,
            timeout: config.delivery_timeout,
            spacing: Duration::from_secs(1) / config.target_rate_per_second.max(1),
            degraded_to_inactive: config.degraded_to_inactive,
        }
    }
}

impl DeliverySettings {
    /// The wait before retry `n` (1-based): `retry_base * 2^(n-1)`, saturating.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.retry_base.saturating_mul(factor)
    }
}

/// One message to one webhook: the exact bytes and signature, sent identically on every attempt.
#[derive(Clone)]
pub(crate) struct Message {
    pub idempotency_key: Uuid,
    pub webhook_id: Uuid,
    pub event_type: &'static str,
    pub body: Bytes,
    pub signature: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When a retry may go out.
    pub due: Instant,
}

/// One delivery attempt, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub event_type: String,
    /// The `Idempotency-Key` header (a UUID), the same on every attempt of one message.
    pub idempotency_key: String,
    /// 1 for the first attempt, up to `max_retries + 1`.
    pub attempt: u32,
    /// The HTTP status code the target answered with, if it answered.
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why the attempt failed: a non-2xx status, a timeout, a connection error.
    pub error: Option<String>,
    pub at: SystemTime,
    pub succeeded: bool,
}

#[derive(Default)]
struct Target {
    fresh: VecDeque<Message>,
    retries: Vec<Message>,
    running: bool,
    wake: Arc<Notify>,
    /// The throttle: no request to this target before this instant.
    next_send: Option<Instant>,
}

impl Target {
    fn has_work(&self) -> bool {
        !self.fresh.is_empty() || !self.retries.is_empty()
    }
}

/// What a target's worker should do next.
pub(crate) enum Next {
    Send(Message),
    /// Sleep until then, or until a new message wakes the worker.
    Wait(Instant),
    /// Nothing queued: the worker ends (a new message starts a new one).
    Stop,
}

pub(crate) struct Deliveries {
    pub settings: DeliverySettings,
    targets: HashMap<String, Target>,
    /// Messages a worker has taken and not yet reported on, by idempotency key, with their
    /// target: a copy is kept so that a saved state still holds them (they are sent again
    /// after a restart, as a lost attempt would be retried).
    in_flight: HashMap<Uuid, (String, Message)>,
    log: AttemptLogs,
    idle: Arc<Notify>,
}

/// Each webhook's attempt log, oldest first.
pub(crate) type AttemptLogs = HashMap<Uuid, VecDeque<DeliveryAttempt>>;

/// The messages of one target that still have to go out, as a saved state keeps them.
pub(crate) struct PendingTarget {
    pub target: String,
    /// New messages, oldest first.
    pub fresh: Vec<Message>,
    /// Messages waiting for a retry, each with its `due`.
    pub retries: Vec<Message>,
}

impl Deliveries {
    /// `idle` is shared by every workspace's deliveries, so one waiter can watch them all.
    pub fn new(settings: DeliverySettings, idle: Arc<Notify>) -> Deliveries {
        Deliveries {
            settings,
            targets: HashMap::new(),
            in_flight: HashMap::new(),
            log: HashMap::new(),
            idle,
        }
    }

    /// Deliveries as a saved state had them: queues (no worker running yet; the next store
    /// guard dropped in a runtime starts them) and logs.
    pub fn restored(
        settings: DeliverySettings,
        idle: Arc<Notify>,
        pending: Vec<PendingTarget>,
        log: AttemptLogs,
    ) -> Deliveries {
        let targets = pending
            .into_iter()
            .filter(|p| !p.fresh.is_empty() || !p.retries.is_empty())
            .map(|p| {
                let target = Target {
                    fresh: p.fresh.into(),
                    retries: p.retries,
                    ..Target::default()
                };
                (p.target, target)
            })
            .collect();
        Deliveries {
            settings,
            targets,
            in_flight: HashMap::new(),
            log,
            idle,
        }
    }

    /// Every message still to be sent, by target (sorted by URL). A message in flight counts
    /// as not sent: a new one goes first in its queue, a retry is due `now`.
    pub fn pending(&self, now: Instant) -> Vec<PendingTarget> {
        let mut by_target: std::collections::BTreeMap<&str, PendingTarget> = self
            .targets
            .iter()
            .map(|(url, t)| {
                let pending = PendingTarget {
                    target: url.clone(),
                    fresh: t.fresh.iter().cloned().collect(),
                    retries: t.retries.clone(),
                };
                (url.as_str(), pending)
            })
            .collect();
        for (target, message) in self.in_flight.values() {
            let entry = by_target
                .entry(target.as_str())
                .or_insert_with(|| PendingTarget {
                    target: target.clone(),
                    fresh: Vec::new(),
                    retries: Vec::new(),
                });
            if message.attempts == 0 {
                entry.fresh.insert(0, message.clone());
            } else {
                let mut retry = message.clone();
                retry.due = now;
                entry.retries.push(retry);
            }
        }
        by_target
            .into_values()
            .filter(|p| !p.fresh.is_empty() || !p.retries.is_empty())
            .collect()
    }

    /// Every webhook's attempt log.
    pub fn logs(&self) -> &AttemptLogs {
        &self.log
    }

    /// Wakes every worker, e.g. so that workers of a state that was replaced notice and end.
    pub fn wake_all(&self) {
        for target in self.targets.values() {
            target.wake.notify_one();
        }
    }

    /// Queues a new message behind the target's earlier ones and wakes its worker.
    pub fn enqueue(&mut self, target: &str, message: Message) {
        let entry = self.targets.entry(target.to_owned()).or_default();
        entry.fresh.push_back(message);
        entry.wake.notify_one();
    }

    pub fn has_unstarted(&self) -> bool {
        self.targets.values().any(|t| !t.running && t.has_work())
    }

    /// Marks targets with work and no worker as running; the caller spawns their workers.
    pub fn start_unstarted(&mut self) -> Vec<(String, Arc<Notify>)> {
        self.targets
            .iter_mut()
            .filter(|(_, t)| !t.running && t.has_work())
            .map(|(url, t)| {
                t.running = true;
                (url.clone(), t.wake.clone())
            })
            .collect()
    }

    /// The next message for `target`: a due retry first (it "intervenes"), then the oldest new
    /// message, each only once the throttle allows. A taken message counts as in flight.
    pub fn take(&mut self, target: &str, now: Instant) -> Next {
        let Some(queue) = self.targets.get_mut(target) else {
            return Next::Stop;
        };
        let due_retry = queue
            .retries
            .iter()
            .enumerate()
            .filter(|(_, m)| m.due <= now)
            .min_by_key(|(_, m)| m.due)
            .map(|(i, _)| i);
        if due_retry.is_none() && queue.fresh.is_empty() {
            return match queue.retries.iter().map(|m| m.due).min() {
                Some(due) => Next::Wait(due),
                None => {
                    queue.running = false;
                    self.targets.remove(target);
                    Next::Stop
                }
            };
        }
        if let Some(at) = queue.next_send.filter(|at| *at > now) {
            return Next::Wait(at);
        }
        let message = match due_retry {
            Some(i) => queue.retries.swap_remove(i),
            None => match queue.fresh.pop_front() {
                Some(message) => message,
                None => return Next::Stop,
            },
        };
        queue.next_send = Some(now + self.settings.spacing);
        self.in_flight.insert(
            message.idempotency_key,
            (target.to_owned(), message.clone()),
        );
        Next::Send(message)
    }

    /// Records an attempt and decides what follows. Returns true when the message has used up
    /// its retries (the caller degrades the webhook).
    pub fn finish(&mut self, target: &str, mut message: Message, attempt: DeliveryAttempt) -> bool {
        self.in_flight.remove(&message.idempotency_key);
        message.attempts = attempt.attempt;
        let succeeded = attempt.succeeded;
        let log = self.log.entry(message.webhook_id).or_default();
        log.push_back(attempt);
        if log.len() > LOG_LIMIT {
            log.pop_front();
        }
        let mut exhausted = false;
        if !succeeded {
            if message.attempts <= self.settings.max_retries {
                let now = Instant::now();
                // An absurd schedule (e.g. a huge --retry-base-ms) waits "forever", not panics.
                message.due = now
                    .checked_add(self.settings.backoff(message.attempts))
                    .unwrap_or(now + Duration::from_secs(100 * 365 * 24 * 3600));
                let queue = self.targets.entry(target.to_owned()).or_default();
                queue.retries.push(message);
            } else {
                exhausted = true;
            }
        }
        self.notify_if_idle();
        exhausted
    }

    /// A message taken from the queue but not sent (its webhook is gone or inactive).
    pub fn discard(&mut self, idempotency_key: Uuid) {
        self.in_flight.remove(&idempotency_key);
        self.notify_if_idle();
    }

    /// Forgets every queued message of a deleted webhook; its log stays readable.
    pub fn forget_webhook(&mut self, webhook_id: Uuid) {
        for queue in self.targets.values_mut() {
            queue.fresh.retain(|m| m.webhook_id != webhook_id);
            queue.retries.retain(|m| m.webhook_id != webhook_id);
        }
        self.notify_if_idle();
    }

    /// No message queued, waiting for a retry, or in flight.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.targets.values().all(|t| !t.has_work())
    }

    fn notify_if_idle(&self) {
        if self.is_idle() {
            self.idle.notify_waiters();
        }
    }

    pub fn attempts(&self, webhook_id: Uuid) -> Vec<DeliveryAttempt> {
        self.log
            .get(&webhook_id)
            .map(|log| log.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The latest `n` attempts across the workspace's webhooks, newest first.
    pub fn recent(&self, n: usize) -> Vec<(Uuid, DeliveryAttempt)> {
        let mut all: Vec<(Uuid, DeliveryAttempt)> = self
            .log
            .iter()
            .flat_map(|(id, log)| log.iter().map(|a| (*id, a.clone())))
            .collect();
        all.sort_by_key(|(_, attempt)| std::cmp::Reverse(attempt.at));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_saturates() {
        let settings = DeliverySettings::from(&Config::default());
        assert_eq!(settings.backoff(1), Duration::from_secs(250));
        assert_eq!(settings.backoff(2), Duration::from_secs(500));
        assert_eq!(settings.backoff(10), Duration::from_secs(250 * 512));
        let total: Duration = (1..=10).map(|n| settings.backoff(n)).sum();
        let days = total.as_secs_f64() / 86_400.0;
        assert!((2.9..3.1).contains(&days), "10 retries span {days} days");
        assert!(settings.backoff(200) >= settings.backoff(33));
        assert_eq!(settings.spacing, Duration::from_millis(40));
    }
}
