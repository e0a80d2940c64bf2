//! Coordination through PostgreSQL `LISTEN/NOTIFY`: one channel, one dedicated listening
//! connection per instance, and `pg_notify` on a small pool of its own for sending (so that a
//! busy store pool never delays a live update, and the store's traits stay as they are).
//!
//! Payloads are short text lines (PostgreSQL caps them at 8000 bytes):
//! `L <workspace uuid> <change>`, `W` (wake the worker), `I <owner kind> <owner id> <provider>`.
//! A notification is not stored: one sent while an instance's listener is disconnected is lost
//! to it. So after the listener reconnects, the instance tells its own subscribers that they
//! may have missed something (pages refresh, the worker looks, cached connections are dropped).

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::mpsc;

use super::{Coordinator, Inner, Invalidation, Message};
use crate::live::{Change, LiveEvent};
use crate::store::{DatabaseUrl, Owner, OwnerKind};

/// The one channel every instance of a database listens on.
const CHANNEL: &str = "taskr_coordination";

/// The listening connection's `application_name`.
pub const LISTENER_NAME: &str = "taskr-listener";

/// Messages sent in one statement at most; more wait for the next round.
const BATCH: usize = 256;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Hands messages to the task that sends them, in order, without making publishers wait.
pub(super) struct Notifier {
    queue: mpsc::UnboundedSender<Message>,
}

impl Notifier {
    pub(super) fn send(&self, message: Message, local: &Inner) {
        if let Err(unsent) = self.queue.send(message) {
            // The sending task is gone (only at shutdown): this instance at least hears it.
            local.deliver(unsent.0);
        }
    }
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
    let (queue, pending) = mpsc::unbounded_channel();
    let coordinator = Coordinator::with_remote(Some(Notifier { queue }));
    let local = Arc::downgrade(&coordinator.inner);
    tokio::spawn(send_loop(pool, pending, local.clone()));
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

/// Sends queued messages, a batch per statement; identical messages in a batch go once.
async fn send_loop(
    pool: PgPool,
    mut pending: mpsc::UnboundedReceiver<Message>,
    local: Weak<Inner>,
) {
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match pending.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        let mut seen = HashSet::new();
        batch.retain(|message| seen.insert(message.clone()));
        let payloads: Vec<String> = batch.iter().filter_map(encode).collect();
        let sent = sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::TEXT[]) AS payload")
            .bind(CHANNEL)
            .bind(&payloads)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not notify the other instances; only this one hears it");
            let Some(local) = local.upgrade() else { return };
            for message in batch {
                local.deliver(message);
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
    }
}

fn encode(message: &Message) -> Option<String> {
    Some(match message {
        Message::Live(event) => match event.workspace {
            Some(workspace) => format!("L {workspace} {}", event.change.as_str()),
            None => format!("L * {}", event.change.as_str()),
        },
        Message::WakeWorker => "W".to_owned(),
        Message::Invalidate(Invalidation::One { provider, owner }) => {
            format!("I {} {} {provider}", owner.kind.as_str(), owner.id)
        }
        // Only ever local (after a reconnect).
        Message::Invalidate(Invalidation::All) => return None,
    })
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
        "I" => {
            let kind = OwnerKind::parse(parts.next()?)?;
            let id = parts.next()?.to_owned();
            let provider = parts.next()?.to_owned();
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

    #[test]
    fn every_message_sent_between_instances_reads_back_the_same() {
        let messages = [
            Message::Live(LiveEvent::new(
                WorkspaceId(Uuid::new_v4()),
                Change::Activity,
            )),
            Message::Live(LiveEvent::everything()),
            Message::WakeWorker,
            Message::Invalidate(Invalidation::One {
                provider: "sequencer".into(),
                owner: Owner::workspace(WorkspaceId(Uuid::new_v4())),
            }),
        ];
        for message in messages {
            let payload = encode(&message).unwrap();
            assert_eq!(decode(&payload), Some(message), "{payload}");
        }
        assert_eq!(decode("X whatever"), None);
        assert_eq!(decode("L not-a-uuid tasks"), None);
    }
}
