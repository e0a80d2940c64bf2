//! The durable webhook inbox and the activity feed in SQLite.

use async_trait::async_trait;
use sqlx::Row;

use super::cache::{delete_task, replace_members, upsert_task};
use super::chunked::{json_ids, ChunkedValues};
use super::records::apply_marks;
use super::{parse_workspace, SqliteStore};
use crate::store::records_sql::keys_of;
use crate::store::rows::activity_from_row;
use crate::store::{
    inbox_lease, ActivityPage, ActivityQuery, AppliedBatch, Backlog, ClaimWrite, InboxHealth,
    InboxRow, InboxStore, NameStore, NewDelivery, StoreResult, WorkspaceId, INBOX_LEASE_PREFIX,
};

/// Whether `holder` still holds the workspace's inbox lease. The check and the writes after
/// it are one transaction; a SQLite transaction that writes is the only writer, so nobody can
/// take the lease over between them. The first statement writes (a no-op update) so that the
/// transaction holds the write lock from the start and never fails to upgrade a read.
async fn claim_is_ours(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    holder: &str,
    workspace: WorkspaceId,
) -> StoreResult<bool> {
    let touched = sqlx::query("UPDATE leases SET holder = holder WHERE name = ? AND holder = ?")
        .bind(inbox_lease(workspace))
        .bind(holder)
        .execute(&mut **tx)
        .await?;
    Ok(touched.rows_affected() == 1)
}

/// The group commit's insert: a delivery whose key is already stored is skipped, and only the
/// keys stored are returned.
static INSERT_DELIVERIES: ChunkedValues = ChunkedValues::new(
    "INSERT INTO inbox (idempotency_key, webhook_id, workspace_id, body, received_ms,
                        next_attempt_ms)",
    "(?, ?, ?, ?, ?, ?)",
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
);

static INSERT_ACTIVITIES: ChunkedValues = ChunkedValues::new(
    "INSERT OR IGNORE INTO activity (workspace_id, inbox_id, event_index, event_type,
        actor_type, actor_id, subject_kind, subject_id, occurred_ms, event, family)",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "",
);

