//! One refresh of a connection's OAuth token at a time across every instance (PostgreSQL).
//!
//! The connection service single-flights refreshes within an instance (its readers queue on
//! one in-process lock per connection, so one reader per instance gets here). Across instances
//! the one that gets here takes a transaction-scoped advisory lock named after the provider
//! and the owner, re-reads the connection, and only calls the provider if nobody refreshed it
//! meanwhile; the lock is released (the transaction ends) after the new token is stored.
//! A transaction-scoped lock cannot outlive its holder: a crashed instance's connection closes
//! and PostgreSQL releases it, and a hung one is cut by `idle_in_transaction_session_timeout`.
//!
//! The wait is bounded (`lock_timeout` on the server, and the pool's acquire timeout): a
//! reader that waited too long re-reads the store and goes on with what it finds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::store::Owner;

/// How long a reader waits for another instance's refresh by default: a little more than one
/// refresh can take (the HTTP client's 10 s connect timeout, and then an answer).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(15);

/// A holder that stops talking to the database for this long loses the lock (and its
/// connection). Far above any refresh: the HTTP client gives up after 30 s.
const HOLDER_IDLE_LIMIT: Duration = Duration::from_secs(60);

/// The `application_name` of the lock connections.
pub const POOL_NAME: &str = "taskr-refresh-locks";

/// SQLSTATE `lock_not_available`: `lock_timeout` ran out.
const LOCK_NOT_AVAILABLE: &str = "55P03";

#[derive(Debug, thiserror::Error)]
pub enum RefreshLockError {
    #[error("another instance held the refresh lock for longer than {0:?}")]
    TimedOut(Duration),
    #[error("could not take the refresh lock: {0}")]
    Database(#[source] sqlx::Error),
}

/// The advisory lock of one connection, held until released or dropped.
pub struct RefreshGuard {
    tx: Transaction<'static, Postgres>,
}

impl RefreshGuard {
    /// Ends the transaction, which releases the lock. (Dropping the guard releases it too,
    /// when its connection goes back to the pool.)
    pub async fn release(self) {
        if let Err(e) = self.tx.commit().await {
            tracing::warn!(error = %e, "releasing a refresh lock failed; its connection is dropped");
        }
    }
}

pub(super) struct RefreshLocks {
    /// `None` in process: the connection service's own lock is the whole story.
    pool: Option<PgPool>,
    wait_ms: AtomicU64,
}

impl RefreshLocks {
    pub(super) fn in_process() -> Self {
        Self {
            pool: None,
            wait_ms: AtomicU64::new(millis(DEFAULT_WAIT)),
        }
    }

    /// A small pool of its own, connected on first use: a held lock keeps its connection for
    /// the whole refresh, which must not take one from the store.
    pub(super) fn postgres(options: &PgConnectOptions) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(DEFAULT_WAIT)
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options.clone().application_name(POOL_NAME));
        Self {
            pool: Some(pool),
            ..Self::in_process()
        }
    }

    pub(super) fn set_wait(&self, wait: Duration) {
        self.wait_ms.store(millis(wait).max(1), Ordering::Relaxed);
    }

    /// `Ok(None)` in process; otherwise the lock of `provider` + `owner`, or why not.
    pub(super) async fn lock(
        &self,
        provider: &str,
        owner: &Owner,
    ) -> Result<Option<RefreshGuard>, RefreshLockError> {
        let Some(pool) = &self.pool else {
            return Ok(None);
        };
        let wait = Duration::from_millis(self.wait_ms.load(Ordering::Relaxed));
        let deadline = tokio::time::Instant::now() + wait;
        let timed_out = |e: sqlx::Error| match &e {
            sqlx::Error::PoolTimedOut => RefreshLockError::TimedOut(wait),
            sqlx::Error::Database(db) if db.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
                RefreshLockError::TimedOut(wait)
            }
            _ => RefreshLockError::Database(e),
        };
        let mut tx = tokio::time::timeout_at(deadline, pool.begin())
            .await
            .map_err(|_| RefreshLockError::TimedOut(wait))?
            .map_err(timed_out)?;
        sqlx::query(
            "SELECT set_config('lock_timeout', $1, true),
                    set_config('idle_in_transaction_session_timeout', $2, true)",
        )
        // What is left of the wait (at least 1 ms: 0 would mean "no limit").
        .bind(format!(
            "{}ms",
            millis(deadline.saturating_duration_since(tokio::time::Instant::now())).max(1)
        ))
        .bind(format!("{}ms", millis(HOLDER_IDLE_LIMIT)))
        .execute(&mut *tx)
        .await
        .map_err(timed_out)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(lock_name(provider, owner))
            .execute(&mut *tx)
            .await
            .map_err(timed_out)?;
        Ok(Some(RefreshGuard { tx }))
    }
}

/// The text whose hash names the advisory lock of `owner`'s connection to `provider` (an
/// operator, or a test, can take the same lock with
/// `pg_advisory_xact_lock(hashtextextended(<this>, 0))`).
pub fn lock_name(provider: &str, owner: &Owner) -> String {
    format!(
        "taskr connection refresh\n{provider}\n{}\n{}",
        owner.kind.as_str(),
        owner.id
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
