//! Named leases: the same statements on both backends, written once (`$N` placeholders, which
//! SQLite binds by number too). Each operation is one statement (or one transaction): on
//! PostgreSQL two instances racing for a lease are ordered by the row lock of the upsert, not by
//! a read; SQLite serves one instance and serialises writers with its database lock.

/// Writes `impl LeaseStore for $store` (a store with a `pool` field for reads and a
/// `writer()` for writes).
macro_rules! impl_lease_store {
    ($store:ty) => {
        // In a block of its own, so that the imports below stay with the code that needs them.
        const _: () = {
            use $crate::store::{LeaseStore, StoreResult};

            /// Takes or extends a lease: inserted when free, updated when expired or already
            /// the holder's. On PostgreSQL a concurrent upsert of the same name waits on the row
            /// lock and then re-checks the condition against the winner's row. `RETURNING` yields
            /// a row only when the lease is ours.
            const ACQUIRE: &str = "INSERT INTO leases (name, holder, until_ms)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,
                                                  until_ms = EXCLUDED.until_ms
                 WHERE leases.until_ms <= $4 OR leases.holder = EXCLUDED.holder
                 RETURNING name";

            #[async_trait::async_trait]
            impl LeaseStore for $store {
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
                        .fetch_optional(self.writer())
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
                    let done = sqlx::query(
                        "UPDATE leases SET until_ms = $1 WHERE name = $2 AND holder = $3",
                    )
                    .bind(now_ms.saturating_add(ttl_ms))
                    .bind(name)
                    .bind(holder)
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn lease_release(&self, name: &str, holder: &str) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                        .bind(name)
                        .bind(holder)
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn lease_release_all(&self, holder: &str) -> StoreResult<u64> {
                    let mut tx = self.writer().begin().await?;
                    sqlx::query(
                        "UPDATE inbox SET lease_until_ms = NULL, lease_holder = NULL
                         WHERE lease_holder = $1 AND status = 'pending'",
                    )
                    .bind(holder)
                    .execute(&mut *tx)
                    .await?;
                    let done = sqlx::query("DELETE FROM leases WHERE holder = $1")
                        .bind(holder)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected())
                }

                async fn lease_holder(
                    &self,
                    name: &str,
                    now_ms: i64,
                ) -> StoreResult<Option<String>> {
                    Ok(sqlx::query_scalar(
                        "SELECT holder FROM leases WHERE name = $1 AND until_ms > $2",
                    )
                    .bind(name)
                    .bind(now_ms)
                    .fetch_optional(&self.pool)
                    .await?)
                }
            }
        };
    };
}

pub(crate) use impl_lease_store;
