//! The names cache (records, objects, other names, task links): the statements both backends
//! run (numbered placeholders serve both; booleans as `TRUE`/`FALSE`, which SQLite reads as 1
//! and 0) and what is worked out once in Rust (re-pointing a merged record's tasks, the keys
//! a page of the feed refers to). How each backend writes a list stays with it.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{refs_of, Activity, NameKey, NameRef};

/// A task's link to a record (`task_records`), kept with the task like its assignees.
pub(super) const DELETE_TASK_RECORDS: &str =
    "DELETE FROM task_records WHERE workspace_id = $1 AND task_id = $2";

pub(super) const INSERT_TASK_RECORD: &str =
    "INSERT INTO task_records (workspace_id, task_id, record_id) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING";

/// A record seen for the first time: a placeholder row, wanted from Attio.
pub(super) const RECORD_SEEN: &str =
    "INSERT INTO records (workspace_id, record_id, object) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id, record_id) DO NOTHING";

/// A record that changed: wanted again at once.
pub(super) const RECORD_CHANGED: &str =
    "INSERT INTO records (workspace_id, record_id, object) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id, record_id) DO UPDATE SET
        stale = TRUE, retry_at_ms = 0, attempts = 0";

pub(super) const RECORD_DELETED: &str =
    "INSERT INTO records (workspace_id, record_id, object, deleted, stale) VALUES ($1, $2, $3, TRUE, FALSE)
     ON CONFLICT (workspace_id, record_id) DO UPDATE SET deleted = TRUE, stale = FALSE";

/// The duplicate of a merge keeps its row (and name), pointing at the survivor ($4).
pub(super) const RECORD_MERGED: &str =
    "INSERT INTO records (workspace_id, record_id, object, merged_into, stale)
     VALUES ($1, $2, $3, $4, FALSE)
     ON CONFLICT (workspace_id, record_id) DO UPDATE SET merged_into = $4, stale = FALSE";

/// The cached tasks linking a record, to be re-pointed.
pub(super) const TASKS_LINKING: &str = "SELECT t.data FROM tasks t JOIN task_records l
        ON l.workspace_id = t.workspace_id AND l.task_id = t.task_id
     WHERE l.workspace_id = $1 AND l.record_id = $2";

pub(super) const NAME_SEEN: &str =
    "INSERT INTO names (workspace_id, kind, id, parent) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace_id, kind, id) DO NOTHING";

pub(super) const NAME_CHANGED: &str =
    "INSERT INTO names (workspace_id, kind, id, parent) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace_id, kind, id) DO UPDATE SET
        stale = TRUE, retry_at_ms = 0, attempts = 0,
        parent = COALESCE(excluded.parent, names.parent)";

/// Deleted in Attio: never read again; the last known name stays unless one is given ($4).
pub(super) const NAME_DELETED: &str =
    "INSERT INTO names (workspace_id, kind, id, name, deleted, stale) VALUES ($1, $2, $3, $4, TRUE, FALSE)
     ON CONFLICT (workspace_id, kind, id) DO UPDATE SET
        deleted = TRUE, stale = FALSE, name = COALESCE(excluded.name, names.name)";

pub(super) const WANTED_RECORDS: &str = "SELECT record_id, object, attempts FROM records
     WHERE workspace_id = $1 AND stale = TRUE AND retry_at_ms <= $2
     ORDER BY retry_at_ms, record_id LIMIT $3";

pub(super) const WANTED_NAMES: &str = "SELECT kind, id, parent, attempts FROM names
     WHERE workspace_id = $1 AND stale = TRUE AND retry_at_ms <= $2
     ORDER BY retry_at_ms, kind, id LIMIT $3";

pub(super) const RECORD_BEFORE: &str =
    "SELECT name, deleted FROM records WHERE workspace_id = $1 AND record_id = $2";

pub(super) const RECORD_FOUND: &str =
    "UPDATE records SET object_id = $3, name = $4, web_url = $5, deleted = FALSE, fetched_ms = $6,
        stale = FALSE, attempts = 0, retry_at_ms = 0, problem = NULL, name_key = $7
     WHERE workspace_id = $1 AND record_id = $2";

pub(super) const RECORD_GONE: &str =
    "UPDATE records SET deleted = TRUE, fetched_ms = $3, stale = FALSE, attempts = 0,
        retry_at_ms = 0, problem = NULL
     WHERE workspace_id = $1 AND record_id = $2";

