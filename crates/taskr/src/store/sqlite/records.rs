//! The names cache in SQLite: `records_sql::impl_name_store!`, and the reads of a list of keys,
//! which SQLite takes as one JSON array (`json_each`).

use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use super::SqliteStore;

crate::store::records_sql::impl_name_store!(SqliteStore, SqliteConnection);

/// Called by `impl_name_store!`.
impl SqliteStore {
    async fn records_in(
        &self,
        workspace: WorkspaceId,
        ids: &[String],
    ) -> StoreResult<Vec<SqliteRow>> {
        let json = serde_json::to_string(&ids)
            .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        Ok(sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records
             WHERE workspace_id = ? AND record_id IN (SELECT value FROM json_each(?))"
        ))
        .bind(workspace.to_string())
        .bind(json)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn names_in(
        &self,
        workspace: WorkspaceId,
        keys: &[NameKey],
    ) -> StoreResult<Vec<SqliteRow>> {
        let pairs: Vec<(&str, &str)> = keys
            .iter()
            .map(|k| (k.kind.as_str(), k.id.as_str()))
            .collect();
        let json = serde_json::to_string(&pairs)
            .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        // Driven by the keys, each found through the primary key.
        Ok(sqlx::query(&format!(
            "SELECT {NAME_COLUMNS} FROM json_each(?2) k JOIN names n
                ON n.workspace_id = ?1 AND n.kind = json_extract(k.value, '$[0]')
               AND n.id = json_extract(k.value, '$[1]')"
        ))
        .bind(workspace.to_string())
        .bind(json)
        .fetch_all(&self.pool)
        .await?)
    }
}
