//! The application state every handler shares: the store, the cipher, the Attio gateway and the
//! settings. Cheap to clone; no global statics.

use std::net::IpAddr;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::attio_link::AttioGateway;
use crate::config::Settings;
use crate::connections::Connections;
use crate::coordination::Coordinator;
use crate::crypto::Cipher;
use crate::store::Store;
use crate::sync::Syncer;
use crate::sync::registration::SecretCache;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub cipher: Cipher,
    pub attio: Arc<AttioGateway>,
    pub settings: Arc<Settings>,
    pub auth_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub syncer: Arc<Syncer>,
    /// Live updates, worker wake-ups and connection-cache invalidation, across every instance
    /// that shares the database.
    pub coordinator: Coordinator,
    pub webhook_secrets: Arc<SecretCache>,
    /// The "Attio cannot reach us" warning is logged once per process.
    pub webhook_unreachable_logged: Arc<std::sync::OnceLock<()>>,
    pub connections: Arc<Connections>,
    pub inbox_writer: crate::sync::inbox_writer::InboxWriter,
    /// The bounded pool every password hash and check runs on.
    pub hasher: Arc<crate::accounts::Hasher>,
    /// Failed log-ins per account (and per account on a known device).
    pub login_throttle: Arc<crate::accounts::LoginThrottle>,
    /// What `/metrics` shows; this application's own registry.
    pub metrics: crate::metrics::Metrics,
    /// Set when shutdown begins: readiness turns 503 and live streams end.
    pub drain: crate::drain::Drain,
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
        let quota = Quota::per_minute(settings.auth_rate_per_minute);
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
        let hasher = Arc::new(crate::accounts::Hasher::start(
            settings.password_hashing.workers,
            settings.password_hashing.queue,
        ));
        Self {
            hasher,
            login_throttle: Arc::new(crate::accounts::LoginThrottle::new(
                settings.login_throttle.clone(),
            )),
            connections,
            inbox_writer: crate::sync::inbox_writer::InboxWriter::start(store.clone()),
            store,
            cipher,
            attio: Arc::new(attio),
            auth_limiter: Arc::new(RateLimiter::keyed(quota)),
            settings: Arc::new(settings),
            syncer: Arc::new(Syncer::default()),
            coordinator,
            webhook_secrets: Arc::new(SecretCache::default()),
            webhook_unreachable_logged: Arc::new(std::sync::OnceLock::new()),
            metrics,
            drain: crate::drain::Drain::default(),
        }
    }
}
