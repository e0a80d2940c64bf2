//! The application state every handler shares: a few services (accounts, task sync,
//! connections) and what everything needs (the store, the cipher, the settings, the metrics,
//! the coordination seam, the drain). Cheap to clone; no global statics. Capability modules
//! take the service they need, never the whole state.

use std::sync::Arc;

use crate::accounts::AccountsService;
use crate::attio_gateway::AttioGateway;
use crate::config::Settings;
use crate::connections::Connections;
use crate::coordination::{Coordinator, Leases, SharedLimits};
use crate::crypto::Cipher;
use crate::store::Store;
use crate::sync::SyncService;

/// Handlers and layers clone the state for every request: one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub store: Arc<dyn Store>,
    pub cipher: Cipher,
    pub settings: Arc<Settings>,
    /// What `/metrics` shows; this application's own registry.
    pub metrics: crate::metrics::Metrics,
    /// Live updates, worker wake-ups and connection-cache invalidation, across every instance
    /// that shares the database.
    pub coordinator: Coordinator,
    /// Set when shutdown begins: readiness turns 503 and live streams end.
    pub drain: crate::drain::Drain,
    /// Password hashing, the log-in throttle and the authentication rate limit.
    pub accounts: AccountsService,
    /// Task sync: the Attio gateway, webhooks, the inbox and its worker, the reconciler.
    pub sync: SyncService,
    pub connections: Arc<Connections>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        cipher: Cipher,
        attio: AttioGateway,
        settings: Settings,
        metrics: crate::metrics::Metrics,
        coordinator: Coordinator,
    ) -> Self {
        let connections = Arc::new(
            Connections::new(
                settings.providers.clone(),
                store.clone(),
                cipher.clone(),
                attio.http.clone(),
            )
            .with_metrics(metrics.clone())
            .with_coordinator(coordinator.clone()),
        );
        crate::connections::follow_invalidations(&connections, coordinator.invalidations());
        let accounts = AccountsService::new(
            settings.password_hashing.workers,
            settings.password_hashing.queue,
            SharedLimits::for_coordinator(
                &coordinator,
                settings.auth_rate_per_minute,
                settings.login_throttle.clone(),
                cipher.clone(),
                metrics.clone(),
            ),
        );
        let leases = Leases::new(store.clone(), coordinator.instance().clone());
        let settings = Arc::new(settings);
        let sync = SyncService::new(
            store.clone(),
            cipher.clone(),
            Arc::new(attio),
            settings.clone(),
            coordinator.clone(),
            metrics.clone(),
            leases,
        );
        Self(Arc::new(Services {
            store,
            cipher,
            settings,
            metrics,
            coordinator,
            drain: crate::drain::Drain::default(),
            accounts,
            sync,
            connections,
        }))
    }
}
