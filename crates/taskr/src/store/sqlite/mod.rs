//! The SQLite store: the embedded default. WAL mode, foreign keys on, a busy timeout, and
//! migrations compiled into the binary.

mod accounts;
mod cache;
pub mod connections;
mod inbox;
mod links;
mod ops;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::{Link, LinkStatus, StoreError, StoreResult, UserId};
use crate::crypto::Sealed;

#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

pub(super) fn parse_uuid(raw: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Corrupt(format!("uuid {raw:?}: {e}")))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn link_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Link> {
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
        let file = options.get_filename().to_owned();
        if !file.as_os_str().is_empty() && file.as_os_str() != ":memory:" {
            crate::private_files::private_file(&file)?;
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut side = file.clone().into_os_string();
                side.push(suffix);
                crate::private_files::private_if_present(std::path::Path::new(&side))?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("opening SQLite database {url:?}"))?;
        ops::MIGRATOR
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Self { pool })
    }
}
