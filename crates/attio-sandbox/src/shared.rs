//! The state every clone of a [`Sandbox`](crate::Sandbox) shares, the lock guard that starts
//! delivery workers and counts a change for saving once a change was made, the guard that
//! exposes one workspace, and when the state is saved to a data directory.
//!
//! Saving: a request that changed the state is answered only once the file holds the change
//! (`save`, called by the HTTP layer; concurrent requests share one write). Changes no request
//! waits for (delivery attempts, their logs, typed helpers) are saved at most
//! [`BACKGROUND_DELAY`] later, and serving ends with a last save.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use crate::delivery::DeliverySettings;
use crate::faults::Faults;
use crate::persist::{Persistence, StateError};
use crate::store::{Store, WorkspaceKey, WorkspaceStore};
use crate::{seed, Config};

/// How long after a change no request waits for (a delivery attempt) it is saved at the latest,
/// so that a busy delivery queue does not rewrite the file for every attempt.
pub(crate) const BACKGROUND_DELAY: Duration = Duration::from_millis(100);
/// How long after a failed save the next attempt is made.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Starts the task that delivers one workspace's messages to one target URL (the delivery
/// worker). Passed in by the sandbox, which knows both this state and the worker, so that the
/// state does not depend on the worker that depends on it.
pub(crate) type StartWorker =
    fn(&tokio::runtime::Handle, Weak<Shared>, WorkspaceKey, u64, String, Arc<tokio::sync::Notify>);

pub(crate) struct Shared {
    store: Mutex<Store>,
    start_worker: StartWorker,
    /// Fault rules and rate-limit windows: switches of the test harness, outside the store so
    /// that counting a request is not a change of state to save.
    faults: Mutex<Faults>,
    /// The generic OAuth provider and sequencer API served beside Attio, when configured.
    pub provider: Option<crate::provider::Provider>,
    /// Requests answered, by exact path: lets tests prove how many calls a client made.
    pub requests: Mutex<std::collections::HashMap<String, usize>>,
    pub settings: DeliverySettings,
    /// Built on the first delivery; `None` if the TLS backend failed to start (logged once).
    http: OnceLock<Option<reqwest::Client>>,
    /// The data directory, when the state is saved.
    persist: Option<Persistence>,
    /// Held shared by every HTTP request and exclusively while the whole state is replaced
    /// (reset, restore), so that no request resolves a workspace in one state and uses it in
    /// the next.
    pub gate: tokio::sync::RwLock<()>,
}

impl Shared {
    /// The demo seed, in memory.
    pub fn new(config: Config, start_worker: StartWorker) -> Shared {
        let settings = DeliverySettings::from(&config);
        let store = Store::new(seed::demo(), config.apps.clone(), config.code_ttl, settings);
        Shared::with_store(config, store, None, start_worker)
    }

    /// The state saved in `dir`, or the demo seed (then written there at once).
    pub fn open(
        config: Config,
        dir: &Path,
        start_worker: StartWorker,
    ) -> Result<Shared, StateError> {
        let settings = DeliverySettings::from(&config);
        let (persist, snapshot) = Persistence::open(dir)?;
        let store = match snapshot {
            Some(snapshot) => {
                let mut store =
                    Store::new(Vec::new(), config.apps.clone(), config.code_ttl, settings);
                store.restore(snapshot).map_err(|problem| {
                    StateError::new(persist.files.file(), format!("invalid at {problem}"))
                })?;
                tracing::info!(path = %persist.files.file().display(), "loaded the sandbox state");
                store
            }
            None => {
                let store =
                    Store::new(seed::demo(), config.apps.clone(), config.code_ttl, settings);
                persist.files.write(&store.snapshot())?;
                tracing::info!(path = %persist.files.file().display(), "seeded a new sandbox state");
                store
            }
        };
        Ok(Shared::with_store(
            config,
            store,
            Some(persist),
            start_worker,
        ))
    }

    fn with_store(
        config: Config,
        store: Store,
        persist: Option<Persistence>,
        start_worker: StartWorker,
    ) -> Shared {
        let mut faults = Faults::default();
        faults.set_rate_limits(config.rate_limits);
        let settings = DeliverySettings::from(&config);
        Shared {
            provider: config.provider.map(crate::provider::Provider::new),
            requests: Mutex::new(std::collections::HashMap::new()),
            store: Mutex::new(store),
            start_worker,
            faults: Mutex::new(faults),
            settings,
            http: OnceLock::new(),
            persist,
            gate: tokio::sync::RwLock::new(()),
        }
    }

