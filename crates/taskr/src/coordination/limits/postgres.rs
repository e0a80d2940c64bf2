//! The shared limits in PostgreSQL (migration `0003_shared_limits.sql`): every decision is one
//! statement, so instances never read a count and write it back in two steps.
//!
//! - Per address: GCRA (the algorithm of the in-memory `governor` limiter, so the rate means
//!   the same on both backends). The row holds the theoretical arrival time; an attempt is let
//!   through when moving it one interval on stays within the burst, and the move happens in the
//!   same `INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`. No row back means refused.
//! - Per throttle key: failures, last failure and blocked-until, with the wait computed in SQL
//!   from the same policy as `accounts::ThrottlePolicy::delay_after`.
//!
//! Times come from the caller (unix ms). Taskr's instances already share timestamps through the
//! database (session expiry, inbox leases), so their clocks are assumed to be in sync; a skew
//! shifts a wait by that much, no more.
//!
//! Pruning: a row whose time has passed means the same as no row. Every `PRUNE_EVERY`-th write
//! of an instance also deletes up to `PRUNE_BATCH` such rows per table, so that a flood from
//! many addresses is cleaned up while it happens; the periodic upkeep prunes as well, and also
//! holds the throttle to `ThrottlePolicy::capacity` keys as the in-memory throttle does.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::accounts::ThrottlePolicy;
use crate::crypto::Cipher;

/// A write of this instance in this many also prunes expired rows.
pub const PRUNE_EVERY: u64 = 256;

/// Rows deleted per table by one prune (a bounded statement, on the `*_ms` indexes).
const PRUNE_BATCH: i64 = 2000;

/// Failure counts stop growing here (the wait stopped growing long before).
const MAX_FAILURES: i32 = 1_000_000;

/// The `application_name` of the limits' connections.
pub const POOL_NAME: &str = "taskr-limits";

/// The new failure count of an existing row: 1 again when its last failure is forgotten.
/// `$2` is now, `$3` the forget-after span (ms).
const NEW_FAILURES: &str =
    "CASE WHEN t.last_failure_ms <= $2 - $3 THEN 1 ELSE LEAST(t.failures + 1, $7) END";

/// The wait (ms) after `failures` failures: `$4` free failures, `$5` the first wait, doubling
/// up to `$6` (the shift is capped at 20 as in `delay_after`).
fn delay_sql(failures: &str) -> String {
    format!(
        "CASE WHEN ({failures}) <= $4 THEN 0 \
         ELSE LEAST($5::BIGINT << LEAST(({failures}) - $4 - 1, 20), $6) END"
    )
}

pub struct PgLimits {
    pool: PgPool,
    /// GCRA: what one attempt costs (ms), and how far ahead the arrival time may run (the
    /// burst: `per_minute` attempts at once).
    interval_ms: i64,
    burst_ms: i64,
    policy: ThrottlePolicy,
    cipher: Cipher,
    writes: AtomicU64,
    record_failure_sql: String,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl PgLimits {
    /// `per_minute` attempts per address (a burst of that many, then one per
    /// `60 s / per_minute`); `policy` for failed log-ins; `cipher` keys the throttle keys' HMAC.
    pub fn new(
        pool: PgPool,
        per_minute: NonZeroU32,
        policy: ThrottlePolicy,
        cipher: Cipher,
    ) -> Self {
        let per_minute = i64::from(per_minute.get());
        // Rounded up, so that never more than `per_minute` pass in a minute.
        let interval_ms = ((60_000 + per_minute - 1) / per_minute).max(1);
        let new_failures = NEW_FAILURES;
        let record_failure_sql = format!(
            "INSERT INTO login_throttle AS t (key_hash, failures, last_failure_ms, blocked_until_ms)
             VALUES ($1, 1, $2, $2 + {first})
             ON CONFLICT (key_hash) DO UPDATE SET
                 failures = {new_failures},
                 last_failure_ms = GREATEST(t.last_failure_ms, $2),
                 blocked_until_ms = GREATEST(t.blocked_until_ms, $2 + {delay})",
            first = delay_sql("1"),
            delay = delay_sql(new_failures),
        );
        Self {
            pool,
            interval_ms,
            burst_ms: interval_ms * per_minute,
            policy,
            cipher,
            writes: AtomicU64::new(0),
            record_failure_sql,
        }
    }

    /// A small pool of its own (connected on first use), so that a busy store never delays a
    /// log-in's limit check, and each statement is bounded: a database that does not answer
    /// in time counts as an error (see `SharedLimits` for what an error does).
    pub fn connect_lazy(
        options: &PgConnectOptions,
        per_minute: NonZeroU32,
        policy: ThrottlePolicy,
        cipher: Cipher,
    ) -> Self {
        let options = options
            .clone()
            .application_name(POOL_NAME)
            .options([("statement_timeout", "2000")]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(2))
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options);
        Self::new(pool, per_minute, policy, cipher)
    }

