//! Users, sessions and OAuth states: the statements both backends run, written once (numbered
//! placeholders serve both; see `links_sql`).

pub(super) const INSERT_USER: &str =
    "INSERT INTO users (username, username_key, username_skeleton, password_hash, created_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING id";

pub(super) const USERS_WITHOUT_SKELETON: &str =
    "SELECT id, username, time_zone FROM users WHERE username_skeleton IS NULL ORDER BY id";

pub(super) const SET_USERNAME_KEYS: &str =
    "UPDATE users SET username_key = $1, username_skeleton = $2 WHERE id = $3";

pub(super) const USER_BY_USERNAME_KEY: &str =
    "SELECT id, username, time_zone, password_hash FROM users WHERE username_key = $1";

pub(super) const USER_BY_ID: &str = "SELECT id, username, time_zone FROM users WHERE id = $1";

pub(super) const SET_TIME_ZONE: &str = "UPDATE users SET time_zone = $1 WHERE id = $2";

pub(super) const INSERT_SESSION: &str =
    "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";

pub(super) const SESSION_USER: &str =
    "SELECT u.id, u.username, u.time_zone, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id_hash = $1 AND s.expires_at > $2";

pub(super) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

pub(super) const INSERT_OAUTH_STATE: &str =
    "INSERT INTO oauth_states (state_hash, session_hash, user_id, expires_at)
     VALUES ($1, $2, $3, $4)";

/// DELETE … RETURNING: of two callers (or instances) taking the same state at once, one gets it.
pub(super) const TAKE_OAUTH_STATE: &str = "DELETE FROM oauth_states WHERE state_hash = $1
     RETURNING state_hash, session_hash, user_id, expires_at";

pub(super) const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

pub(super) const PURGE_OAUTH_STATES: &str = "DELETE FROM oauth_states WHERE expires_at <= $1";

/// Writes `impl AccountStore for $store` (a store with a `pool` field for reads and a
/// `writer()` for writes) over the statements above. What the backends do differently they
/// pass in or write as inherent methods of `$store`, called from here:
/// - `$is_username_key_violation(&dyn DatabaseError) -> bool`: whether a unique violation on
///   insert is the username key's (rather than the skeleton's); each backend names its
///   constraints its own way;
/// - `username_or_skeleton_exists` and `user_with_password`: PostgreSQL's TEXT holds no NUL.
macro_rules! impl_account_store {
    ($store:ty, is_username_key_violation: $is_username_key_violation:expr) => {
        // In a block of its own, so that the imports below stay with the code that needs them.
        const _: () = {
            use $crate::store::accounts_sql::*;
            use $crate::store::rows::{oauth_state_from_row, user_from_row, StoreRow};
            use $crate::store::{
                AccountStore, OAuthState, Session, StoreError, StoreResult, User, UserId,
                UserWithPassword,
            };

            #[async_trait::async_trait]
            impl AccountStore for $store {
                #[tracing::instrument(skip_all)]
                async fn create_user(
                    &self,
                    username: &str,
                    username_key: &str,
                    username_skeleton: &str,
                    password_hash: &str,
                    now: i64,
                ) -> StoreResult<User> {
                    let result = sqlx::query_scalar::<_, i64>(INSERT_USER)
                        .bind(username)
                        .bind(username_key)
                        .bind(username_skeleton)
                        .bind(password_hash)
                        .bind(now)
                        .fetch_one(self.writer())
                        .await;
                    match result {
                        Ok(id) => Ok(User {
                            id: UserId(id),
                            username: username.to_owned(),
                            time_zone: None,
                        }),
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                            // Two sign-ups raced past `username_in_use`; say which rule stopped it.
                            if $is_username_key_violation(&*e) {
                                Err(StoreError::UsernameTaken)
                            } else {
                                Err(StoreError::UsernameLookalike)
                            }
                        }
                        Err(e) => Err(e.into()),
                    }
                }

                async fn username_in_use(&self, key: &str, skeleton: &str) -> StoreResult<bool> {
                    self.username_or_skeleton_exists(key, skeleton).await
                }

                async fn users_without_skeleton(&self) -> StoreResult<Vec<User>> {
                    let rows = sqlx::query(USERS_WITHOUT_SKELETON)
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
                    let result = sqlx::query(SET_USERNAME_KEYS)
                        .bind(key)
                        .bind(skeleton)
                        .bind(user.0)
                        .execute(self.writer())
                        .await;
                    match result {
                        Ok(_) => Ok(true),
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
                        Err(e) => Err(e.into()),
                    }
                }

                #[tracing::instrument(skip_all)]
                async fn user_by_username_key(
                    &self,
                    key: &str,
                ) -> StoreResult<Option<UserWithPassword>> {
                    self.user_with_password(key).await
                }

                async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
                    let row = sqlx::query(USER_BY_ID)
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                async fn set_time_zone(
                    &self,
                    user: UserId,
                    time_zone: Option<&str>,
                ) -> StoreResult<()> {
                    sqlx::query(SET_TIME_ZONE)
                        .bind(time_zone)
                        .bind(user.0)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn create_session(
                    &self,
                    id_hash: &[u8],
                    user: UserId,
                    now: i64,
                    expires_at: i64,
                ) -> StoreResult<()> {
                    sqlx::query(INSERT_SESSION)
                        .bind(id_hash)
                        .bind(user.0)
                        .bind(now)
                        .bind(expires_at)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn session(&self, id_hash: &[u8], now: i64) -> StoreResult<Option<Session>> {
                    let row = sqlx::query(SESSION_USER)
                        .bind(id_hash)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref()
                        .map(|row| {
                            Ok(Session {
                                user: user_from_row(row)?,
                                expires_at: row.int("expires_at")?,
                            })
                        })
                        .transpose()
                }

                async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
                    sqlx::query(DELETE_SESSION)
                        .bind(id_hash)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
                    sqlx::query(INSERT_OAUTH_STATE)
                        .bind(&state.state_hash)
                        .bind(&state.session_hash)
                        .bind(state.user_id.0)
                        .bind(state.expires_at)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn take_oauth_state(
                    &self,
                    state_hash: &[u8],
                ) -> StoreResult<Option<OAuthState>> {
                    let row = sqlx::query(TAKE_OAUTH_STATE)
                        .bind(state_hash)
                        .fetch_optional(self.writer())
                        .await?;
                    row.as_ref().map(oauth_state_from_row).transpose()
                }

                async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
                    let sessions = sqlx::query(PURGE_SESSIONS)
                        .bind(now)
                        .execute(self.writer())
                        .await?;
                    let states = sqlx::query(PURGE_OAUTH_STATES)
                        .bind(now)
                        .execute(self.writer())
                        .await?;
                    Ok(sessions.rows_affected() + states.rows_affected())
                }
            }
        };
    };
}
pub(super) use impl_account_store;
