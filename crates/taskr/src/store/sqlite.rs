//! The SQLite store: the embedded default. WAL mode, foreign keys on, a busy timeout, and
//! migrations compiled into the binary.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::*;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn parse_uuid(raw: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Corrupt(format!("uuid {raw:?}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn link_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Link> {
    let status: String = row.try_get("status")?;
    let member: Option<String> = row.try_get("member_id")?;
    Ok(Link {
        user_id: UserId(row.try_get("user_id")?),
        workspace_id: parse_uuid(&row.try_get::<String, _>("workspace_id")?)?,
        member_id: member.as_deref().map(parse_uuid).transpose()?,
        scopes: row.try_get("scopes")?,
        token: Sealed {
            key_id: row.try_get("token_key_id")?,
            bytes: row.try_get("token_sealed")?,
        },
        status: if status == "active" {
            LinkStatus::Active
        } else {
            LinkStatus::Broken
        },
        broken_reason: row.try_get("broken_reason")?,
        created_at: row.try_get("created_at")?,
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and runs pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("parsing database URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("opening SQLite database {url:?}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn create_user(
        &self,
        username: &str,
        username_key: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<User> {
        let result = sqlx::query(
            "INSERT INTO users (username, username_key, password_hash, created_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(username)
        .bind(username_key)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) => Ok(User {
                id: UserId(done.last_insert_rowid()),
                username: username.to_owned(),
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::UsernameTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_username_key(&self, key: &str) -> StoreResult<Option<UserWithPassword>> {
        let row =
            sqlx::query("SELECT id, username, password_hash FROM users WHERE username_key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(UserWithPassword {
                user: User {
                    id: UserId(row.try_get("id")?),
                    username: row.try_get("username")?,
                },
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn create_session(
        &self,
        id_hash: &[u8],
        user: UserId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(user.0)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_user(&self, id_hash: &[u8], now: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = ? AND s.expires_at > ?",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(User {
                id: UserId(row.try_get("id")?),
                username: row.try_get("username")?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oauth_states (state_hash, session_hash, user_id, expires_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(&state.state_hash)
        .bind(&state.session_hash)
        .bind(state.user_id.0)
        .bind(state.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_oauth_state(&self, state_hash: &[u8]) -> StoreResult<Option<OAuthState>> {
        let row = sqlx::query(
            "DELETE FROM oauth_states WHERE state_hash = ?
             RETURNING state_hash, session_hash, user_id, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(OAuthState {
                state_hash: row.try_get("state_hash")?,
                session_hash: row.try_get("session_hash")?,
                user_id: UserId(row.try_get("user_id")?),
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let states = sqlx::query("DELETE FROM oauth_states WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(sessions.rows_affected() + states.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(user = %link.user_id, workspace = %workspace.id))]
    async fn save_link(&self, workspace: &WorkspaceInfo, link: &Link) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO workspaces (id, name, slug) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, slug = excluded.slug",
        )
        .bind(workspace.id.to_string())
        .bind(&workspace.name)
        .bind(&workspace.slug)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO attio_links (user_id, workspace_id, member_id, scopes, token_key_id,
                                      token_sealed, status, broken_reason, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET
                workspace_id = excluded.workspace_id, member_id = excluded.member_id,
                scopes = excluded.scopes, token_key_id = excluded.token_key_id,
                token_sealed = excluded.token_sealed, status = excluded.status,
                broken_reason = excluded.broken_reason, created_at = excluded.created_at",
        )
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
        let row = sqlx::query("SELECT * FROM attio_links WHERE user_id = ?")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    async fn mark_link_broken(&self, user: UserId, reason: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE attio_links SET status = 'broken', broken_reason = ? WHERE user_id = ?",
        )
        .bind(reason)
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user = %user))]
    async fn delete_link(&self, user: UserId) -> StoreResult<Option<Link>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("DELETE FROM attio_links WHERE user_id = ? RETURNING *")
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
        let link = row.as_ref().map(link_from_row).transpose()?;
        if let Some(link) = &link {
            // The cache belongs to the workspace; once nobody links it, nobody may read it.
            sqlx::query(
                "DELETE FROM workspaces WHERE id = ?
                 AND NOT EXISTS (SELECT 1 FROM attio_links WHERE workspace_id = ?)",
            )
            .bind(link.workspace_id.to_string())
            .bind(link.workspace_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(link)
    }

    async fn workspace_for_user(&self, user: UserId) -> StoreResult<Option<Workspace>> {
        let row = sqlx::query(
            "SELECT w.id, w.name, w.slug, w.last_synced_at, w.sync_error
             FROM workspaces w JOIN attio_links l ON l.workspace_id = w.id
             WHERE l.user_id = ?",
        )
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Workspace {
                info: WorkspaceInfo {
                    id: parse_uuid(&row.try_get::<String, _>("id")?)?,
                    name: row.try_get("name")?,
                    slug: row.try_get("slug")?,
                },
                last_synced_at: row.try_get("last_synced_at")?,
                sync_error: row.try_get("sync_error")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(workspace = %workspace, tasks = tasks.len()))]
    async fn replace_workspace_cache(
        &self,
        workspace: Uuid,
        members: &[attio::WorkspaceMember],
        tasks: &[attio::Task],
        now: i64,
    ) -> StoreResult<()> {
        let ws = workspace.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM members WHERE workspace_id = ?")
            .bind(&ws)
            .execute(&mut *tx)
            .await?;
        for member in members {
            sqlx::query("INSERT INTO members (workspace_id, member_id, data) VALUES (?, ?, ?)")
                .bind(&ws)
                .bind(member.id.workspace_member_id.to_string())
                .bind(to_json(member)?)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM tasks WHERE workspace_id = ?")
            .bind(&ws)
            .execute(&mut *tx)
            .await?;
        for task in tasks {
            let task_id = task.id.task_id.to_string();
            sqlx::query(
                "INSERT INTO tasks (workspace_id, task_id, is_completed, created_at, data)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&ws)
            .bind(&task_id)
            .bind(task.is_completed)
            .bind(&task.created_at)
            .bind(to_json(task)?)
            .execute(&mut *tx)
            .await?;
            for assignee in &task.assignees {
                if let Some(member) = assignee.referenced_actor_id {
                    sqlx::query(
                        "INSERT OR IGNORE INTO task_assignees (workspace_id, task_id, member_id)
                         VALUES (?, ?, ?)",
                    )
                    .bind(&ws)
                    .bind(&task_id)
                    .bind(member.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        sqlx::query("UPDATE workspaces SET last_synced_at = ?, sync_error = NULL WHERE id = ?")
            .bind(now)
            .bind(&ws)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_sync_error(&self, workspace: Uuid, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE workspaces SET sync_error = ? WHERE id = ?")
            .bind(error)
            .bind(workspace.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user = %user))]
    async fn tasks_for_user(&self, user: UserId, query: &TaskQuery) -> StoreResult<TaskList> {
        // One statement shape per filter; the user id is always part of the join, so a user
        // can only ever read the workspace they are linked to.
        let (condition, member) = match query.filter {
            TaskFilter::All => ("1 = 1", None),
            TaskFilter::Open => ("t.is_completed = 0", None),
            TaskFilter::Completed => ("t.is_completed = 1", None),
            TaskFilter::AssignedTo(member) => (
                "EXISTS (SELECT 1 FROM task_assignees a WHERE a.workspace_id = t.workspace_id
                         AND a.task_id = t.task_id AND a.member_id = ?)",
                Some(member.to_string()),
            ),
        };
        let from = format!(
            "FROM tasks t JOIN attio_links l ON l.workspace_id = t.workspace_id
             WHERE l.user_id = ? AND {condition}"
        );
        let count_sql = format!("SELECT COUNT(*) {from}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(user.0);
        if let Some(member) = &member {
            count = count.bind(member);
        }
        let total = count.fetch_one(&self.pool).await?;

        // Open tasks first, then by creation time, oldest first (Attio's own default order).
        let list_sql = format!(
            "SELECT t.data {from} ORDER BY t.is_completed ASC, t.created_at ASC, t.task_id
             LIMIT ? OFFSET ?"
        );
        let mut list = sqlx::query_scalar::<_, String>(&list_sql).bind(user.0);
        if let Some(member) = &member {
            list = list.bind(member);
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
        Ok(TaskList {
            tasks,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn members_for_user(&self, user: UserId) -> StoreResult<Vec<attio::WorkspaceMember>> {
        let rows = sqlx::query_scalar::<_, String>(
            "SELECT m.data FROM members m JOIN attio_links l ON l.workspace_id = m.workspace_id
             WHERE l.user_id = ? ORDER BY m.member_id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|raw| from_json(raw)).collect()
    }
}
