//! The SQLite store: the embedded default. WAL mode, foreign keys on, a busy timeout, and
//! migrations compiled into the binary.

mod accounts;
mod cache;
pub mod connections;
mod inbox;
mod leases;
mod links;
mod ops;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::rows::{from_json, parse_workspace, to_json};
use super::DatabaseUrl;

#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and runs pending migrations.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        use anyhow::Context;
        let options = SqliteConnectOptions::from_str(url.expose())
            .with_context(|| format!("parsing database URL {url}"))?
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
            .with_context(|| format!("opening SQLite database {url}"))?;
        ops::MIGRATOR
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Self { pool })
    }
}
