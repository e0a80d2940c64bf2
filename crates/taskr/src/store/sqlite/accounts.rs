//! Users, sessions and OAuth states in SQLite: the statements of `store::accounts_sql`, and
//! the parts SQLite does its own way.

use sqlx::error::DatabaseError;

use super::SqliteStore;
use crate::store::accounts_sql::USER_BY_USERNAME_KEY;
use crate::store::rows::user_with_password_from_row;
use crate::store::{StoreResult, UserWithPassword};

crate::store::accounts_sql::impl_account_store!(
    SqliteStore,
    is_username_key_violation: names_username_key
);

/// SQLite names the column in its message (`UNIQUE constraint failed: users.username_key`).
fn names_username_key(e: &dyn DatabaseError) -> bool {
    e.message().contains("username_key")
}

/// Called by `impl_account_store!`.
impl SqliteStore {
    async fn username_or_skeleton_exists(&self, key: &str, skeleton: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM users WHERE username_key = $1 OR username_skeleton = $2",
        )
        .bind(key)
        .bind(skeleton)
        .fetch_one(&self.pool)
        .await?
            > 0)
    }

    async fn user_with_password(&self, key: &str) -> StoreResult<Option<UserWithPassword>> {
        let row = sqlx::query(USER_BY_USERNAME_KEY)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_with_password_from_row).transpose()
    }
}
