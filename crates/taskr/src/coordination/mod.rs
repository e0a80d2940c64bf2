//! The coordination seam: what one part of Taskr tells the others without going through the
//! store. Live updates for open pages, wake-ups for the inbox worker, and "forget your cached
//! copy of this connection". With SQLite there is one Taskr process, and this is a broadcast
//! channel and a `Notify` in memory (as before). With PostgreSQL several instances share the
//! database, and a change made on one must be heard on all: every message then goes through
//! PostgreSQL `LISTEN/NOTIFY` on one channel (no extra broker), and local subscribers hear the
//! messages from the listener, so an instance hears its own messages the same way as others'.
//!
//! Leases (`leases`) live in the database: exclusive per-workspace inbox claims, one backfill
//! of a workspace at a time, one reconciler; each instance holds them under a random
//! `InstanceId` made here at start-up. Also shared through the database with PostgreSQL (in
//! memory with SQLite): the log-in and sign-up rate limits and the log-in throttle (`limits`),
//! and the one-refresh-at-a-time lock of each OAuth connection (`refresh_lock`).

mod leases;
pub mod limits;
mod postgres;
pub mod refresh_lock;

pub use leases::{sync_lease, InstanceId, Leases, RECONCILER};
pub use limits::SharedLimits;
pub use postgres::LISTENER_NAME;
pub use refresh_lock::{RefreshGuard, RefreshLockError};

use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;
use tokio::sync::{broadcast, Notify};

use crate::live::LiveEvent;
use crate::read_model::{Forget, ReadModel};
use crate::store::{Backend, DatabaseUrl, Owner, ProviderName, UserId};

/// Which cached connection copies to forget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// The connection of `owner` to `provider`.
    One {
        provider: ProviderName,
        owner: Owner,
    },
    /// Every cached copy (after messages may have been missed).
    All,
}

/// One message between instances (and, locally, between parts of one instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Message {
    Live(LiveEvent),
    WakeWorker,
    Invalidate(Invalidation),
    /// A user's session or Attio link changed: forget cached copies of them.
    UserChanged(UserId),
}

impl Message {
    /// What the message makes the read model drop.
    fn forgets(&self) -> Option<Forget> {
        match self {
            Message::Live(event) => Some(match event.workspace {
                Some(workspace) => Forget::Workspace(workspace),
                None => Forget::Everything,
            }),
            Message::WakeWorker => Some(Forget::Inbox),
            Message::UserChanged(user) => Some(Forget::User(*user)),
            Message::Invalidate(_) => None,
        }
    }
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
    /// Who this instance is in leases.
    instance: InstanceId,
    /// The shared database, for the state kept there (`limits`); `None` in process.
    database: Option<PgConnectOptions>,
    refresh_locks: refresh_lock::RefreshLocks,
    /// What page views read, dropped by the messages that change it.
    read_model: ReadModel,
}

impl Inner {
    fn deliver(&self, message: Message) {
        if let Some(what) = message.forgets() {
            self.read_model.forget(what);
        }
        // No receiver is not an error: nobody has a page open, say.
        match message {
            Message::Live(event) => {
                let _ = self.live.send(event);
            }
            Message::WakeWorker => self.worker.notify_one(),
            Message::Invalidate(what) => {
                let _ = self.invalidations.send(what);
            }
            Message::UserChanged(_) => {}
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
        Self::with_remote(None, None)
    }
}

impl Coordinator {
    fn with_remote(remote: Option<postgres::Notifier>, database: Option<PgConnectOptions>) -> Self {
        let shared = remote.is_some();
        // Slow listeners that fall this far behind are told to refresh everything.
        let (live, _) = broadcast::channel(1024);
        let (invalidations, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                live,
                worker: Notify::new(),
                invalidations,
                remote,
                instance: InstanceId::generate(),
                refresh_locks: match &database {
                    Some(options) => refresh_lock::RefreshLocks::postgres(options),
                    None => refresh_lock::RefreshLocks::in_process(),
                },
                database,
                read_model: ReadModel::new(shared),
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

    /// This instance's holder id in leases (random, made at start-up).
    pub fn instance(&self) -> &InstanceId {
        &self.inner.instance
    }

    fn send(&self, message: Message) {
        match &self.inner.remote {
            Some(remote) => {
                // This instance's next page view must see its own change: drop its copies
                // now, not when the message comes back from the database.
                if let Some(what) = message.forgets() {
                    self.inner.read_model.forget(what);
                }
                remote.send(message)
            }
            None => self.inner.deliver(message),
        }
    }

    /// What page views read (sessions, links, workspaces, pages), kept current by the
    /// messages of this coordinator.
    pub fn read_model(&self) -> &ReadModel {
        &self.inner.read_model
    }

    /// Tells every instance that `user`'s session or Attio link changed (after the write).
    pub fn user_changed(&self, user: UserId) {
        self.send(Message::UserChanged(user));
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
    pub fn invalidate_connection(&self, provider: &ProviderName, owner: &Owner) {
        self.send(Message::Invalidate(Invalidation::One {
            provider: provider.clone(),
            owner: owner.clone(),
        }));
    }

    /// What `invalidate_connection` says, heard here (the connection service follows it).
    pub fn invalidations(&self) -> broadcast::Receiver<Invalidation> {
        self.inner.invalidations.subscribe()
    }

    /// The database every instance shares (for `SharedLimits`); `None` in process.
    pub fn database(&self) -> Option<&PgConnectOptions> {
        self.inner.database.as_ref()
    }

    /// Takes the lock that lets one instance at a time refresh `owner`'s connection to
    /// `provider`: `Ok(None)` in process (where the connection service's own lock is enough),
    /// otherwise held until the guard is released or dropped. Waits at most the refresh-lock
    /// wait (`refresh_lock::DEFAULT_WAIT` unless set).
    pub async fn lock_refresh(
        &self,
        provider: &ProviderName,
        owner: &Owner,
    ) -> Result<Option<RefreshGuard>, RefreshLockError> {
        self.inner.refresh_locks.lock(provider, owner).await
    }

    /// Changes how long `lock_refresh` waits for another instance's refresh.
    pub fn set_refresh_lock_wait(&self, wait: std::time::Duration) {
        self.inner.refresh_locks.set_wait(wait);
    }
}
