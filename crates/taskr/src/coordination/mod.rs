//! The coordination seam: what one part of Taskr tells the others without going through the
//! store. Live updates for open pages, wake-ups for the inbox worker, and "forget your cached
//! copy of this connection". With SQLite there is one Taskr process, and this is a broadcast
//! channel and a `Notify` in memory (as before). With PostgreSQL several instances share the
//! database, and a change made on one must be heard on all: every message then goes through
//! PostgreSQL `LISTEN/NOTIFY` on one channel (no extra broker), and local subscribers hear the
//! messages from the listener, so an instance hears its own messages the same way as others'.
//!
//! Not shared here yet (still per instance): rate limits, the log-in throttle, the
//! single-flight of connection refreshes, and exclusive per-workspace claims.

mod postgres;

pub use postgres::LISTENER_NAME;

use std::sync::Arc;

use tokio::sync::{broadcast, Notify};

use crate::live::LiveEvent;
use crate::store::{Backend, DatabaseUrl, Owner};

/// Which cached connection copies to forget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// The connection of `owner` to `provider`.
    One { provider: String, owner: Owner },
    /// Every cached copy (after messages may have been missed).
    All,
}

/// One message between instances (and, locally, between parts of one instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Message {
    Live(LiveEvent),
    WakeWorker,
    Invalidate(Invalidation),
}

#[derive(Clone)]
pub struct Coordinator {
    inner: Arc<Inner>,
}

/// The local side: where messages end up on this instance, whichever way they came.
struct Inner {
    live: broadcast::Sender<LiveEvent>,
    worker: Notify,
    invalidations: broadcast::Sender<Invalidation>,
    /// Sends messages to every instance through the database; `None` in process.
    remote: Option<postgres::Notifier>,
}

impl Inner {
    fn deliver(&self, message: Message) {
        // No receiver is not an error: nobody has a page open, say.
        match message {
            Message::Live(event) => {
                let _ = self.live.send(event);
            }
            Message::WakeWorker => self.worker.notify_one(),
            Message::Invalidate(what) => {
                let _ = self.invalidations.send(what);
            }
        }
    }

    /// After this instance may have missed messages: every page refreshes, the worker looks
    /// at the inbox, and every cached connection is read again.
    fn deliver_missed(&self) {
        self.deliver(Message::Live(LiveEvent::everything()));
        self.deliver(Message::WakeWorker);
        self.deliver(Message::Invalidate(Invalidation::All));
    }
}

impl Default for Coordinator {
    /// The in-process coordinator (one Taskr instance, as with SQLite).
    fn default() -> Self {
        Self::with_remote(None)
    }
}

impl Coordinator {
    fn with_remote(remote: Option<postgres::Notifier>) -> Self {
        // Slow listeners that fall this far behind are told to refresh everything.
        let (live, _) = broadcast::channel(1024);
        let (invalidations, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                live,
                worker: Notify::new(),
                invalidations,
                remote,
            }),
        }
    }

    /// The coordinator for the database at `url`: in process for SQLite, through
    /// `LISTEN/NOTIFY` for PostgreSQL (listening before this returns, so that nothing
    /// published after start-up is missed).
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        match url.backend() {
            Backend::Sqlite => Ok(Self::default()),
            Backend::Postgres => postgres::start(url).await,
        }
    }

    fn send(&self, message: Message) {
        match &self.inner.remote {
            Some(remote) => remote.send(message),
            None => self.inner.deliver(message),
        }
    }

    /// Tells every open page of `event.workspace`, on every instance, that it changed.
    pub fn publish(&self, event: LiveEvent) {
        self.send(Message::Live(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live.subscribe()
    }

    /// Wakes the inbox worker (of every instance): a delivery was stored or became due.
    pub fn wake_worker(&self) {
        // This instance's worker need not wait for the round trip through the database.
        if self.inner.remote.is_some() {
            self.inner.worker.notify_one();
        }
        self.send(Message::WakeWorker);
    }

    /// Completes at the next wake-up (or at once if one came since the last wait).
    pub async fn worker_woken(&self) {
        self.inner.worker.notified().await
    }

    /// Tells every instance to forget its cached copy of `owner`'s connection to `provider`
    /// (after any write to it).
    pub fn invalidate_connection(&self, provider: &str, owner: &Owner) {
        self.send(Message::Invalidate(Invalidation::One {
            provider: provider.to_owned(),
            owner: owner.clone(),
        }));
    }

    /// What `invalidate_connection` says, heard here (the connection service follows it).
    pub fn invalidations(&self) -> broadcast::Receiver<Invalidation> {
        self.inner.invalidations.subscribe()
    }
}
