//! Attio links, workspaces and webhooks: the statements both backends run, written once.
//!
//! Placeholders are numbered (`$1`): PostgreSQL's own syntax, which sqlx-sqlite also binds by
//! number (`SqliteArguments::bind` maps `?NNN` and `$NNN` to argument NNN), so one text serves
//! both and a number may stand twice. What a backend says its own way it passes in.

pub(super) const UPSERT_WORKSPACE: &str =
    "INSERT INTO workspaces (id, name, slug) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, slug = excluded.slug";

pub(super) const UPSERT_LINK: &str =
    "INSERT INTO attio_links (user_id, workspace_id, member_id, scopes, token_key_id,
                              token_sealed, status, broken_reason, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (user_id) DO UPDATE SET
        workspace_id = excluded.workspace_id, member_id = excluded.member_id,
        scopes = excluded.scopes, token_key_id = excluded.token_key_id,
        token_sealed = excluded.token_sealed, status = excluded.status,
        broken_reason = excluded.broken_reason, created_at = excluded.created_at";

pub(super) const LINK_OF_USER: &str = "SELECT * FROM attio_links WHERE user_id = $1";

pub(super) const MARK_LINK_BROKEN: &str =
    "UPDATE attio_links SET status = 'broken', broken_reason = $1 WHERE user_id = $2";

pub(super) const DELETE_LINK: &str = "DELETE FROM attio_links WHERE user_id = $1 RETURNING *";

/// The cache belongs to the workspace; once nobody links it, nobody may read it. (Should
/// another instance link the workspace meanwhile, the foreign key from its link makes one of
/// the two transactions fail: never a link without a workspace.)
pub(super) const DELETE_UNLINKED_WORKSPACE: &str = "DELETE FROM workspaces WHERE id = $1
     AND NOT EXISTS (SELECT 1 FROM attio_links WHERE workspace_id = $1)";

pub(super) const WORKSPACE_OF_USER: &str =
    "SELECT w.id, w.name, w.slug, w.last_synced_at, w.sync_error, w.webhook_note,
            w.upstream_problem, w.upstream_problem_since_ms
     FROM workspaces w JOIN attio_links l ON l.workspace_id = w.id
     WHERE l.user_id = $1";

pub(super) const WORKSPACE_BY_ID: &str =
    "SELECT id, name, slug, last_synced_at, sync_error, webhook_note,
            upstream_problem, upstream_problem_since_ms
     FROM workspaces WHERE id = $1";

pub(super) const SET_SYNC_ERROR: &str = "UPDATE workspaces SET sync_error = $1 WHERE id = $2";

pub(super) const ACTIVE_LINKS: &str =
    "SELECT * FROM attio_links WHERE workspace_id = $1 AND status = 'active'
     ORDER BY created_at, user_id";

pub(super) const LINK_COUNT: &str = "SELECT COUNT(*) FROM attio_links WHERE workspace_id = $1";

pub(super) const LINKED_WORKSPACES: &str =
    "SELECT DISTINCT workspace_id FROM attio_links ORDER BY workspace_id";

pub(super) const WEBHOOK_OF_WORKSPACE: &str = "SELECT * FROM webhooks WHERE workspace_id = $1";

pub(super) const WEBHOOK_BY_ID: &str = "SELECT * FROM webhooks WHERE webhook_id = $1";

pub(super) const INSERT_WEBHOOK: &str =
    "INSERT INTO webhooks (workspace_id, webhook_id, target_url,
        secret_key_id, secret_sealed, status, checked_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(super) const INSERT_WEBHOOK_UNLESS_ONE: &str = "INSERT INTO webhooks (workspace_id, webhook_id,
        target_url, secret_key_id, secret_sealed, status, checked_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workspace_id) DO NOTHING";

pub(super) const DELETE_WEBHOOK: &str = "DELETE FROM webhooks WHERE workspace_id = $1";

pub(super) const SET_WEBHOOK_STATUS: &str =
    "UPDATE webhooks SET status = $1, checked_at = $2 WHERE workspace_id = $3";

pub(super) const SET_WEBHOOK_NOTE: &str = "UPDATE workspaces SET webhook_note = $1 WHERE id = $2";

