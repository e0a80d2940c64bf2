//! What sign-up and log-in share across requests: the bounded hashing pool, and the limits on
//! attempts (per client address, and the per-account log-in throttle), which hold across every
//! instance on a shared PostgreSQL database.

use std::sync::Arc;

use super::Hasher;
use crate::coordination::SharedLimits;

#[derive(Clone)]
pub struct AccountsService {
    /// The bounded pool every password hash and check runs on.
    pub hasher: Arc<Hasher>,
    /// Log-in and sign-up attempts per client address, and failed log-ins per account (and
    /// per account on a known device): across every instance on PostgreSQL.
    pub limits: Arc<SharedLimits>,
}

impl AccountsService {
    pub fn new(hashing_workers: usize, hashing_queue: usize, limits: SharedLimits) -> Self {
        Self {
            hasher: Arc::new(Hasher::start(hashing_workers, hashing_queue)),
            limits: Arc::new(limits),
        }
    }
}
