//! The per-workspace cache of tasks and members in SQLite: the shared statements and sync
//! diff of `store::cache_sql`, and the writes SQLite does row by row.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::{from_json, to_json, SqliteStore};
use crate::store::cache_sql::{
    plan_sync, task_listing, TaskKeys, CACHED_TASKS, DELETE_MEMBERS, DELETE_TASK,
    DELETE_TASK_ASSIGNEES, MARK_SYNCED, TASK_COUNT, TASK_DATA, UPSERT_TASK,
};
use crate::store::records_sql::linked_ids;
use crate::store::{
    CacheDiff, CacheStore, NameStore, StoreResult, TaskList, TaskQuery, WorkspaceId,
};

/// Writes one task (and its assignee and record indexes) into the cache.
pub(super) async fn upsert_task(
    conn: &mut SqliteConnection,
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
    for member in task.assignees.iter().filter_map(|a| a.referenced_actor_id) {
        sqlx::query(
            "INSERT OR IGNORE INTO task_assignees (workspace_id, task_id, member_id)
             VALUES (?, ?, ?)",
        )
        .bind(workspace)
        .bind(&task_id)
        .bind(member.to_string())
        .execute(&mut *conn)
        .await?;
    }
    super::records::link_records(conn, workspace, task).await?;
    Ok(())
}

pub(super) async fn delete_task(
    conn: &mut SqliteConnection,
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
    conn: &mut SqliteConnection,
    workspace: &str,
    members: &[attio::WorkspaceMember],
) -> StoreResult<()> {
    sqlx::query(DELETE_MEMBERS)
        .bind(workspace)
        .execute(&mut *conn)
        .await?;
    for member in members {
        sqlx::query("INSERT INTO members (workspace_id, member_id, data) VALUES (?, ?, ?)")
            .bind(workspace)
            .bind(member.id.workspace_member_id.to_string())
            .bind(to_json(member)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl CacheStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(workspace = %workspace, tasks = tasks.len()))]
    async fn replace_workspace_cache(
        &self,
        workspace: WorkspaceId,
        members: &[attio::WorkspaceMember],
        tasks: &[attio::Task],
        now: i64,
    ) -> StoreResult<CacheDiff> {
        let ws = workspace.to_string();
        let mut tx = self.writer().begin().await?;
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
        for id in &plan.gone {
            sqlx::query(DELETE_TASK)
                .bind(&ws)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
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
        let listing = task_listing(query, "");
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
            "SELECT data FROM members WHERE workspace_id = ? ORDER BY member_id",
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
        let mut tx = self.writer().begin().await?;
        upsert_task(&mut tx, &workspace.to_string(), task).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_task(&self, workspace: WorkspaceId, task: Uuid) -> StoreResult<()> {
        let mut conn = self.writer().acquire().await?;
        delete_task(&mut conn, &workspace.to_string(), task).await
    }
}
