//! Readiness and gauges on PostgreSQL: which embedded migrations the database has applied, the
//! inbox as a whole, and the pool.

use async_trait::async_trait;
use sqlx::Row;

use super::{PostgresStore, MIGRATOR};
use crate::store::{InboxTotals, OpsStore, PoolUsage, StoreResult};

#[async_trait]
impl OpsStore for PostgresStore {
    async fn schema_missing(&self) -> StoreResult<Vec<i64>> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?;
        Ok(MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .filter(|version| !applied.contains(version))
            .collect())
    }

    async fn inbox_totals(&self) -> StoreResult<InboxTotals> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, MIN(received_ms) AS oldest
             FROM inbox WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(InboxTotals {
            pending: u64::try_from(row.try_get::<i64, _>("pending")?).unwrap_or(0),
            oldest_received_ms: row.try_get("oldest")?,
        })
    }

    fn pool_usage(&self) -> PoolUsage {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUsage {
            size,
            in_use: size.saturating_sub(idle),
        }
    }
}
