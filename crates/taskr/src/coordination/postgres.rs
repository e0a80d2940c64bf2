//! Coordination through PostgreSQL `LISTEN/NOTIFY`: one channel, one dedicated listening
//! connection per instance, and `pg_notify` on a small pool of its own for sending (so that a
//! busy store pool never delays a live update, and the store's traits stay as they are).
//!
//! Payloads are short text lines (PostgreSQL caps them at 8000 bytes):
//! `L <workspace uuid> <change>`, `W` (wake the worker), `I <owner kind> <owner id> <provider>`,
//! `I *` (forget every cached connection), `U <user id>` (forget cached copies of a user's
//! session and Attio link).
//! A notification is not stored: one sent while an instance's listener is disconnected is lost
//! to it. So after the listener reconnects, the instance tells its own subscribers that they
//! may have missed something (pages refresh, the worker looks, cached connections are dropped).
//! On the sending side nothing is dropped: a batch the database refuses is heard locally at
//! once and sent again after a back-off; what waits is bounded, and past the bound it collapses
//! into the three messages that stand for everything.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;

use super::{Coordinator, Inner, Invalidation, Message};
use crate::live::{Change, LiveEvent};
use crate::store::{DatabaseUrl, Owner, OwnerKind, ProviderName, UserId};

/// The one channel every instance of a database listens on.
const CHANNEL: &str = "taskr_coordination";

/// The listening connection's `application_name`.
pub const LISTENER_NAME: &str = "taskr-listener";

/// Messages sent in one statement at most; more wait for the next round.
const BATCH: usize = 256;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Messages waiting to be sent, at most this many distinct ones; beyond it they are replaced by
/// "refresh everything" (see [`Outbox`]), so a database that stops answering cannot make an
/// instance's memory grow with every publish.
const MAX_PENDING: usize = 4096;

/// Hands messages to the task that sends them, in order, without making publishers wait.
pub(super) struct Notifier {
    outbox: Arc<Outbox>,
}

impl Notifier {
    pub(super) fn send(&self, message: Message) {
        self.outbox.push(message);
    }
}

/// What is waiting to be sent. Every message is idempotent (refresh a page, look at the
/// inbox, forget a cached copy), so a message already waiting is not queued twice, and when
/// too many are waiting they collapse into the three that stand for all of them.
#[derive(Default)]
struct Outbox {
    pending: std::sync::Mutex<Pending>,
    ready: tokio::sync::Notify,
}

#[derive(Default)]
struct Pending {
    order: std::collections::VecDeque<Message>,
    queued: HashSet<Message>,
}

impl Pending {
    /// Replaces everything waiting with the messages that stand for all of it.
    fn collapse(&mut self) {
        self.order.clear();
        self.queued.clear();
        for m in everything() {
            self.queued.insert(m.clone());
            self.order.push_back(m);
        }
    }
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, message: Message) {
        {
            let mut pending = self.lock();
            if pending.queued.contains(&message) {
                return;
            }
            if pending.order.len() >= MAX_PENDING {
                // What stands for everything also stands for this message.
                pending.collapse();
            } else {
                pending.queued.insert(message.clone());
                pending.order.push_back(message);
            }
        }
        self.ready.notify_one();
    }

    /// Up to `BATCH` waiting messages, oldest first.
    fn take(&self) -> Vec<Message> {
        let mut pending = self.lock();
        let n = pending.order.len().min(BATCH);
        let batch: Vec<Message> = pending.order.drain(..n).collect();
        for m in &batch {
            pending.queued.remove(m);
        }
        batch
    }

    /// Puts a batch that could not be sent back in front, for the next attempt.
    fn put_back(&self, batch: Vec<Message>) {
        let mut pending = self.lock();
        for message in batch.into_iter().rev() {
            if pending.queued.insert(message.clone()) {
                pending.order.push_front(message);
            }
        }
        if pending.order.len() > MAX_PENDING {
            pending.collapse();
        }
    }

    fn len(&self) -> usize {
        self.lock().order.len()
    }
}

/// The messages that stand for any others: every page refreshes, every worker looks, every
/// cached connection is read again.
fn everything() -> [Message; 3] {
    [
        Message::Live(LiveEvent::everything()),
        Message::WakeWorker,
        Message::Invalidate(Invalidation::All),
    ]
}

