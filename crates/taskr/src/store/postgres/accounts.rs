//! Users, sessions and OAuth states in PostgreSQL.

use async_trait::async_trait;

use super::PostgresStore;
use crate::store::rows::{oauth_state_from_row, user_from_row, StoreRow};
use crate::store::{
    AccountStore, OAuthState, StoreError, StoreResult, User, UserId, UserWithPassword,
};

#[async_trait]
impl AccountStore for PostgresStore {
    #[tracing::instrument(skip_all)]
    async fn create_user(
        &self,
        username: &str,
        username_key: &str,
        username_skeleton: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<User> {
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (username, username_key, username_skeleton, password_hash,
                                created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(username_key)
        .bind(username_skeleton)
        .bind(password_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(id) => Ok(User {
                id: UserId(id),
                username: username.to_owned(),
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                // Two sign-ups raced past `username_in_use`; the constraint says which rule
                // stopped it (names from migrations/postgres/0001_initial.sql).
                if e.constraint() == Some("users_username_key") {
                    Err(StoreError::UsernameTaken)
                } else {
                    Err(StoreError::UsernameLookalike)
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn username_in_use(&self, key: &str, skeleton: &str) -> StoreResult<bool> {
        // PostgreSQL's TEXT cannot hold NUL (SQLite's can); no stored name has one, so such a
        // value is bound as NULL, which matches nothing.
        let storable = |v: &str| (!v.contains('\0')).then(|| v.to_owned());
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM users
                            WHERE username_key = $1 OR username_skeleton = $2)",
        )
        .bind(storable(key))
        .bind(storable(skeleton))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn users_without_skeleton(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, username FROM users WHERE username_skeleton IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_username_keys(
        &self,
        user: UserId,
        key: &str,
        skeleton: &str,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET username_key = $1, username_skeleton = $2 WHERE id = $3")
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
        // PostgreSQL refuses NUL in TEXT: a log-in typed with one is simply nobody.
        if key.contains('\0') {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT id, username, password_hash FROM users WHERE username_key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(UserWithPassword {
                user: user_from_row(&row)?,
                password_hash: row.text("password_hash")?,
            })
        })
        .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT id, username FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn create_session(
        &self,
        id_hash: &[u8],
        user: UserId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
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
             WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oauth_states (state_hash, session_hash, user_id, expires_at)
             VALUES ($1, $2, $3, $4)",
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
        // DELETE … RETURNING: of two instances taking the same state at once, one gets it.
        let row = sqlx::query(
            "DELETE FROM oauth_states WHERE state_hash = $1
             RETURNING state_hash, session_hash, user_id, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(oauth_state_from_row).transpose()
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let states = sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(sessions.rows_affected() + states.rows_affected())
    }
}
