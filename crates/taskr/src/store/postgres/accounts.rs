//! Users, sessions and OAuth states in PostgreSQL: the statements of `store::accounts_sql`, and
//! the parts PostgreSQL does its own way.

use sqlx::error::DatabaseError;

use super::PostgresStore;
use crate::store::accounts_sql::USER_BY_USERNAME_KEY;
use crate::store::rows::user_with_password_from_row;
use crate::store::{StoreResult, UserWithPassword};

crate::store::accounts_sql::impl_account_store!(
    PostgresStore,
    is_username_key_violation: names_username_key
);

/// PostgreSQL names the constraint (names from migrations/postgres/0001_initial.sql).
fn names_username_key(e: &dyn DatabaseError) -> bool {
    e.constraint() == Some("users_username_key")
}

/// Called by `impl_account_store!`.
impl PostgresStore {
    async fn username_or_skeleton_exists(&self, key: &str, skeleton: &str) -> StoreResult<bool> {
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

    async fn user_with_password(&self, key: &str) -> StoreResult<Option<UserWithPassword>> {
        // PostgreSQL refuses NUL in TEXT: a log-in typed with one is simply nobody.
        if key.contains('\0') {
            return Ok(None);
        }
        let row = sqlx::query(USER_BY_USERNAME_KEY)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_with_password_from_row).transpose()
    }
}