/// $3 the problem, $4 whether it is for good (no scope), $5 when to try again.
pub(super) const RECORD_FAILED: &str =
    "UPDATE records SET problem = $3, stale = NOT $4, attempts = attempts + 1, retry_at_ms = $5
     WHERE workspace_id = $1 AND record_id = $2";

pub(super) const NAME_BEFORE: &str =
    "SELECT name, deleted FROM names WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const NAME_FOUND: &str =
    "UPDATE names SET name = $4, parent = COALESCE($5, parent), deleted = FALSE, fetched_ms = $6,
        stale = FALSE, attempts = 0, retry_at_ms = 0, problem = NULL
     WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const NAME_GONE: &str =
    "UPDATE names SET deleted = TRUE, fetched_ms = $4, stale = FALSE, attempts = 0,
        retry_at_ms = 0, problem = NULL
     WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const NAME_FAILED: &str =
    "UPDATE names SET problem = $4, stale = NOT $5, attempts = attempts + 1, retry_at_ms = $6
     WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const DELETE_OBJECTS: &str = "DELETE FROM objects WHERE workspace_id = $1";

pub(super) const INSERT_OBJECT: &str =
    "INSERT INTO objects (workspace_id, object_id, api_slug, singular_noun, plural_noun)
     VALUES ($1, $2, $3, $4, $5)";

pub(super) const OBJECTS: &str =
    "SELECT object_id, api_slug, singular_noun, plural_noun FROM objects WHERE workspace_id = $1";

/// Records tasks link that were last read before $2 (never read counts as oldest), at most $3.
pub(super) const REFRESH_RECORDS: &str =
    "UPDATE records SET stale = TRUE, retry_at_ms = 0, attempts = 0
     WHERE workspace_id = $1 AND record_id IN (
        SELECT r.record_id FROM records r
        WHERE r.workspace_id = $1 AND r.deleted = FALSE AND r.merged_into IS NULL
          AND COALESCE(r.fetched_ms, 0) < $2
          AND EXISTS (SELECT 1 FROM task_records l
                      WHERE l.workspace_id = r.workspace_id AND l.record_id = r.record_id)
        ORDER BY COALESCE(r.fetched_ms, 0), r.record_id LIMIT $3)";

/// Names and records a missing scope kept from being read: tried again (a scope check costs
/// no request while the link still lacks it).
pub(super) const RETRY_FORBIDDEN_RECORDS: &str =
    "UPDATE records SET stale = TRUE, retry_at_ms = 0 WHERE workspace_id = $1 AND problem = 'forbidden'";

pub(super) const RETRY_FORBIDDEN_NAMES: &str =
    "UPDATE names SET stale = TRUE, retry_at_ms = 0 WHERE workspace_id = $1 AND problem = 'forbidden'";

/// The columns a `CachedRecord` is read from.
pub(super) const RECORD_COLUMNS: &str =
    "record_id, object, object_id, name, web_url, deleted, merged_into, fetched_ms, problem";

pub(super) const NAME_COLUMNS: &str = "n.kind, n.id, n.parent, n.name, n.deleted, n.problem";

/// The task's links after `duplicate` was merged into `into` (of `object`): each link to the
/// duplicate goes to the survivor, once. False when the task did not link the duplicate.
pub(super) fn repoint(task: &mut attio::Task, duplicate: Uuid, into: Uuid, object: &str) -> bool {
    if !task
        .linked_records
        .iter()
        .any(|l| l.target_record_id == duplicate)
    {
        return false;
    }
    let mut seen = BTreeSet::new();
    let links = std::mem::take(&mut task.linked_records);
    for mut link in links {
        if link.target_record_id == duplicate {
            link.target_record_id = into;
            link.target_object_id = object.to_owned();
        }
        if seen.insert(link.target_record_id) {
            task.linked_records.push(link);
        }
    }
    true
}

/// The records and other names a page of the feed refers to.
pub(super) fn keys_of(entries: &[Activity]) -> (Vec<Uuid>, Vec<NameKey>) {
    let mut records = BTreeSet::new();
    let mut names = BTreeSet::new();
    for entry in entries {
        let Some(event) = &entry.event else { continue };
        for reference in refs_of(event) {
            match reference {
                NameRef::Record { record, .. } => {
                    records.insert(record);
                }
                NameRef::Name { key, .. } => {
                    names.insert(key);
                }
            }
        }
    }
    (records.into_iter().collect(), names.into_iter().collect())
}

