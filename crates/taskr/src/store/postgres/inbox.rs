//! The durable webhook inbox and the activity feed in PostgreSQL.

use async_trait::async_trait;

use super::cache::{delete_task, replace_members, upsert_task};
use super::records::apply_marks;
use super::PostgresStore;
use crate::store::records_sql::keys_of;
use crate::store::rows::{activity_from_row, inbox_row_from_row, StoreRow};
use crate::store::{
    inbox_lease, ActivityPage, ActivityQuery, AppliedBatch, Backlog, ClaimWrite, InboxHealth,
    InboxRow, InboxStore, NameStore, NewActivity, NewDelivery, StoreResult, WorkspaceId,
    INBOX_LEASE_PREFIX,
};

/// Whether `holder` still holds the workspace's inbox lease, locking the lease row until the
/// transaction ends: a claim that would take it over waits, so what this transaction writes
/// cannot land after another instance started on the workspace. An expired lease nobody took
/// is still the holder's (nobody else can have claimed the workspace's rows meanwhile).
async fn claim_is_ours(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    holder: &str,
    workspace: WorkspaceId,
) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM leases WHERE name = $1 AND holder = $2 FOR UPDATE")
            .bind(inbox_lease(workspace))
            .bind(holder)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// The feed entries of a batch in one statement (one round trip however many), in the batch's
