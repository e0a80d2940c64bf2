//! Readiness and gauges on SQLite (written once in `store::ops_sql`).

use sqlx::migrate::Migrator;

use super::SqliteStore;

/// The migrations compiled into this binary: run at start-up, and compared with the database's
/// record of them by readiness.
pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

crate::store::ops_sql::impl_ops_store!(
    SqliteStore,
    migrator: MIGRATOR,
    applied_migrations: "SELECT version FROM _sqlx_migrations WHERE success = 1"
);