pub(super) async fn start(url: &DatabaseUrl) -> anyhow::Result<Coordinator> {
    let options: PgConnectOptions = url
        .expose()
        .parse()
        .with_context(|| format!("parsing database URL {url}"))?;
    let listener = listen(&options)
        .await
        .with_context(|| format!("listening for notifications at {url}"))?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.clone());
    let outbox = Arc::new(Outbox::default());
    let coordinator = Coordinator::with_remote(
        Some(Notifier {
            outbox: outbox.clone(),
        }),
        Some(options.clone()),
    );
    let local = Arc::downgrade(&coordinator.inner);
    tokio::spawn(send_loop(pool, outbox, local.clone()));
    tokio::spawn(listen_loop(options, listener, local));
    Ok(coordinator)
}

async fn listen(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    // A pool of one connection, only for the listener: never shared with queries. Named, so
    // that an operator sees it in `pg_stat_activity`.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options.clone().application_name(LISTENER_NAME));
    let mut listener = PgListener::connect_with(&pool).await?;
    // Reconnecting is ours (with back-off, and telling subscribers they may have missed some).
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Sends waiting messages, a batch per statement. A batch the database refuses is heard here
/// at once and sent again after a back-off (the other instances hear it late, not never).
/// Ends when the coordinator is gone.
async fn send_loop(pool: PgPool, outbox: Arc<Outbox>, local: Weak<Inner>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if outbox.len() == 0 {
            // Woken by a push, or every second to notice that the coordinator is gone.
            let _ = tokio::time::timeout(Duration::from_secs(1), outbox.ready.notified()).await;
        }
        if local.strong_count() == 0 {
            return;
        }
        let batch = outbox.take();
        if batch.is_empty() {
            continue;
        }
        let payloads: Vec<String> = batch.iter().map(encode).collect();
        let sent = sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::TEXT[]) AS payload")
            .bind(CHANNEL)
            .bind(&payloads)
            .execute(&pool)
            .await;
        match sent {
            Ok(_) => backoff = BACKOFF_MIN,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    waiting = outbox.len() + batch.len(),
                    "could not notify the other instances; this one hears it now, the others when the database answers"
                );
                let Some(inner) = local.upgrade() else { return };
                for message in &batch {
                    inner.deliver(message.clone());
                }
                drop(inner);
                outbox.put_back(batch);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Hands every notification to this instance's subscribers; reconnects with back-off when
/// the connection drops. Ends when the coordinator is gone.
async fn listen_loop(options: PgConnectOptions, mut listener: PgListener, local: Weak<Inner>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                let Some(inner) = local.upgrade() else { return };
                match decode(notification.payload()) {
                    Some(message) => inner.deliver(message),
                    None => tracing::warn!(
                        payload = notification.payload(),
                        "ignored a notification this version does not understand"
                    ),
                }
                continue;
            }
            Ok(None) => tracing::warn!("lost the connection that listens for other instances"),
            Err(e) => tracing::warn!(error = %e, "listening for other instances failed"),
        }
        // Messages sent meanwhile are lost to this instance: page views read the database
        // until it listens again.
        if let Some(inner) = local.upgrade() {
            inner.read_model.distrust();
        }
        drop(listener);
        let mut backoff = BACKOFF_MIN;
        listener = loop {
            if local.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
            match listen(&options).await {
                Ok(listener) => break listener,
                Err(e) => tracing::warn!(error = %e, "could not listen again; retrying"),
            }
        };
        tracing::info!("listening for other instances again");
        let Some(inner) = local.upgrade() else { return };
        inner.deliver_missed();
        inner.read_model.trust();
    }
}

fn encode(message: &Message) -> String {
    match message {
        Message::Live(event) => match event.workspace {
            Some(workspace) => format!("L {workspace} {}", event.change.as_str()),
            None => format!("L * {}", event.change.as_str()),
        },
        Message::WakeWorker => "W".to_owned(),
        Message::Invalidate(Invalidation::One { provider, owner }) => {
            format!("I {} {} {provider}", owner.kind.as_str(), owner.id)
        }
        Message::Invalidate(Invalidation::All) => "I *".to_owned(),
        Message::UserChanged(user) => format!("U {user}"),
    }
}

