//! Attio links, workspaces and webhooks in SQLite: the statements of `store::links_sql`, and
//! SQLite's wording of the one they say differently.

use super::SqliteStore;

/// `IS NOT` compares NULLs as values (`NULL IS NOT NULL` is false).
const RECORD_UPSTREAM: &str = "UPDATE workspaces SET upstream_problem = $1,
        upstream_problem_since_ms = CASE
            WHEN $1 IS NULL THEN NULL
            ELSE COALESCE(upstream_problem_since_ms, $2) END
     WHERE id = $3 AND upstream_problem IS NOT $1";

crate::store::links_sql::impl_link_store!(SqliteStore, sqlx::Sqlite, record_upstream: RECORD_UPSTREAM);