    /// Serving ended and the last save is made: this sandbox has handed its state (queued
    /// deliveries included) over to the directory, so its delivery workers stop.
    pub fn handed_over(&self) -> bool {
        self.persist.as_ref().is_some_and(Persistence::is_closed)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The count of changes made so far, when the state is saved.
    pub fn generation(&self) -> Option<u64> {
        self.persist.as_ref().map(Persistence::generation)
    }

    /// Writes the current state unless the file already holds it. Errors are logged (naming
    /// the file) and a new attempt is scheduled.
    pub async fn save(self: &Arc<Self>) -> Result<(), StateError> {
        self.save_detached(false).await
    }

    /// A last save, after which nothing is written: serving has ended.
    pub async fn close(self: &Arc<Self>) -> Result<(), StateError> {
        self.save_detached(true).await
    }

    /// Runs the save as a task of its own: a caller that goes away (a client hanging up while
    /// its answer waits) must not cut a write short and let the next one start beside it.
    async fn save_detached(self: &Arc<Self>, close: bool) -> Result<(), StateError> {
        let Some(persist) = &self.persist else {
            return Ok(());
        };
        let shared = self.clone();
        tokio::spawn(async move { shared.save_then(close).await })
            .await
            .unwrap_or_else(|e| {
                Err(StateError::new(
                    persist.files.file(),
                    format!("the save stopped: {e}"),
                ))
            })
    }

    async fn save_then(self: &Arc<Self>, close: bool) -> Result<(), StateError> {
        let Some(persist) = &self.persist else {
            return Ok(());
        };
        // Group commit: this caller needs the changes made so far; a write that started after
        // them (by whoever got the lock first) covers them too.
        let wanted = persist.generation();
        let _writing = persist.writer.lock().await;
        if persist.is_closed() {
            return Ok(());
        }
        let result = if persist.saved() >= wanted {
            Ok(())
        } else {
            let started = std::time::Instant::now();
            let (generation, snapshot) = {
                let store = self.lock();
                (persist.generation(), store.snapshot())
            };
            let copied = started.elapsed();
            let files = persist.files.clone();
            let written = tokio::task::spawn_blocking(move || files.write(&snapshot))
                .await
                .unwrap_or_else(|e| {
                    Err(StateError::new(
                        persist.files.file(),
                        format!("the save stopped: {e}"),
                    ))
                });
            match written {
                Ok(()) => {
                    tracing::debug!(
                        changes = generation - persist.saved(),
                        copy_us = copied.as_micros() as u64,
                        total_us = started.elapsed().as_micros() as u64,
                        "saved the sandbox state"
                    );
                    persist.mark_saved(generation);
                    Ok(())
                }
                Err(error) => {
                    tracing::error!(%error, "could not save the sandbox state; retrying");
                    if !close {
                        self.schedule_save(RETRY_DELAY);
                    }
                    Err(error)
                }
            }
        };
        if close {
            persist.close();
        }
        result
    }

    /// Saves after `delay` unless a save is already scheduled (inside a Tokio runtime only;
    /// without one, the next save or the last one carries the change).
    fn schedule_save(self: &Arc<Self>, delay: Duration) {
        let Some(persist) = &self.persist else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if persist
            .scheduled
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let shared: Weak<Shared> = Arc::downgrade(self);
        runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            if let Some(persist) = &shared.persist {
                persist
                    .scheduled
                    .store(false, std::sync::atomic::Ordering::SeqCst);
            }
            // Failures are logged and rescheduled inside.
            let _ = shared.save_then(false).await;
        });
    }

    /// The client deliveries use: no redirects, no proxies (targets are often on loopback), and
    /// a timeout per attempt.
    pub fn http(&self) -> Option<&reqwest::Client> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .timeout(self.settings.timeout)
                    .build()
                    .inspect_err(
                        |error| tracing::error!(%error, "cannot build the delivery client"),
                    )
                    .ok()
            })
            .as_ref()
    }

    /// A poisoned lock still holds valid data: every mutation is a single method call.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The locked store. Dropping it spawns a worker for every target URL that got its first
/// queued message during the change (when a Tokio runtime is present; otherwise the next guard
/// dropped inside one does).
pub(crate) struct StoreGuard<'a> {
    guard: MutexGuard<'a, Store>,
    shared: &'a Arc<Shared>,
    /// The store was borrowed mutably: a change to save (perhaps none, which costs one write).
    changed: bool,
}

impl<'a> StoreGuard<'a> {
    pub fn lock(shared: &'a Arc<Shared>) -> StoreGuard<'a> {
        StoreGuard {
            guard: shared.lock(),
            shared,
            changed: false,
        }
    }

    /// Narrows the guard to one workspace.
    pub fn into_workspace(self, key: WorkspaceKey) -> WorkspaceGuard<'a> {
        WorkspaceGuard { guard: self, key }
    }
}

/// The locked store seen as one workspace: what a `/v2` handler gets from its token, so that it
/// has no way to read or change another workspace's data.
pub(crate) struct WorkspaceGuard<'a> {
    guard: StoreGuard<'a>,
    key: WorkspaceKey,
}

impl Deref for WorkspaceGuard<'_> {
    type Target = WorkspaceStore;

    fn deref(&self) -> &WorkspaceStore {
        self.guard.at(self.key)
    }
}

impl DerefMut for WorkspaceGuard<'_> {
    fn deref_mut(&mut self) -> &mut WorkspaceStore {
        self.guard.at_mut(self.key)
    }
}

impl Deref for StoreGuard<'_> {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.changed = true;
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        if self.changed {
            if let Some(persist) = &self.shared.persist {
                // Counted while the lock is still held, so a save that reads the count under
                // the lock also has the change.
                persist.changed();
                self.shared.schedule_save(BACKGROUND_DELAY);
            }
        }
        let store = &mut *self.guard;
        if !store
            .workspaces()
            .iter()
            .any(|w| w.delivery.has_unstarted())
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let epoch = store.epoch();
        for key in store.keys() {
            for (target, wake) in store.at_mut(key).delivery.start_unstarted() {
                let shared = Arc::downgrade(self.shared);
                (self.shared.start_worker)(&runtime, shared, key, epoch, target, wake);
            }
        }
    }
}
