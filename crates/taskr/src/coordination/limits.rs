//! Log-in and sign-up limits that hold across every instance sharing the database: the
//! per-address rate limit, and the per-account throttle of failed log-ins (with its
//! known-device split, see `accounts::throttle`). Chosen with the backend, like the rest of
//! the coordination seam: in memory for SQLite (one instance: a `governor` limiter and a
//! `LoginThrottle`, as before), in PostgreSQL tables for PostgreSQL (`limits::postgres`).
//!
//! When the database fails a limit's statement (down, too slow, a broken table), the decision
//! falls back to this instance's own in-memory limiter and throttle, with the same settings:
//! nobody is locked out because a table is unreachable, and a flood is still limited, only
//! per instance (N instances then allow up to N times the rate) instead of in total. Each
//! fallback is counted (`taskr_shared_limits_fallbacks_total`) and logged (at most every
//! 10 seconds), so it is never silent. Failures recorded during such an outage stay in the
//! instance's memory and keep counting there after the database is back.

pub mod postgres;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::accounts::{LoginThrottle, ThrottlePolicy};
use crate::crypto::Cipher;
use crate::metrics::Metrics;

/// Fallback warnings are logged at most this often per instance (each one is counted).
const WARN_EVERY_MS: i64 = 10_000;

/// This instance's own limiter and throttle: the whole story with SQLite, the fallback with
/// PostgreSQL.
struct Local {
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    throttle: LoginThrottle,
}

pub struct SharedLimits {
    local: Local,
    shared: Option<postgres::PgLimits>,
    metrics: Metrics,
    last_warned_ms: AtomicI64,
}

impl SharedLimits {
    /// Limits kept in this process (one instance, as with SQLite).
    pub fn in_memory(per_minute: NonZeroU32, policy: ThrottlePolicy, metrics: Metrics) -> Self {
        Self {
            local: Local {
                addresses: RateLimiter::keyed(Quota::per_minute(per_minute)),
                throttle: LoginThrottle::new(policy),
            },
            shared: None,
            metrics,
            last_warned_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Limits kept in PostgreSQL (`shared`), with in-memory ones of the same settings as the
    /// fallback.
    pub fn shared(
        shared: postgres::PgLimits,
        per_minute: NonZeroU32,
        policy: ThrottlePolicy,
        metrics: Metrics,
    ) -> Self {
        Self {
            shared: Some(shared),
            ..Self::in_memory(per_minute, policy, metrics)
        }
    }

    /// The limits for the coordinator's backend: shared through its database when it has one.
    pub fn for_coordinator(
        coordinator: &super::Coordinator,
        per_minute: NonZeroU32,
        policy: ThrottlePolicy,
        cipher: Cipher,
        metrics: Metrics,
    ) -> Self {
        match coordinator.database() {
            Some(options) => {
                let shared =
                    postgres::PgLimits::connect_lazy(options, per_minute, policy.clone(), cipher);
                Self::shared(shared, per_minute, policy, metrics)
            }
            None => Self::in_memory(per_minute, policy, metrics),
        }
    }

    /// Whether the limits hold across instances (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn fell_back(&self, limit: &'static str, error: &sqlx::Error) {
        self.metrics.count(
            crate::metrics::SHARED_LIMITS_FALLBACKS,
            &[("limit", limit)],
            1,
        );
        let now = crate::now_ms();
        let last = self.last_warned_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_MS
            && self
                .last_warned_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                limit,
                error = %error,
                "the shared limits did not answer; this instance limits on its own meanwhile"
            );
        }
    }

    /// Counts a log-in or sign-up attempt from `address`; `false` when it is over the limit.
    pub async fn check_address(&self, address: IpAddr) -> bool {
        if let Some(shared) = &self.shared {
            match shared
                .hit_address(&address.to_string(), crate::now_ms())
                .await
            {
                Ok(allowed) => return allowed,
                Err(e) => self.fell_back("address", &e),
            }
        }
        self.local.addresses.check_key(&address).is_ok()
    }

    /// `Err(wait)` when `key` must wait before its next log-in attempt is even checked.
    pub async fn check_account(&self, key: &str) -> Result<(), Duration> {
        // Failures this instance kept during an outage still count.
        self.local.throttle.check(key, Instant::now())?;
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        match shared.throttle_wait(key, crate::now_ms()).await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(wait),
            Err(e) => {
                self.fell_back("account", &e);
                Ok(())
            }
        }
    }

    pub async fn account_failed(&self, key: &str) {
        if let Some(shared) = &self.shared {
            match shared.record_failure(key, crate::now_ms()).await {
                Ok(()) => return,
                Err(e) => self.fell_back("account", &e),
            }
        }
        self.local.throttle.record_failure(key, Instant::now());
    }

    pub async fn account_succeeded(&self, key: &str) {
        self.local.throttle.record_success(key);
        if let Some(shared) = &self.shared {
            if let Err(e) = shared.record_success(key).await {
                self.fell_back("account", &e);
            }
        }
    }

    /// Forgets what no longer limits anything (periodic upkeep).
    pub async fn prune(&self) {
        self.local.addresses.retain_recent();
        self.local.throttle.retain_recent(Instant::now());
        if let Some(shared) = &self.shared {
            match shared.prune(crate::now_ms()).await {
                Ok(0) => {}
                Ok(rows) => tracing::debug!(rows, "pruned the shared limits"),
                Err(e) => tracing::warn!(error = %e, "could not prune the shared limits"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32, free_failures: u32) -> SharedLimits {
        SharedLimits::in_memory(
            NonZeroU32::new(per_minute).unwrap(),
            ThrottlePolicy {
                free_failures,
                ..Default::default()
            },
            Metrics::new(),
        )
    }

    #[tokio::test]
    async fn in_memory_an_address_gets_its_burst_and_then_waits() {
        let limits = limits(3, 5);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "::1".parse().unwrap());
        for _ in 0..3 {
            assert!(limits.check_address(a).await);
        }
        assert!(!limits.check_address(a).await);
        assert!(
            limits.check_address(b).await,
            "other addresses are untouched"
        );
        assert!(!limits.is_shared());
    }

    #[tokio::test]
    async fn in_memory_an_account_waits_after_its_free_failures_until_a_success() {
        let limits = limits(100, 2);
        for _ in 0..2 {
            assert!(limits.check_account("account:alice").await.is_ok());
            limits.account_failed("account:alice").await;
        }
        assert!(limits.check_account("account:alice").await.is_ok());
        limits.account_failed("account:alice").await;
        let wait = limits.check_account("account:alice").await.unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(limits.check_account("device:alice").await.is_ok());
        limits.account_succeeded("account:alice").await;
        assert!(limits.check_account("account:alice").await.is_ok());
    }
}