/// order; an entry already stored (a batch applied twice) is skipped.
async fn insert_activities(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    workspace: &str,
    activities: &[NewActivity],
) -> StoreResult<()> {
    let column = |f: fn(&NewActivity) -> Option<&str>| -> Vec<Option<&str>> {
        activities.iter().map(f).collect()
    };
    let inbox_ids: Vec<i64> = activities.iter().map(|a| a.inbox_id).collect();
    let indexes: Vec<i64> = activities.iter().map(|a| a.event_index).collect();
    let occurred: Vec<i64> = activities.iter().map(|a| a.occurred_ms).collect();
    sqlx::query(
        "INSERT INTO activity (workspace_id, inbox_id, event_index, event_type, actor_type,
            actor_id, subject_kind, subject_id, occurred_ms, event, family)
         SELECT $1, i, e, t, at, ai, sk, si, o, ev, f
         FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                     $7::TEXT[], $8::TEXT[], $9::BIGINT[], $10::TEXT[], $11::TEXT[])
              WITH ORDINALITY AS a(i, e, t, at, ai, sk, si, o, ev, f, n)
         ORDER BY n
         ON CONFLICT (inbox_id, event_index) DO NOTHING",
    )
    .bind(workspace)
    .bind(&inbox_ids)
    .bind(&indexes)
    .bind(column(|a| Some(a.event_type.as_str())))
    .bind(column(|a| a.actor_type.as_deref()))
    .bind(column(|a| a.actor_id.as_deref()))
    .bind(column(|a| a.subject_kind.as_deref()))
    .bind(column(|a| a.subject_id.as_deref()))
    .bind(&occurred)
    .bind(column(|a| a.event.as_deref()))
    .bind(column(|a| Some(a.family().as_str())))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl InboxStore for PostgresStore {
    async fn inbox_insert_many(&self, deliveries: &[NewDelivery]) -> StoreResult<Vec<bool>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch (one round trip, one commit): the group commit's
        // batches are only worth their wait if writing them does not cost a round trip a row.
        let mut keys = Vec::with_capacity(deliveries.len());
        let mut webhooks = Vec::with_capacity(deliveries.len());
        let mut workspaces = Vec::with_capacity(deliveries.len());
        let mut bodies = Vec::with_capacity(deliveries.len());
        let mut received = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            keys.push(delivery.idempotency_key.as_str());
            webhooks.push(delivery.webhook_id.to_string());
            workspaces.push(delivery.workspace_id.to_string());
            bodies.push(delivery.body.as_slice());
            received.push(delivery.received_ms);
        }
        let stored: Vec<String> = sqlx::query_scalar(
            "INSERT INTO inbox (idempotency_key, webhook_id, workspace_id, body, received_ms,
                                next_attempt_ms)
             SELECT k, w, ws, b, r, r
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BYTEA[], $5::BIGINT[])
                  WITH ORDINALITY AS d(k, w, ws, b, r, n)
             ORDER BY n
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING idempotency_key",
        )
        .bind(&keys)
        .bind(&webhooks)
        .bind(&workspaces)
        .bind(&bodies)
        .bind(&received)
        .fetch_all(&self.pool)
        .await?;
        // A key seen twice in one batch is stored once: the first delivery carrying it is the
        // one inserted, the others are repeats (as if they had come after it).
        let mut fresh: std::collections::HashSet<String> = stored.into_iter().collect();
        Ok(deliveries
            .iter()
            .map(|d| fresh.remove(&d.idempotency_key))
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
        // A lease, not a lock held open: a worker that dies mid-batch leaves rows that become
        // due again when the lease runs out. One transaction: take the workspaces' leases,
        // lease their rows, give back the leases that brought no rows.
        let until = now_ms.saturating_add(lease_ms);
        let prefix_len = i32::try_from(INBOX_LEASE_PREFIX.len() + 1).unwrap_or(i32::MAX);
        let mut tx = self.pool.begin().await?;
        // Workspaces with a due row and no row leased (by anyone: so not even two claims of
        // one instance overlap), oldest due row first. Their leases are taken in name order,
        // so that concurrent claims lock lease rows in one order and never deadlock; a lease
        // row another claim is writing is waited for (briefly), then its new state decides.
        let won: Vec<String> = sqlx::query_scalar(
            "WITH candidates AS (
                SELECT workspace_id FROM inbox i
                WHERE status = 'pending' AND next_attempt_ms <= $3
                  AND (lease_until_ms IS NULL OR lease_until_ms <= $3)
                  AND i.workspace_id NOT IN (SELECT workspace_id FROM inbox
                                                 WHERE status = 'pending'
                                                   AND lease_until_ms > $3)
                GROUP BY workspace_id ORDER BY MIN(id) LIMIT $4)
             INSERT INTO leases (name, holder, until_ms)
             SELECT $5::TEXT || workspace_id, $1, $2 FROM candidates ORDER BY 1
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,
                                              until_ms = EXCLUDED.until_ms
             WHERE leases.until_ms <= $3 OR leases.holder = EXCLUDED.holder
             RETURNING substr(name, $6)",
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
        // `SKIP LOCKED` lets several instances claim at once without waiting on each other's
        // rows. A workspace with rows leased meanwhile (another claim of this holder that
        // committed while this one waited for the lease) is skipped.
        let rows = sqlx::query(
            "UPDATE inbox SET lease_until_ms = $1, lease_holder = $2
             WHERE id IN (SELECT id FROM inbox i
                          WHERE workspace_id = ANY($3) AND status = 'pending'
                            AND next_attempt_ms <= $4
                            AND (lease_until_ms IS NULL OR lease_until_ms <= $4)
                            AND i.workspace_id NOT IN (SELECT workspace_id FROM inbox
                                                      WHERE status = 'pending'
                                                        AND lease_until_ms > $4)
                          ORDER BY id LIMIT $5
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, idempotency_key, workspace_id, body, received_ms, attempts",
        )
        .bind(until)
        .bind(holder)
        .bind(&won)
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        // Leases that brought no rows (the limit was reached first) go back at once.
        sqlx::query(
            "DELETE FROM leases
             WHERE holder = $1 AND name = ANY(SELECT $2::TEXT || w FROM unnest($3::TEXT[]) AS w)
               AND substr(leases.name, $4) NOT IN (SELECT workspace_id FROM inbox
                                                     WHERE status = 'pending'
                                                       AND lease_until_ms > $5)",
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
            .map(inbox_row_from_row)
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
        let mut tx = self.pool.begin().await?;
        let renewed =
            sqlx::query("UPDATE leases SET until_ms = $1 WHERE name = $2 AND holder = $3")
                .bind(until)
                .bind(inbox_lease(workspace))
                .bind(holder)
                .execute(&mut *tx)
                .await?;
        if renewed.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE inbox SET lease_until_ms = $1
             WHERE workspace_id = $2 AND lease_holder = $3 AND status = 'pending'",
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
            "SELECT MIN(GREATEST(i.next_attempt_ms, COALESCE(w.busy_until, 0))) FROM inbox i
             LEFT JOIN (SELECT workspace_id, MAX(lease_until_ms) AS busy_until FROM inbox
                        WHERE status = 'pending' AND lease_until_ms IS NOT NULL
                        GROUP BY workspace_id) w ON w.workspace_id = i.workspace_id
             WHERE i.status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn inbox_release_leases(&self) -> StoreResult<u64> {
        // Not called at start-up for PostgreSQL (see `app.rs`); kept for the trait's contract
        // (an operator's tool, or the single-instance case).
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        if !claim_is_ours(&mut tx, holder, batch.workspace_id).await? {
            return Ok(ClaimWrite::LeaseLost);
        }
        // The cache and the feed belong to a workspace somebody still links; for one that has
        // gone, the rows are only marked done. Locking the workspace row orders this batch
        // with a full sync of the same workspace (which takes the same lock first).
        let linked = sqlx::query("SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE")
            .bind(&ws)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
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
            if !batch.activities.is_empty() {
                insert_activities(&mut tx, &ws, &batch.activities).await?;
            }
        }
        sqlx::query(
            "UPDATE inbox SET status = 'done', processed_ms = $1, lease_until_ms = NULL,
                lease_holder = NULL, attempts = attempts + 1, last_error = NULL
             WHERE id = ANY($2) AND status = 'pending'",
        )
        .bind(now_ms)
        .bind(&batch.done)
        .execute(&mut *tx)
        .await?;
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
        let mut tx = self.pool.begin().await?;
        if !claim_is_ours(&mut tx, holder, workspace).await? {
            return Ok(ClaimWrite::LeaseLost);
        }
        sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, next_attempt_ms = $1, last_error = $2,
                lease_until_ms = NULL, lease_holder = NULL
             WHERE id = ANY($3) AND workspace_id = $4 AND status = 'pending'",
        )
        .bind(next_attempt_ms)
        .bind(error)
        .bind(ids)
        .bind(workspace.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ClaimWrite::Written)
    }

    async fn inbox_backlog(&self, workspace: WorkspaceId) -> StoreResult<Backlog> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS waiting,
                    COUNT(*) FILTER (WHERE last_error IS NOT NULL) AS failing,
                    (SELECT last_error FROM inbox
                     WHERE workspace_id = $1 AND status = 'pending' AND last_error IS NOT NULL
                     ORDER BY id DESC LIMIT 1) AS last_error
             FROM inbox WHERE workspace_id = $1 AND status = 'pending'",
        )
        .bind(workspace.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(Backlog {
            waiting: u64::try_from(row.int("waiting")?).unwrap_or(0),
            failing: u64::try_from(row.int("failing")?).unwrap_or(0),
            last_error: row.opt_text("last_error")?,
        })
    }

    async fn inbox_health(
        &self,
        workspace: WorkspaceId,
        now_ms: i64,
        late_after_ms: i64,
    ) -> StoreResult<InboxHealth> {
        let row = sqlx::query(
            "WITH late AS (
                SELECT id, received_ms, last_error FROM inbox
                WHERE workspace_id = $1 AND status = 'pending'
                  AND (attempts > 0 OR received_ms <= $2))
             SELECT COUNT(*) AS waiting, MIN(received_ms) AS oldest,
                    (SELECT last_error FROM late WHERE last_error IS NOT NULL
                     ORDER BY id DESC LIMIT 1) AS last_error,
                    (SELECT MIN(received_ms) FROM inbox
                     WHERE workspace_id = $1 AND status = 'pending'
                       AND attempts = 0 AND received_ms > $2) AS next_fresh
             FROM late",
        )
        .bind(workspace.to_string())
        .bind(now_ms - late_after_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(InboxHealth {
            waiting: u64::try_from(row.int("waiting")?).unwrap_or(0),
            oldest_received_ms: row.opt_int("oldest")?,
            last_error: row.opt_text("last_error")?,
            next_late_ms: row
                .opt_int("next_fresh")?
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
            "UPDATE inbox SET next_attempt_ms = $1
             WHERE workspace_id = $2 AND status = 'pending'
               AND (lease_until_ms IS NULL OR lease_until_ms <= $3)",
        )
        .bind(until_ms)
        .bind(workspace.to_string())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn inbox_wake(&self, workspace: WorkspaceId, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE inbox SET next_attempt_ms = $1
             WHERE workspace_id = $2 AND status = 'pending' AND next_attempt_ms > $1",
        )
        .bind(now_ms)
        .bind(workspace.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn inbox_purge(&self, before_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM inbox WHERE status = 'done' AND received_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn activity(
        &self,
        workspace: WorkspaceId,
        query: &ActivityQuery,
    ) -> StoreResult<ActivityPage> {
        // $1 the workspace, $2 the event type, $3 the family, $4 the actor (NULL: any), $5/$6
        // limit and offset.
        let filter = "a.workspace_id = $1 AND ($2::TEXT IS NULL OR a.event_type = $2)
                      AND ($3::TEXT IS NULL OR a.family = $3)
                      AND ($4::TEXT IS NULL OR a.actor_id = $4)";
        let ws = workspace.to_string();
        let family = query.family.map(|f| f.as_str());
        let actor = query.actor.map(|a| a.to_string());
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM activity a WHERE {filter}"))
                .bind(&ws)
                .bind(&query.event_type)
                .bind(family)
                .bind(&actor)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT a.id, a.event_type, a.actor_type, a.actor_id, a.subject_kind, a.subject_id,
                    a.occurred_ms, a.event, t.data AS task
             FROM activity a
             LEFT JOIN tasks t ON t.workspace_id = a.workspace_id
                AND a.subject_kind = 'task' AND t.task_id = a.subject_id
             WHERE {filter}
             ORDER BY a.id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&ws)
        .bind(&query.event_type)
        .bind(family)
        .bind(&actor)
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
