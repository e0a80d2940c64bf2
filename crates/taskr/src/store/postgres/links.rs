//! Attio links, workspaces and webhooks in PostgreSQL: the statements of `store::links_sql`,
//! and PostgreSQL's wording of the one they say differently.

use super::PostgresStore;

/// `IS DISTINCT FROM` compares NULLs as values; the cast tells PostgreSQL the type of a `$1`
/// that is only tested for NULL.
const RECORD_UPSTREAM: &str = "UPDATE workspaces SET upstream_problem = $1,
        upstream_problem_since_ms = CASE
            WHEN $1::TEXT IS NULL THEN NULL
            ELSE COALESCE(upstream_problem_since_ms, $2) END
     WHERE id = $3 AND upstream_problem IS DISTINCT FROM $1";

crate::store::links_sql::impl_link_store!(
    PostgresStore,
    sqlx::Postgres,
    record_upstream: RECORD_UPSTREAM
);
