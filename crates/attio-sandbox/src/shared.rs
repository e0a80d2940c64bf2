//! The state every clone of a [`Sandbox`](crate::Sandbox) shares, the lock guard that starts
//! delivery workers once a change has emitted events, and the guard that exposes one workspace.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::delivery::{worker, DeliverySettings};
use crate::store::{Store, WorkspaceKey, WorkspaceStore};
use crate::{seed, Config};

pub(crate) struct Shared {
    store: Mutex<Store>,
    /// The generic OAuth provider and sequencer API served beside Attio, when configured.
    pub provider: Option<crate::provider::Provider>,
    /// Requests answered, by exact path: lets tests prove how many calls a client made.
    pub requests: Mutex<std::collections::HashMap<String, usize>>,
    pub settings: DeliverySettings,
    /// Built on the first delivery; `None` if the TLS backend failed to start (logged once).
    http: OnceLock<Option<reqwest::Client>>,
}

impl Shared {
    pub fn new(config: Config) -> Shared {
        let settings = DeliverySettings::from(&config);
        let provider = config.provider.clone().map(crate::provider::Provider::new);
        let mut store = Store::new(seed::demo(), config.apps, config.code_ttl, settings);
        store.faults.set_rate_limits(config.rate_limits);
        Shared {
            provider,
            requests: Mutex::new(std::collections::HashMap::new()),
            store: Mutex::new(store),
            settings,
            http: OnceLock::new(),
        }
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
}

impl<'a> StoreGuard<'a> {
    pub fn lock(shared: &'a Arc<Shared>) -> StoreGuard<'a> {
        StoreGuard {
            guard: shared.lock(),
            shared,
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
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
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
        for key in store.keys() {
            for (target, wake) in store.at_mut(key).delivery.start_unstarted() {
                let shared = Arc::downgrade(self.shared);
                runtime.spawn(worker::run(shared, key, target, wake));
            }
        }
    }
}
