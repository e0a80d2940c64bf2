//! The application state every handler shares: the store, the cipher, the Attio gateway and the
//! settings. Cheap to clone; no global statics.

use std::net::IpAddr;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::attio_link::AttioGateway;
use crate::config::Settings;
use crate::crypto::Cipher;
use crate::store::Store;
use crate::sync::Syncer;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub cipher: Cipher,
    pub attio: Arc<AttioGateway>,
    pub settings: Arc<Settings>,
    pub auth_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub syncer: Arc<Syncer>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        cipher: Cipher,
        attio: AttioGateway,
        settings: Settings,
    ) -> Self {
        let quota = Quota::per_minute(settings.auth_rate_per_minute);
        Self {
            store,
            cipher,
            attio: Arc::new(attio),
            auth_limiter: Arc::new(RateLimiter::keyed(quota)),
            settings: Arc::new(settings),
            syncer: Arc::new(Syncer::default()),
        }
    }
}