/// Whether two object lists say the same, whatever their order.
pub(super) fn same_objects(a: &[super::ObjectInfo], b: &[super::ObjectInfo]) -> bool {
    fn key(list: &[super::ObjectInfo]) -> Vec<(Uuid, &str, &str, &str)> {
        let mut list: Vec<_> = list
            .iter()
            .map(|o| {
                let nouns = (o.singular_noun.as_str(), o.plural_noun.as_str());
                (o.object_id, o.api_slug.as_str(), nouns.0, nouns.1)
            })
            .collect();
        list.sort();
        list
    }
    key(a) == key(b)
}

/// The record ids a page of tasks links.
pub(super) fn linked_ids(tasks: &[attio::Task]) -> Vec<Uuid> {
    let ids: BTreeSet<Uuid> = tasks
        .iter()
        .flat_map(|t| t.linked_records.iter().map(|l| l.target_record_id))
        .collect();
    ids.into_iter().collect()
}

/// Writes the names cache for a backend (`$store`, whose transactions are on `$conn`): the
/// statements above, run inside the caller's transaction (a batch's, or one of their own). Both
/// backends share all of it but the two reads of a list of keys, which each writes its own way
/// as inherent methods called from here: `records_in(workspace, ids)` (SQLite through
/// `json_each`, PostgreSQL through `= ANY`) and `names_in(workspace, keys)`.
macro_rules! impl_name_store {
    ($store:ty, $conn:ty) => {
        use std::collections::HashMap;

        use async_trait::async_trait;
        use uuid::Uuid;

        use super::cache::upsert_task;
        use $crate::store::cache_sql::fold;
        use $crate::store::records_sql::*;
        use $crate::store::rows::{from_json, name_from_row, object_from_row, record_from_row};
        use $crate::store::{
            CachedRecord, NameKey, NameMark, NameRead, NameStore, Names, ObjectInfo, Reads,
            ReadsChanged, RecordRead, StoreResult, Wanted, WantedName, WantedRecord, WorkspaceId,
        };

        /// Rewrites the task's record links (and a wanted row for each record never seen).
        pub(super) async fn link_records(
            conn: &mut $conn,
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
            conn: &mut $conn,
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
            conn: &mut $conn,
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
            conn: &mut $conn,
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
        impl NameStore for $store {
            async fn mark_names(&self, workspace: WorkspaceId, marks: &[NameMark]) -> StoreResult<()> {
                let mut tx = self.writer().begin().await?;
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
                                kind: $crate::store::rows::parse_kind(&kind)?,
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
                let mut tx = self.writer().begin().await?;
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
                let mut tx = self.writer().begin().await?;
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
                self.records_in(workspace, &ids)
                    .await?
                    .iter()
                    .map(|row| record_from_row(row).map(|r| (r.record_id, r)))
                    .collect()
            }

            async fn names(&self, workspace: WorkspaceId, keys: &[NameKey]) -> StoreResult<Names> {
                if keys.is_empty() {
                    return Ok(Names::default());
                }
                let names = self
                    .names_in(workspace, keys)
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
    };
}
pub(super) use impl_name_store;

#[cfg(test)]
mod tests {
    use super::*;

    fn task(links: &[Uuid]) -> attio::Task {
        serde_json::from_value(serde_json::json!({
            "id": {"workspace_id": Uuid::nil(), "task_id": Uuid::nil()},
            "linked_records": links.iter().map(|id| serde_json::json!({
                "target_object_id": "people", "target_record_id": id
            })).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn a_merge_repoints_links_once_and_leaves_other_tasks_alone() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut both = task(&[a, b, c]);
        assert!(repoint(&mut both, b, a, "obj"));
        let ids: Vec<Uuid> = both
            .linked_records
            .iter()
            .map(|l| l.target_record_id)
            .collect();
        assert_eq!(ids, vec![a, c], "the survivor is linked once");
        let mut one = task(&[b]);
        assert!(repoint(&mut one, b, a, "obj"));
        assert_eq!(one.linked_records[0].target_record_id, a);
        assert_eq!(one.linked_records[0].target_object_id, "obj");
        let mut other = task(&[c]);
        assert!(!repoint(&mut other, b, a, "obj"));
        assert_eq!(other.linked_records[0].target_record_id, c);
    }
}
