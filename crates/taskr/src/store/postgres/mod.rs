//! The PostgreSQL store: for deployments where several Taskr instances share one database.
//! Same traits, same column names and row mapping as SQLite (`store::rows`); the SQL differs
//! where PostgreSQL has better tools (`FOR UPDATE SKIP LOCKED` for inbox claims, constraint
//! names for unique violations, `IS DISTINCT FROM`).

mod accounts;
mod cache;
mod connections;
mod inbox;
mod leases;
mod links;
mod ops;
mod records;

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::DatabaseUrl;

#[derive(Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
}

/// The embedded migrations, for `connect` and for tools that check the schema is current.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl PostgresStore {
    /// Connects to the database at `url` and runs pending migrations.
    ///
    /// Several instances may start at once against an empty database. sqlx's migrator
    /// serialises them: for PostgreSQL (sqlx-postgres 0.8.6, `migrate.rs`, `lock`) it takes
    /// `pg_advisory_lock(id)` with an id derived from the database name (a CRC32 of
    /// `current_database()`), before it even creates `_sqlx_migrations`, and releases it when
    /// done (`Migrator::run_direct`: lock → ensure table → apply → unlock; `locking` is on by
    /// default). The second instance waits on the lock, then finds every migration applied.
    /// Tested by `store::migrations_run_once_when_instances_start_together`.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url
            .expose()
            .parse()
            .with_context(|| format!("parsing database URL {url}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // Fail start-up (and requests) with a clear error rather than hang when the
            // server is away.
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {url}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Self { pool })
    }

    /// Where writes go: the same pool as reads (PostgreSQL has row locks, not one writer).
    pub(super) fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// The pool's connections, for the gauges.
    pub(super) fn pool_usage_now(&self) -> crate::store::PoolUsage {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        crate::store::PoolUsage {
            size,
            in_use: size.saturating_sub(idle),
        }
    }
}
