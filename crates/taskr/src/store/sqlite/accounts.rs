//! Users, sessions and OAuth states in SQLite.

use async_trait::async_trait;
use sqlx::Row;

use super::SqliteStore;
use crate::store::{
    AccountStore, OAuthState, StoreError, StoreResult, User, UserId, UserWithPassword,
};

#[async_trait]
impl AccountStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn create_user(
        &self,
        username: &str,
        username_key: &str,
        username_skeleton: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<User> {
        let result = sqlx::query(
            "INSERT INTO users (username, username_key, username_skeleton, password_hash,
                                created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(username)
        .bind(username_key)
        .bind(username_skeleton)
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
                // Two sign-ups raced past `username_in_use`; say which constraint stopped it.
                if e.message().contains("username_key") {
                    Err(StoreError::UsernameTaken)
                } else {
                    Err(StoreError::UsernameLookalike)
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn username_in_use(&self, key: &str, skeleton: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM users WHERE username_key = ? OR username_skeleton = ?",
        )
        .bind(key)
        .bind(skeleton)
        .fetch_one(&self.pool)
        .await?
            > 0)
    }

    async fn users_without_skeleton(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, username FROM users WHERE username_skeleton IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(User {
                    id: UserId(row.try_get("id")?),
                    username: row.try_get("username")?,
                })
            })
            .collect()
    }

    async fn set_username_keys(
        &self,
        user: UserId,
        key: &str,
        skeleton: &str,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET username_key = ?, username_skeleton = ? WHERE id = ?")
                .bind(key)
                .bind(skeleton)
                .bind(user.0)
                .execute(&self.pool)
                .await;
        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
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

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT id, username FROM users WHERE id = ?")
            .bind(id.0)
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
}