/// Writes `impl LinkStore for $store` (a store with a `pool` of database `$db` for reads and a
/// `writer()` for writes) over the statements above. `record_upstream` is the one statement
/// the backends word differently (SQLite's `IS NOT`, PostgreSQL's `IS DISTINCT FROM`); it binds
/// the problem code, the time and the workspace.
macro_rules! impl_link_store {
    ($store:ty, $db:ty, record_upstream: $record_upstream:expr) => {
        // In a block of its own, so that the imports below stay with the code that needs them.
        const _: () = {
            use uuid::Uuid;

            use $crate::store::links_sql::*;
            use $crate::store::rows::{
                link_from_row, parse_workspace, webhook_from_row, workspace_from_row,
            };
            use $crate::store::{
                Link, LinkStatus, LinkStore, StoreResult, UpstreamProblem, UserId, WebhookRecord,
                Workspace, WorkspaceId, WorkspaceInfo,
            };

            /// Binds every column of `INSERT_WEBHOOK` (either form), in order.
            fn bind_webhook<'q>(
                sql: &'q str,
                webhook: &'q WebhookRecord,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                sqlx::query(sql)
                    .bind(webhook.workspace_id.to_string())
                    .bind(webhook.webhook_id.to_string())
                    .bind(&webhook.target_url)
                    .bind(&webhook.secret.key_id)
                    .bind(&webhook.secret.bytes)
                    .bind(&webhook.status)
                    .bind(webhook.checked_at)
                    .bind(webhook.created_at)
            }

            #[async_trait::async_trait]
            impl LinkStore for $store {
                #[tracing::instrument(skip_all, fields(user = %link.user_id, workspace = %workspace.id))]
                async fn save_link(
                    &self,
                    workspace: &WorkspaceInfo,
                    link: &Link,
                ) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await?;
                    sqlx::query(UPSERT_WORKSPACE)
                        .bind(workspace.id.to_string())
                        .bind(&workspace.name)
                        .bind(&workspace.slug)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(UPSERT_LINK)
                        .bind(link.user_id.0)
                        .bind(link.workspace_id.to_string())
                        .bind(link.member_id.map(|m| m.to_string()))
                        .bind(&link.scopes)
                        .bind(&link.token.key_id)
                        .bind(&link.token.bytes)
                        .bind(match link.status {
                            LinkStatus::Active => "active",
                            LinkStatus::Broken => "broken",
                        })
                        .bind(&link.broken_reason)
                        .bind(link.created_at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn link(&self, user: UserId) -> StoreResult<Option<Link>> {
                    let row = sqlx::query(LINK_OF_USER)
                        .bind(user.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(link_from_row).transpose()
                }

                async fn mark_link_broken(&self, user: UserId, reason: &str) -> StoreResult<()> {
                    sqlx::query(MARK_LINK_BROKEN)
                        .bind(reason)
                        .bind(user.0)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all, fields(user = %user))]
                async fn delete_link(&self, user: UserId) -> StoreResult<Option<Link>> {
                    let mut tx = self.writer().begin().await?;
                    let row = sqlx::query(DELETE_LINK)
                        .bind(user.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let link = row.as_ref().map(link_from_row).transpose()?;
                    if let Some(link) = &link {
                        sqlx::query(DELETE_UNLINKED_WORKSPACE)
                            .bind(link.workspace_id.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(link)
                }

                async fn workspace_for_user(&self, user: UserId) -> StoreResult<Option<Workspace>> {
                    let row = sqlx::query(WORKSPACE_OF_USER)
                        .bind(user.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(workspace_from_row).transpose()
                }

                async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
                    let row = sqlx::query(WORKSPACE_BY_ID)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(workspace_from_row).transpose()
                }

                async fn record_sync_error(
                    &self,
                    workspace: WorkspaceId,
                    error: &str,
                ) -> StoreResult<()> {
                    sqlx::query(SET_SYNC_ERROR)
                        .bind(error)
                        .bind(workspace.to_string())
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn record_upstream(
                    &self,
                    workspace: WorkspaceId,
                    problem: Option<UpstreamProblem>,
                    now_ms: i64,
                ) -> StoreResult<bool> {
                    // One statement, so that two writers cannot both see "unchanged": the row
                    // is touched only when the problem differs, and a run of problems keeps its
                    // first `since`.
                    let done = sqlx::query($record_upstream)
                        .bind(problem.map(|p| p.code()))
                        .bind(now_ms)
                        .bind(workspace.to_string())
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn active_links(&self, workspace: WorkspaceId) -> StoreResult<Vec<Link>> {
                    let rows = sqlx::query(ACTIVE_LINKS)
                        .bind(workspace.to_string())
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(link_from_row).collect()
                }

                async fn link_count(&self, workspace: WorkspaceId) -> StoreResult<u64> {
                    let count: i64 = sqlx::query_scalar(LINK_COUNT)
                        .bind(workspace.to_string())
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(u64::try_from(count).unwrap_or(0))
                }

                async fn linked_workspaces(&self) -> StoreResult<Vec<WorkspaceId>> {
                    let rows: Vec<String> = sqlx::query_scalar(LINKED_WORKSPACES)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|id| parse_workspace(id)).collect()
                }

                async fn webhook_for_workspace(
                    &self,
                    workspace: WorkspaceId,
                ) -> StoreResult<Option<WebhookRecord>> {
                    let row = sqlx::query(WEBHOOK_OF_WORKSPACE)
                        .bind(workspace.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(webhook_from_row).transpose()
                }

                async fn webhook_by_id(
                    &self,
                    webhook_id: Uuid,
                ) -> StoreResult<Option<WebhookRecord>> {
                    let row = sqlx::query(WEBHOOK_BY_ID)
                        .bind(webhook_id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(webhook_from_row).transpose()
                }

                async fn insert_webhook(&self, webhook: &WebhookRecord) -> StoreResult<bool> {
                    let done = bind_webhook(INSERT_WEBHOOK_UNLESS_ONE, webhook)
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn replace_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await?;
                    sqlx::query(DELETE_WEBHOOK)
                        .bind(webhook.workspace_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    bind_webhook(INSERT_WEBHOOK, webhook)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn set_webhook_status(
                    &self,
                    workspace: WorkspaceId,
                    status: &str,
                    checked_at: i64,
                ) -> StoreResult<()> {
                    sqlx::query(SET_WEBHOOK_STATUS)
                        .bind(status)
                        .bind(checked_at)
                        .bind(workspace.to_string())
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn delete_webhook(&self, workspace: WorkspaceId) -> StoreResult<()> {
                    sqlx::query(DELETE_WEBHOOK)
                        .bind(workspace.to_string())
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn set_webhook_note(
                    &self,
                    workspace: WorkspaceId,
                    note: Option<&str>,
                ) -> StoreResult<()> {
                    sqlx::query(SET_WEBHOOK_NOTE)
                        .bind(note)
                        .bind(workspace.to_string())
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }
            }
        };
    };
}
pub(super) use impl_link_store;
