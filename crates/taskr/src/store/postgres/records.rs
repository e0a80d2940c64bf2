//! The names cache in PostgreSQL: the shared statements of `store::records_sql`, run inside
//! the caller's transaction (the batch's, or one of their own); lists of keys go as arrays.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cache::upsert_task;
use super::PostgresStore;
use crate::store::cache_sql::fold;
use crate::store::records_sql::*;
use crate::store::rows::from_json;
use crate::store::rows::{name_from_row, object_from_row, record_from_row};
use crate::store::{
    CachedRecord, NameKey, NameMark, NameRead, NameStore, Names, ObjectInfo, Reads, ReadsChanged,
    RecordRead, StoreResult, Wanted, WantedName, WantedRecord, WorkspaceId,
};

/// Rewrites the task's record links (and a wanted row for each record never seen).
pub(super) async fn link_records(
    conn: &mut PgConnection,
    workspace: &str,
    task: &attio::Task,
) -> StoreResult<()> {
    let task_id = task.id.task_id.to_string();
    sqlx::query(DELETE_TASK_RECORDS)
        .bind(workspace)
        .bind(&task_id)
        .execute(&mut *conn)
        .await?;
    for link in &task.linked_records {
        let record = link.target_record_id.to_string();
        sqlx::query(INSERT_TASK_RECORD)
            .bind(workspace)
            .bind(&task_id)
            .bind(&record)
            .execute(&mut *conn)
            .await?;
        sqlx::query(RECORD_SEEN)
            .bind(workspace)
            .bind(&record)
            .bind(&link.target_object_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Writes a batch's marks, in order.
pub(super) async fn apply_marks(
    conn: &mut PgConnection,
    workspace: &str,
    marks: &[NameMark],
) -> StoreResult<()> {
    for mark in marks {
        match mark {
            NameMark::RecordSeen { object, record }
            | NameMark::RecordChanged { object, record }
            | NameMark::RecordDeleted { object, record } => {
                let sql = match mark {
                    NameMark::RecordSeen { .. } => RECORD_SEEN,
                    NameMark::RecordChanged { .. } => RECORD_CHANGED,
                    _ => RECORD_DELETED,
                };
                sqlx::query(sql)
                    .bind(workspace)
                    .bind(record.to_string())
                    .bind(object)
                    .execute(&mut *conn)
                    .await?;
            }
            NameMark::RecordMerged {
                object,
                duplicate,
                into,
            } => merge(conn, workspace, object, *duplicate, *into).await?,
            NameMark::Seen { key, parent } | NameMark::Changed { key, parent } => {
                let sql = if matches!(mark, NameMark::Seen { .. }) {
                    NAME_SEEN
                } else {
                    NAME_CHANGED
                };
                sqlx::query(sql)
                    .bind(workspace)
                    .bind(key.kind.as_str())
                    .bind(&key.id)
                    .bind(parent)
                    .execute(&mut *conn)
                    .await?;
            }
            NameMark::Deleted { key, name } => {
                sqlx::query(NAME_DELETED)
                    .bind(workspace)
                    .bind(key.kind.as_str())
                    .bind(&key.id)
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Tasks linking the duplicate link the survivor; the duplicate keeps its row, merged; the
/// survivor is wanted again.
async fn merge(
    conn: &mut PgConnection,
    workspace: &str,
    object: &str,
    duplicate: Uuid,
    into: Uuid,
) -> StoreResult<()> {
    if duplicate == into {
        return Ok(());
    }
    let linking: Vec<String> = sqlx::query_scalar(TASKS_LINKING)
        .bind(workspace)
        .bind(duplicate.to_string())
        .fetch_all(&mut *conn)
        .await?;
    for raw in linking {
        let mut task: attio::Task = from_json(&raw)?;
        if repoint(&mut task, duplicate, into, object) {
            upsert_task(conn, workspace, &task).await?;
        }
    }
    sqlx::query(RECORD_MERGED)
        .bind(workspace)
        .bind(duplicate.to_string())
        .bind(object)
        .bind(into.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(RECORD_CHANGED)
        .bind(workspace)
        .bind(into.to_string())
        .bind(object)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a row's name or deletion differs from what it was.
async fn before(
    conn: &mut PgConnection,
    sql: &str,
    binds: &[&str],
) -> StoreResult<Option<(Option<String>, bool)>> {
    let mut query = sqlx::query_as::<_, (Option<String>, bool)>(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    Ok(query.fetch_optional(&mut *conn).await?)
}

#[async_trait]
impl NameStore for PostgresStore {
    async fn mark_names(&self, workspace: WorkspaceId, marks: &[NameMark]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        apply_marks(&mut tx, &workspace.to_string(), marks).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn wanted_names(
        &self,
        workspace: WorkspaceId,
        now_ms: i64,
        limit: u32,
    ) -> StoreResult<Wanted> {
        let ws = workspace.to_string();
        let records = sqlx::query_as::<_, (String, String, i64)>(WANTED_RECORDS)
            .bind(&ws)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(record, object, attempts)| {
                Ok(WantedRecord {
                    record: crate::store::rows::parse_uuid(&record)?,
                    object,
                    attempts,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let names = sqlx::query_as::<_, (String, String, Option<String>, i64)>(WANTED_NAMES)
            .bind(&ws)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(kind, id, parent, attempts)| {
                Ok(WantedName {
                    key: NameKey {
                        kind: parse_kind(&kind)?,
                        id,
                    },
                    parent,
                    attempts,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Wanted { records, names })
    }

    #[tracing::instrument(skip_all, fields(%workspace, records = reads.records.len(), names = reads.names.len()))]
    async fn save_reads(
        &self,
        workspace: WorkspaceId,
        reads: &Reads,
        now_ms: i64,
    ) -> StoreResult<ReadsChanged> {
        let ws = workspace.to_string();
        let mut changed = ReadsChanged::default();
        let mut tx = self.pool.begin().await?;
        if let Some(objects) = &reads.objects {
            let old: Vec<ObjectInfo> = sqlx::query(OBJECTS)
                .bind(&ws)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(object_from_row)
                .collect::<StoreResult<_>>()?;
            changed.records |= !same_objects(&old, objects);
            sqlx::query(DELETE_OBJECTS)
                .bind(&ws)
                .execute(&mut *tx)
                .await?;
            for o in objects {
                sqlx::query(INSERT_OBJECT)
                    .bind(&ws)
                    .bind(o.object_id.to_string())
                    .bind(&o.api_slug)
                    .bind(&o.singular_noun)
                    .bind(&o.plural_noun)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for read in &reads.records {
            match read {
                RecordRead::Found {
                    record,
                    object_id,
                    name,
                    web_url,
                } => {
                    let id = record.to_string();
                    let was = before(&mut tx, RECORD_BEFORE, &[&ws, &id]).await?;
                    changed.records |= was != Some((name.clone(), false));
                    sqlx::query(RECORD_FOUND)
                        .bind(&ws)
                        .bind(&id)
                        .bind(object_id.map(|o| o.to_string()))
                        .bind(name)
                        .bind(web_url)
                        .bind(now_ms)
                        .bind(name.as_deref().map(fold))
                        .execute(&mut *tx)
                        .await?;
                }
                RecordRead::Gone(record) => {
                    let id = record.to_string();
                    let was = before(&mut tx, RECORD_BEFORE, &[&ws, &id]).await?;
                    changed.records |= was.is_some_and(|(_, deleted)| !deleted);
                    sqlx::query(RECORD_GONE)
                        .bind(&ws)
                        .bind(&id)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                RecordRead::Failed {
                    record,
                    problem,
                    terminal,
                    retry_at_ms,
                } => {
                    sqlx::query(RECORD_FAILED)
                        .bind(&ws)
                        .bind(record.to_string())
                        .bind(problem)
                        .bind(terminal)
                        .bind(retry_at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        for read in &reads.names {
            match read {
                NameRead::Found { key, name, parent } => {
                    let was =
                        before(&mut tx, NAME_BEFORE, &[&ws, key.kind.as_str(), &key.id]).await?;
                    changed.names |= was != Some((Some(name.clone()), false));
                    sqlx::query(NAME_FOUND)
                        .bind(&ws)
                        .bind(key.kind.as_str())
                        .bind(&key.id)
                        .bind(name)
                        .bind(parent)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                NameRead::Gone(key) => {
                    let was =
                        before(&mut tx, NAME_BEFORE, &[&ws, key.kind.as_str(), &key.id]).await?;
                    changed.names |= was.is_some_and(|(_, deleted)| !deleted);
                    sqlx::query(NAME_GONE)
                        .bind(&ws)
                        .bind(key.kind.as_str())
                        .bind(&key.id)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                NameRead::Failed {
                    key,
                    problem,
                    terminal,
                    retry_at_ms,
                } => {
                    sqlx::query(NAME_FAILED)
                        .bind(&ws)
                        .bind(key.kind.as_str())
                        .bind(&key.id)
                        .bind(problem)
                        .bind(terminal)
                        .bind(retry_at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn refresh_names(
        &self,
        workspace: WorkspaceId,
        read_before_ms: i64,
        limit: u32,
    ) -> StoreResult<u64> {
        let ws = workspace.to_string();
        let mut tx = self.pool.begin().await?;
        let refreshed = sqlx::query(REFRESH_RECORDS)
            .bind(&ws)
            .bind(read_before_ms)
            .bind(i64::from(limit))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [RETRY_FORBIDDEN_RECORDS, RETRY_FORBIDDEN_NAMES] {
            sqlx::query(sql).bind(&ws).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(refreshed)
    }

    async fn objects(&self, workspace: WorkspaceId) -> StoreResult<Vec<ObjectInfo>> {
        sqlx::query(OBJECTS)
            .bind(workspace.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(object_from_row)
            .collect()
    }

    async fn records(
        &self,
        workspace: WorkspaceId,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, CachedRecord>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE workspace_id = $1 AND record_id = ANY($2)"
        ))
        .bind(workspace.to_string())
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| record_from_row(row).map(|r| (r.record_id, r)))
        .collect()
    }

    async fn names(&self, workspace: WorkspaceId, keys: &[NameKey]) -> StoreResult<Names> {
        if keys.is_empty() {
            return Ok(Names::default());
        }
        let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        // Driven by the keys, each found through the primary key.
        let names = sqlx::query(&format!(
            "SELECT {NAME_COLUMNS} FROM UNNEST($2::TEXT[], $3::TEXT[]) AS k (kind, id)
             JOIN names n ON n.workspace_id = $1 AND n.kind = k.kind AND n.id = k.id"
        ))
        .bind(workspace.to_string())
        .bind(&kinds)
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| name_from_row(row).map(|n| (n.key.clone(), n)))
        .collect::<StoreResult<_>>()?;
        Ok(Names {
            records: HashMap::new(),
            names,
        })
    }
}
