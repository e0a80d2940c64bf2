//! Readiness and gauges: what both backends compute the same way, written once.

/// Writes `impl OpsStore for $store` (a store with a `pool` field and a `pool_usage_now`). The
/// backend passes the migrations compiled into the binary and the statement that lists the
/// versions its database records as applied (`success` is an integer in SQLite's
/// `_sqlx_migrations`, a boolean in PostgreSQL's).
macro_rules! impl_ops_store {
    ($store:ty, migrator: $migrator:expr, applied_migrations: $applied_migrations:expr) => {
        // In a block of its own, so that the imports below stay with the code that needs them.
        const _: () = {
            use sqlx::Row;

            use $crate::store::{InboxTotals, OpsStore, PoolUsage, StoreResult};

            #[async_trait::async_trait]
            impl OpsStore for $store {
                async fn schema_missing(&self) -> StoreResult<Vec<i64>> {
                    let applied: Vec<i64> = sqlx::query_scalar($applied_migrations)
                        .fetch_all(&self.pool)
                        .await?;
                    Ok($migrator
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
                    self.pool_usage_now()
                }
            }
        };
    };
}
pub(super) use impl_ops_store;