#[async_trait]
impl InboxStore for SqliteStore {
    async fn inbox_insert_many(&self, deliveries: &[NewDelivery]) -> StoreResult<Vec<bool>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        // A few multi-row statements instead of one statement a row: every statement is a
        // round trip to the connection's worker thread, and the batch holds the write lock
        // for all of them.
        let mut tx = self.writer().begin().await?;
        let mut stored = std::collections::HashSet::with_capacity(deliveries.len());
        let mut rest = deliveries;
        while !rest.is_empty() {
            let (size, sql) = INSERT_DELIVERIES.next(rest.len());
            let (chunk, after) = rest.split_at(size);
            let mut query = sqlx::query_scalar::<_, String>(sql);
            for delivery in chunk {
                query = query
                    .bind(&delivery.idempotency_key)
                    .bind(delivery.webhook_id.to_string())
                    .bind(delivery.workspace_id.to_string())
                    .bind(&delivery.body)
                    .bind(delivery.received_ms)
                    .bind(delivery.received_ms);
            }
            stored.extend(query.fetch_all(&mut *tx).await?);
            rest = after;
        }
        tx.commit().await?;
        // A key seen twice in one batch is stored once: the first delivery carrying it is the
        // one inserted (rows go in in order), the others are repeats.
        Ok(deliveries
            .iter()
            .map(|d| stored.remove(&d.idempotency_key))
            .collect())
    }

    #[tracing::instrument(skip_all, fields(limit))]
    async fn inbox_claim(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<InboxRow>> {
        // A lease, not a lock: a worker that dies mid-batch leaves rows that become due again
        // when the lease runs out. One transaction whose first statement writes (so it holds
        // the database's write lock from the start): take the workspaces' leases, lease their
        // rows, give back the leases that brought no rows. The same steps as PostgreSQL's.
        let until = now_ms.saturating_add(lease_ms);
        let prefix_len = i64::try_from(INBOX_LEASE_PREFIX.len() + 1).unwrap_or(i64::MAX);
        let mut tx = self.writer().begin().await?;
        let won: Vec<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, until_ms)
             SELECT ?5 || workspace_id, ?1, ?2 FROM (
                SELECT workspace_id, MIN(id) AS first FROM inbox i
                WHERE status = 'pending' AND next_attempt_ms <= ?3
                  AND (lease_until_ms IS NULL OR lease_until_ms <= ?3)
                  AND i.workspace_id NOT IN (SELECT workspace_id FROM inbox
                                                 WHERE status = 'pending'
                                                   AND lease_until_ms > ?3)
                GROUP BY workspace_id ORDER BY first LIMIT ?4)
             WHERE true
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                                              until_ms = excluded.until_ms
             WHERE leases.until_ms <= ?3 OR leases.holder = excluded.holder
             RETURNING substr(name, ?6)",
        )
        .bind(holder)
        .bind(until)
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(INBOX_LEASE_PREFIX)
        .bind(prefix_len)
        .fetch_all(&mut *tx)
        .await?;
        if won.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let won = serde_json::to_string(&won)
            .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        let rows = sqlx::query(
            "UPDATE inbox SET lease_until_ms = ?1, lease_holder = ?2
             WHERE id IN (SELECT id FROM inbox i
                          WHERE workspace_id IN (SELECT value FROM json_each(?3))
                            AND status = 'pending' AND next_attempt_ms <= ?4
                            AND (lease_until_ms IS NULL OR lease_until_ms <= ?4)
                            AND i.workspace_id NOT IN (SELECT workspace_id FROM inbox
                                                      WHERE status = 'pending'
                                                        AND lease_until_ms > ?4)
                          ORDER BY id LIMIT ?5)
             RETURNING id, idempotency_key, workspace_id, body, received_ms, attempts",
        )
        .bind(until)
        .bind(holder)
        .bind(&won)
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM leases
             WHERE holder = ?1 AND name IN (SELECT ?2 || value FROM json_each(?3))
               AND substr(leases.name, ?4) NOT IN (SELECT workspace_id FROM inbox
                                                     WHERE status = 'pending'
                                                       AND lease_until_ms > ?5)",
        )
        .bind(holder)
        .bind(INBOX_LEASE_PREFIX)
        .bind(&won)
        .bind(prefix_len)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(InboxRow {
                    id: row.try_get("id")?,
                    idempotency_key: row.try_get("idempotency_key")?,
                    workspace_id: parse_workspace(&row.try_get::<String, _>("workspace_id")?)?,
                    body: row.try_get("body")?,
                    received_ms: row.try_get("received_ms")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    async fn inbox_renew(
        &self,
        holder: &str,
        workspace: WorkspaceId,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let until = now_ms.saturating_add(lease_ms);
        let mut tx = self.writer().begin().await?;
        let renewed = sqlx::query("UPDATE leases SET until_ms = ? WHERE name = ? AND holder = ?")
            .bind(until)
            .bind(inbox_lease(workspace))
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        if renewed.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE inbox SET lease_until_ms = ?
             WHERE workspace_id = ? AND lease_holder = ? AND status = 'pending'",
        )
        .bind(until)
        .bind(workspace.to_string())
        .bind(holder)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn inbox_next_due(&self) -> StoreResult<Option<i64>> {
        // A row waits for its next attempt and, since claims are exclusive per workspace,
        // for every lease on its workspace's rows to end.
        Ok(sqlx::query_scalar(
            "SELECT MIN(MAX(i.next_attempt_ms, COALESCE(w.busy_until, 0))) FROM inbox i
             LEFT JOIN (SELECT workspace_id, MAX(lease_until_ms) AS busy_until FROM inbox
                        WHERE status = 'pending' AND lease_until_ms IS NOT NULL
                        GROUP BY workspace_id) w ON w.workspace_id = i.workspace_id
             WHERE i.status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn inbox_release_leases(&self) -> StoreResult<u64> {
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query(
            "UPDATE inbox SET lease_until_ms = NULL, lease_holder = NULL
             WHERE status = 'pending' AND lease_until_ms IS NOT NULL",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM leases").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(workspace = %batch.workspace_id, rows = batch.done.len()))]
    async fn inbox_apply(
        &self,
        holder: &str,
        batch: &AppliedBatch,
        now_ms: i64,
    ) -> StoreResult<ClaimWrite> {
        let ws = batch.workspace_id.to_string();
        let mut tx = self.writer().begin().await?;
        if !claim_is_ours(&mut tx, holder, batch.workspace_id).await? {
            return Ok(ClaimWrite::LeaseLost);
        }
        // The cache and the feed belong to a workspace somebody still links; for one that has
        // gone, the rows are only marked done.
        let linked: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = ?)")
                .bind(&ws)
                .fetch_one(&mut *tx)
                .await?;
        if linked {
            if let Some(members) = &batch.members {
                replace_members(&mut tx, &ws, members).await?;
            }
            for task in &batch.upserts {
                upsert_task(&mut tx, &ws, task).await?;
            }
            for task in &batch.deletions {
                delete_task(&mut tx, &ws, *task).await?;
            }
            apply_marks(&mut tx, &ws, &batch.marks).await?;
            let mut rest = batch.activities.as_slice();
            while !rest.is_empty() {
                let (size, sql) = INSERT_ACTIVITIES.next(rest.len());
                let (chunk, after) = rest.split_at(size);
                let mut query = sqlx::query(sql);
                for a in chunk {
                    query = query
                        .bind(&ws)
                        .bind(a.inbox_id)
                        .bind(a.event_index)
                        .bind(&a.event_type)
                        .bind(&a.actor_type)
                        .bind(&a.actor_id)
                        .bind(&a.subject_kind)
                        .bind(&a.subject_id)
                        .bind(a.occurred_ms)
                        .bind(&a.event)
                        .bind(a.family().as_str());
                }
                query.execute(&mut *tx).await?;
                rest = after;
            }
        }
        if !batch.done.is_empty() {
            sqlx::query(
                "UPDATE inbox SET status = 'done', processed_ms = ?, lease_until_ms = NULL,
                    lease_holder = NULL, attempts = attempts + 1, last_error = NULL
                 WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'",
            )
            .bind(now_ms)
            .bind(json_ids(&batch.done))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ClaimWrite::Written)
    }

    async fn inbox_retry(
        &self,
        holder: &str,
        workspace: WorkspaceId,
        ids: &[i64],
        next_attempt_ms: i64,
        error: &str,
    ) -> StoreResult<ClaimWrite> {
        let mut tx = self.writer().begin().await?;
        if !claim_is_ours(&mut tx, holder, workspace).await? {
            return Ok(ClaimWrite::LeaseLost);
        }
        sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ?,
                lease_until_ms = NULL, lease_holder = NULL
             WHERE id IN (SELECT value FROM json_each(?)) AND workspace_id = ?
               AND status = 'pending'",
        )
        .bind(next_attempt_ms)
        .bind(error)
        .bind(json_ids(ids))
        .bind(workspace.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ClaimWrite::Written)
    }

    async fn inbox_backlog(&self, workspace: WorkspaceId) -> StoreResult<Backlog> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS waiting,
                    COALESCE(SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failing,
                    MAX(CASE WHEN last_error IS NOT NULL THEN id END) AS last_failing
             FROM inbox WHERE workspace_id = ? AND status = 'pending'",
        )
        .bind(workspace.to_string())
        .fetch_one(&self.pool)
        .await?;
        let last_failing: Option<i64> = row.try_get("last_failing")?;
        let last_error = match last_failing {
            Some(id) => {
                sqlx::query_scalar("SELECT last_error FROM inbox WHERE id = ?")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?
            }
            None => None,
        };
        Ok(Backlog {
            waiting: u64::try_from(row.try_get::<i64, _>("waiting")?).unwrap_or(0),
            failing: u64::try_from(row.try_get::<i64, _>("failing")?).unwrap_or(0),
            last_error,
        })
    }

    async fn inbox_health(
        &self,
        workspace: WorkspaceId,
        now_ms: i64,
        late_after_ms: i64,
    ) -> StoreResult<InboxHealth> {
        let ws = workspace.to_string();
        let late = "workspace_id = ?1 AND status = 'pending'
                    AND (attempts > 0 OR received_ms <= ?2)";
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS waiting, MIN(received_ms) AS oldest,
                    (SELECT MIN(received_ms) FROM inbox
                     WHERE workspace_id = ?1 AND status = 'pending'
                       AND attempts = 0 AND received_ms > ?2) AS next_fresh
             FROM inbox WHERE {late}"
        ))
        .bind(&ws)
        .bind(now_ms - late_after_ms)
        .fetch_one(&self.pool)
        .await?;
        let last_error: Option<String> = sqlx::query_scalar(&format!(
            "SELECT last_error FROM inbox WHERE {late} AND last_error IS NOT NULL
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(&ws)
        .bind(now_ms - late_after_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(InboxHealth {
            waiting: u64::try_from(row.try_get::<i64, _>("waiting")?).unwrap_or(0),
            oldest_received_ms: row.try_get("oldest")?,
            last_error,
            next_late_ms: row
                .try_get::<Option<i64>, _>("next_fresh")?
                .map(|received| received + late_after_ms),
        })
    }

    async fn inbox_defer(
        &self,
        workspace: WorkspaceId,
        until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE inbox SET next_attempt_ms = ?
             WHERE workspace_id = ? AND status = 'pending'
               AND (lease_until_ms IS NULL OR lease_until_ms <= ?)",
        )
        .bind(until_ms)
        .bind(workspace.to_string())
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn inbox_wake(&self, workspace: WorkspaceId, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE inbox SET next_attempt_ms = ?
             WHERE workspace_id = ? AND status = 'pending' AND next_attempt_ms > ?",
        )
        .bind(now_ms)
        .bind(workspace.to_string())
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn inbox_purge(&self, before_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM inbox WHERE status = 'done' AND received_ms < ?")
            .bind(before_ms)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    async fn activity(
        &self,
        workspace: WorkspaceId,
        query: &ActivityQuery,
    ) -> StoreResult<ActivityPage> {
        // Only the filters that are set, so that SQLite picks the index that starts with one
        // (`activity_by_type`, `activity_by_family`, `activity_by_actor`).
        let mut conditions = vec!["a.workspace_id = ?"];
        let mut values = vec![workspace.to_string()];
        if let Some(event_type) = &query.event_type {
            conditions.push("a.event_type = ?");
            values.push(event_type.clone());
        }
        if let Some(family) = query.family {
            conditions.push("a.family = ?");
            values.push(family.as_str().to_owned());
        }
        if let Some(actor) = query.actor {
            conditions.push("a.actor_id = ?");
            values.push(actor.to_string());
        }
        let filter = conditions.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM activity a WHERE {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for value in &values {
            count = count.bind(value);
        }
        let total = count.fetch_one(&self.pool).await?;
        let list_sql = format!(
            "SELECT a.id, a.event_type, a.actor_type, a.actor_id, a.subject_kind, a.subject_id,
                    a.occurred_ms, a.event, t.data AS task
             FROM activity a
             LEFT JOIN tasks t ON t.workspace_id = a.workspace_id
                AND a.subject_kind = 'task' AND t.task_id = a.subject_id
             WHERE {filter}
             ORDER BY a.id DESC LIMIT ? OFFSET ?"
        );
        let mut list = sqlx::query(&list_sql);
        for value in &values {
            list = list.bind(value);
        }
        let rows = list
            .bind(i64::from(query.limit))
            .bind(i64::from(query.offset))
            .fetch_all(&self.pool)
            .await?;
        let entries = rows
            .iter()
            .map(activity_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let (record_ids, keys) = keys_of(&entries);
        let mut names = self.names(workspace, &keys).await?;
        names.records = self.records(workspace, &record_ids).await?;
        Ok(ActivityPage {
            entries,
            total: u64::try_from(total).unwrap_or(0),
            names,
        })
    }
}
