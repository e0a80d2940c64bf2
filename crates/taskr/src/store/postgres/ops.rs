//! Readiness and gauges on PostgreSQL (written once in `store::ops_sql`).

use super::{PostgresStore, MIGRATOR};

crate::store::ops_sql::impl_ops_store!(
    PostgresStore,
    migrator: MIGRATOR,
    applied_migrations: "SELECT version FROM _sqlx_migrations WHERE success"
);
