//! The two backends share statement texts written with numbered placeholders (`$1`,
//! `crates/taskr/src/store/*_sql.rs`). PostgreSQL binds those by number natively; this proves
//! that sqlx-sqlite does too (by number, not by position, and a number may stand twice), which
//! is what lets one text serve both.

use sqlx::Connection;

#[tokio::test]
async fn sqlite_binds_numbered_placeholders_by_their_number() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    let row: (String, String, String) = sqlx::query_as("SELECT $2, $1, $2")
        .bind("first")
        .bind("second")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        row,
        ("second".to_owned(), "first".to_owned(), "second".to_owned())
    );
}