    /// The stored form of a throttle key: an HMAC, never the username itself.
    fn key_hash(&self, key: &str) -> Vec<u8> {
        self.cipher.mac("login-throttle", key.as_bytes()).to_vec()
    }

    /// Counts an attempt from `address` at `now_ms`; `false` when it is over the limit (and
    /// then nothing is counted).
    pub async fn hit_address(&self, address: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let allowed = sqlx::query_scalar::<_, i64>(
            "INSERT INTO auth_rate_limits AS r (address, tat_ms) VALUES ($1, $2 + $3)
             ON CONFLICT (address) DO UPDATE SET tat_ms = GREATEST(r.tat_ms, $2) + $3
             WHERE GREATEST(r.tat_ms, $2) + $3 - $2 <= $4
             RETURNING tat_ms",
        )
        .bind(address)
        .bind(now_ms)
        .bind(self.interval_ms)
        .bind(self.burst_ms)
        .fetch_optional(&self.pool)
        .await?
        .is_some();
        self.after_write(now_ms).await;
        Ok(allowed)
    }

    /// How long `key` must still wait before its next attempt is checked, if at all.
    pub async fn throttle_wait(
        &self,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<Duration>, sqlx::Error> {
        let wait = sqlx::query_scalar::<_, i64>(
            "SELECT blocked_until_ms - $2 FROM login_throttle
             WHERE key_hash = $1 AND blocked_until_ms > $2",
        )
        .bind(self.key_hash(key))
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(wait.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }

    pub async fn record_failure(&self, key: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query(&self.record_failure_sql)
            .bind(self.key_hash(key))
            .bind(now_ms)
            .bind(millis(self.policy.forget_after))
            .bind(i32::try_from(self.policy.free_failures).unwrap_or(i32::MAX))
            .bind(millis(self.policy.first_delay))
            .bind(millis(self.policy.max_delay))
            .bind(MAX_FAILURES)
            .execute(&self.pool)
            .await?;
        self.after_write(now_ms).await;
        Ok(())
    }

    pub async fn record_success(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_throttle WHERE key_hash = $1")
            .bind(self.key_hash(key))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every `PRUNE_EVERY`-th write prunes; a failed prune is only logged (the next one, or
    /// the upkeep's, takes over).
    async fn after_write(&self, now_ms: i64) {
        if (self.writes.fetch_add(1, Ordering::Relaxed) + 1) % PRUNE_EVERY != 0 {
            return;
        }
        if let Err(e) = self.prune_expired(now_ms).await {
            tracing::warn!(error = %e, "could not prune the shared limits");
        }
    }

    /// Deletes up to `PRUNE_BATCH` rows per table that no longer limit anything at `now_ms`.
    /// The condition is repeated outside the sub-select: a row that another instance moved on
    /// meanwhile is re-checked on its new version and kept.
    pub async fn prune_expired(&self, now_ms: i64) -> Result<u64, sqlx::Error> {
        let addresses = sqlx::query(
            "DELETE FROM auth_rate_limits WHERE tat_ms <= $1 AND address IN
                 (SELECT address FROM auth_rate_limits WHERE tat_ms <= $1 LIMIT $2)",
        )
        .bind(now_ms)
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let forgotten = now_ms.saturating_sub(millis(self.policy.forget_after));
        let keys = sqlx::query(
            "DELETE FROM login_throttle
             WHERE last_failure_ms <= $1 AND blocked_until_ms <= $2 AND key_hash IN
                 (SELECT key_hash FROM login_throttle
                  WHERE last_failure_ms <= $1 AND blocked_until_ms <= $2 LIMIT $3)",
        )
        .bind(forgotten)
        .bind(now_ms)
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(addresses + keys)
    }

    /// `prune_expired`, then the stalest throttle keys beyond `capacity` (as the in-memory
    /// throttle drops its stalest key to make room). For the periodic upkeep.
    pub async fn prune(&self, now_ms: i64) -> Result<u64, sqlx::Error> {
        let expired = self.prune_expired(now_ms).await?;
        let capacity = i64::try_from(self.policy.capacity).unwrap_or(i64::MAX);
        let over = sqlx::query(
            "DELETE FROM login_throttle WHERE key_hash IN
                 (SELECT key_hash FROM login_throttle
                  ORDER BY last_failure_ms DESC OFFSET $1 LIMIT $2)",
        )
        .bind(capacity)
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(expired + over)
    }
}
