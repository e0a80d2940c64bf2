//! The names cache in PostgreSQL: `records_sql::impl_name_store!`, and the reads of a list of
//! keys, which PostgreSQL takes as arrays.

use sqlx::postgres::PgRow;
use sqlx::PgConnection;

use super::PostgresStore;

crate::store::records_sql::impl_name_store!(PostgresStore, PgConnection);

/// Called by `impl_name_store!`.
impl PostgresStore {
    async fn records_in(&self, workspace: WorkspaceId, ids: &[String]) -> StoreResult<Vec<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE workspace_id = $1 AND record_id = ANY($2)"
        ))
        .bind(workspace.to_string())
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn names_in(&self, workspace: WorkspaceId, keys: &[NameKey]) -> StoreResult<Vec<PgRow>> {
        let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        // Driven by the keys, each found through the primary key.
        Ok(sqlx::query(&format!(
            "SELECT {NAME_COLUMNS} FROM UNNEST($2::TEXT[], $3::TEXT[]) AS k (kind, id)
             JOIN names n ON n.workspace_id = $1 AND n.kind = k.kind AND n.id = k.id"
        ))
        .bind(workspace.to_string())
        .bind(&kinds)
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?)
    }
}
