//! Named leases in SQLite: the same statements as PostgreSQL's. SQLite serves one instance, but
//! the contract (and its tests) are the same; writers are serialised by the database lock.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::{LeaseStore, StoreResult};

/// Takes or extends a lease: inserted when free, updated when expired or already the holder's.
/// `RETURNING` yields a row only when the lease is ours.
pub(super) const ACQUIRE: &str = "INSERT INTO leases (name, holder, until_ms) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
     WHERE leases.until_ms <= ? OR leases.holder = excluded.holder
     RETURNING name";

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn lease_acquire(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> StoreResult<bool> {
        let won = sqlx::query(ACQUIRE)
            .bind(name)
            .bind(holder)
            .bind(now_ms.saturating_add(ttl_ms))
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        Ok(won.is_some())
    }

    async fn lease_renew(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE leases SET until_ms = ? WHERE name = ? AND holder = ?")
            .bind(now_ms.saturating_add(ttl_ms))
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn lease_release(&self, name: &str, holder: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM leases WHERE name = ? AND holder = ?")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn lease_release_all(&self, holder: &str) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE inbox SET lease_until_ms = NULL, lease_holder = NULL
             WHERE lease_holder = ? AND status = 'pending'",
        )
        .bind(holder)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM leases WHERE holder = ?")
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn lease_holder(&self, name: &str, now_ms: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = ? AND until_ms > ?")
                .bind(name)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
