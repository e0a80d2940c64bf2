//! What sign-up and log-in share across requests: the bounded hashing pool, the per-account
//! log-in throttle and the per-address limit on authentication attempts.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{Hasher, LoginThrottle, ThrottlePolicy};

#[derive(Clone)]
pub struct AccountsService {
    /// The bounded pool every password hash and check runs on.
    pub hasher: Arc<Hasher>,
    /// Failed log-ins per account (and per account on a known device).
    pub login_throttle: Arc<LoginThrottle>,
    /// Log-in and sign-up attempts per client address.
    pub auth_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AccountsService {
    pub fn new(
        hashing_workers: usize,
        hashing_queue: usize,
        throttle: ThrottlePolicy,
        auth_rate_per_minute: NonZeroU32,
    ) -> Self {
        Self {
            hasher: Arc::new(Hasher::start(hashing_workers, hashing_queue)),
            login_throttle: Arc::new(LoginThrottle::new(throttle)),
            auth_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(auth_rate_per_minute))),
        }
    }
}