fn decode(payload: &str) -> Option<Message> {
    let mut parts = payload.splitn(4, ' ');
    match parts.next()? {
        "L" => {
            let workspace = match parts.next()? {
                "*" => None,
                id => Some(id.parse().ok()?),
            };
            let change = Change::parse(parts.next()?)?;
            Some(Message::Live(LiveEvent { workspace, change }))
        }
        "W" => Some(Message::WakeWorker),
        "U" => {
            let user = parts.next()?.parse().ok()?;
            parts
                .next()
                .is_none()
                .then_some(Message::UserChanged(UserId(user)))
        }
        "I" => {
            let first = parts.next()?;
            if first == "*" {
                return parts
                    .next()
                    .is_none()
                    .then_some(Message::Invalidate(Invalidation::All));
            }
            let kind = OwnerKind::parse(first)?;
            let id = parts.next()?.to_owned();
            // Parsed like any input: a payload from another version (or anyone who may
            // NOTIFY) naming no valid provider is dropped, not trusted.
            let provider = ProviderName::parse(parts.next()?).ok()?;
            Some(Message::Invalidate(Invalidation::One {
                provider,
                owner: Owner { kind, id },
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::WorkspaceId;

    fn live(n: usize) -> Message {
        Message::Live(LiveEvent::new(
            WorkspaceId(Uuid::from_u128(n as u128)),
            Change::Tasks,
        ))
    }

    #[test]
    fn waiting_messages_are_sent_once_in_order_and_a_refused_batch_goes_back_in_front() {
        let outbox = Outbox::default();
        for n in [1, 2, 1, 3, 2] {
            outbox.push(live(n));
        }
        outbox.push(Message::WakeWorker);
        outbox.push(Message::WakeWorker);
        assert_eq!(outbox.len(), 4);
        let batch = outbox.take();
        assert_eq!(batch, vec![live(1), live(2), live(3), Message::WakeWorker]);
        outbox.push(live(4));
        outbox.push(live(2));
        outbox.put_back(batch);
        // `live(2)` was already waiting again: it keeps its place and is not doubled.
        assert_eq!(
            outbox.take(),
            vec![live(1), live(3), Message::WakeWorker, live(4), live(2)]
        );
        assert_eq!(outbox.len(), 0);
    }

    #[test]
    fn a_database_that_does_not_answer_cannot_grow_the_waiting_messages_past_the_bound() {
        let outbox = Outbox::default();
        for n in 0..MAX_PENDING * 3 {
            outbox.push(live(n));
            assert!(outbox.len() <= MAX_PENDING);
        }
        // Collapsed at least once: what waits now stands for every message pushed.
        let mut waiting = Vec::new();
        loop {
            let batch = outbox.take();
            if batch.is_empty() {
                break;
            }
            waiting.extend(batch);
        }
        for m in everything() {
            assert!(waiting.contains(&m), "{m:?} missing after the collapse");
        }
        // A refused batch put back on a full outbox collapses it too.
        for n in 0..MAX_PENDING {
            outbox.push(live(n));
        }
        outbox.put_back((MAX_PENDING..MAX_PENDING + 10).map(live).collect());
        assert!(outbox.len() <= MAX_PENDING);
    }

    #[test]
    fn every_message_sent_between_instances_reads_back_the_same() {
        let messages = [
            Message::Live(LiveEvent::new(
                WorkspaceId(Uuid::new_v4()),
                Change::Activity,
            )),
            Message::Live(LiveEvent::everything()),
            Message::WakeWorker,
            Message::Invalidate(Invalidation::All),
            Message::Invalidate(Invalidation::One {
                provider: ProviderName::from_static("sequencer"),
                owner: Owner::workspace(WorkspaceId(Uuid::new_v4())),
            }),
            Message::UserChanged(UserId(42)),
        ];
        for message in messages {
            let payload = encode(&message);
            assert_eq!(decode(&payload), Some(message), "{payload}");
        }
        assert_eq!(decode("X whatever"), None);
        assert_eq!(decode("L not-a-uuid tasks"), None);
        assert_eq!(decode("U forty-two"), None);
        assert_eq!(decode("U 42 43"), None);
    }

    #[test]
    fn an_invalidation_naming_no_valid_provider_decodes_to_nothing() {
        let owner = format!("workspace {}", Uuid::new_v4());
        assert!(
            decode(&format!("I {owner} sequencer")).is_some(),
            "the well-formed payload these cases spoil"
        );
        let cases = [
            (format!("I {owner} Sequencer"), "upper case"),
            (format!("I {owner} a b"), "a space"),
            (format!("I {owner} a/b"), "a slash"),
            (format!("I {owner} {}", "a".repeat(41)), "too long"),
            (format!("I {owner} "), "empty"),
            (format!("I {owner}"), "missing"),
        ];
        for (payload, why) in cases {
            assert_eq!(decode(&payload), None, "{why}: {payload:?}");
        }
    }
}
