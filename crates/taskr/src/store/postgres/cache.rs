//! The per-workspace cache of tasks and members in PostgreSQL: the shared statements and sync
//! diff of `store::cache_sql`, list writes through `UNNEST`, and a row lock per full sync.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use super::PostgresStore;
use crate::store::cache_sql::{
    plan_sync, task_listing, TaskKeys, CACHED_TASKS, DELETE_MEMBERS, DELETE_TASK,
    DELETE_TASK_ASSIGNEES, MARK_SYNCED, TASK_COUNT, TASK_DATA, UPSERT_TASK,
};
use crate::store::records_sql::linked_ids;
use crate::store::rows::{from_json, to_json};
use crate::store::{
    CacheDiff, CacheStore, NameStore, StoreResult, TaskList, TaskQuery, WorkspaceId,
};

/// Writes one task (and its assignee and record indexes) into the cache.
pub(super) async fn upsert_task(
    conn: &mut PgConnection,
    workspace: &str,
    task: &attio::Task,
) -> StoreResult<()> {
    let task_id = task.id.task_id.to_string();
    let keys = TaskKeys::of(task);
    sqlx::query(UPSERT_TASK)
        .bind(workspace)
        .bind(&task_id)
        .bind(task.is_completed)
        .bind(&task.created_at)
        .bind(to_json(task)?)
        .bind(&keys.content)
        .bind(&keys.deadline)
        .execute(&mut *conn)
        .await?;
    sqlx::query(DELETE_TASK_ASSIGNEES)
        .bind(workspace)
        .bind(&task_id)
        .execute(&mut *conn)
        .await?;
    let members: Vec<String> = task
        .assignees
        .iter()
        .filter_map(|a| a.referenced_actor_id)
        .map(|m| m.to_string())
        .collect();
    if !members.is_empty() {
        sqlx::query(
            "INSERT INTO task_assignees (workspace_id, task_id, member_id)
             SELECT $1, $2, m FROM UNNEST($3::TEXT[]) AS m
             ON CONFLICT DO NOTHING",
        )
        .bind(workspace)
        .bind(&task_id)
        .bind(&members)
        .execute(&mut *conn)
        .await?;
    }
    super::records::link_records(conn, workspace, task).await?;
    Ok(())
}

pub(super) async fn delete_task(
    conn: &mut PgConnection,
    workspace: &str,
    task: Uuid,
) -> StoreResult<()> {
    sqlx::query(DELETE_TASK)
        .bind(workspace)
        .bind(task.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn replace_members(
    conn: &mut PgConnection,
    workspace: &str,
    members: &[attio::WorkspaceMember],
) -> StoreResult<()> {
    sqlx::query(DELETE_MEMBERS)
        .bind(workspace)
        .execute(&mut *conn)
        .await?;
    let ids: Vec<String> = members
        .iter()
        .map(|m| m.id.workspace_member_id.to_string())
        .collect();
    let data = members
        .iter()
        .map(to_json)
        .collect::<StoreResult<Vec<_>>>()?;
    // One statement for the whole list, whatever its length.
    sqlx::query(
        "INSERT INTO members (workspace_id, member_id, data)
         SELECT $1, id, data FROM UNNEST($2::TEXT[], $3::TEXT[]) AS m (id, data)",
    )
    .bind(workspace)
    .bind(&ids)
    .bind(&data)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl CacheStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(workspace = %workspace, tasks = tasks.len()))]
    async fn replace_workspace_cache(
        &self,
        workspace: WorkspaceId,
        members: &[attio::WorkspaceMember],
        tasks: &[attio::Task],
        now: i64,
    ) -> StoreResult<CacheDiff> {
        let ws = workspace.to_string();
        let mut tx = self.pool.begin().await?;
        // Two full syncs of one workspace (on two instances) would otherwise compute their
        // diffs from the same old cache; the row lock makes the second wait for the first.
        sqlx::query("SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE")
            .bind(&ws)
            .execute(&mut *tx)
            .await?;
        replace_members(&mut tx, &ws, members).await?;
        let existing: HashMap<String, Option<String>> =
            sqlx::query_as::<_, (String, Option<String>)>(CACHED_TASKS)
                .bind(&ws)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let plan = plan_sync(existing, tasks)?;
        for task in plan.upserts {
            upsert_task(&mut tx, &ws, task).await?;
        }
        sqlx::query("DELETE FROM tasks WHERE workspace_id = $1 AND task_id = ANY($2)")
            .bind(&ws)
            .bind(&plan.gone)
            .execute(&mut *tx)
            .await?;
        sqlx::query(MARK_SYNCED)
            .bind(now)
            .bind(&ws)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(plan.diff)
    }

    #[tracing::instrument(skip_all, fields(%workspace))]
    async fn tasks(&self, workspace: WorkspaceId, query: &TaskQuery) -> StoreResult<TaskList> {
        let listing = task_listing(query, " COLLATE \"C\"");
        let ws = workspace.to_string();
        let mut count = sqlx::query_scalar::<_, i64>(&listing.count).bind(&ws);
        for param in &listing.params {
            count = count.bind(param);
        }
        let total = count.fetch_one(&self.pool).await?;
        let mut list = sqlx::query_scalar::<_, String>(&listing.list).bind(&ws);
        for param in &listing.params {
            list = list.bind(param);
        }
        let rows = list
            .bind(i64::from(query.limit))
            .bind(i64::from(query.offset))
            .fetch_all(&self.pool)
            .await?;
        let tasks = rows
            .iter()
            .map(|raw| from_json(raw))
            .collect::<StoreResult<Vec<attio::Task>>>()?;
        let records = self.records(workspace, &linked_ids(&tasks)).await?;
        Ok(TaskList {
            tasks,
            total: u64::try_from(total).unwrap_or(0),
            records,
        })
    }

    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<attio::WorkspaceMember>> {
        let rows = sqlx::query_scalar::<_, String>(
            "SELECT data FROM members WHERE workspace_id = $1 ORDER BY member_id COLLATE \"C\"",
        )
        .bind(workspace.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|raw| from_json(raw)).collect()
    }

    async fn task_count(&self, workspace: WorkspaceId) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(TASK_COUNT)
            .bind(workspace.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn task(&self, workspace: WorkspaceId, task: Uuid) -> StoreResult<Option<attio::Task>> {
        let row: Option<String> = sqlx::query_scalar(TASK_DATA)
            .bind(workspace.to_string())
            .bind(task.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_deref().map(from_json).transpose()
    }

    async fn put_task(&self, workspace: WorkspaceId, task: &attio::Task) -> StoreResult<()> {
        if task.id.workspace_id != workspace.0 {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        upsert_task(&mut tx, &workspace.to_string(), task).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_task(&self, workspace: WorkspaceId, task: Uuid) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        delete_task(&mut conn, &workspace.to_string(), task).await
    }
}
