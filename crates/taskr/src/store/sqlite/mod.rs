//! The SQLite store: the embedded default. WAL mode, foreign keys on, a busy timeout, and
//! migrations compiled into the binary. Reads share a pool; every write goes through one
//! connection of its own (`writer`).

mod accounts;
mod cache;
mod chunked;
pub mod connections;
mod inbox;
mod leases;
mod links;
mod ops;
mod point_reads;
mod records;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::rows::{from_json, parse_workspace, to_json};
use super::DatabaseUrl;

#[derive(Clone)]
pub struct SqliteStore {
    /// Reads (any number at once: WAL readers never wait for the writer).
    pub(super) pool: SqlitePool,
    /// Writes, one at a time. SQLite has one writer at a time anyway; a second connection
    /// that wants to write while another holds the lock is told "busy" and its busy handler
    /// sleeps and polls (1, 2, 5, 10 … 100 ms), which stalled the webhook inbox's group commit
    /// whenever the inbox worker was writing (see BENCHMARKS.md, "Webhook ingest"). Waiting
    /// for this pool's one connection instead wakes the next writer as soon as the last
    /// commits. Another process writing to the file still meets the busy timeout.
    pub(super) writer: SqlitePool,
    /// Reads on the calling thread for the hottest lookups; `None` for an in-memory database
    /// or when they could not be opened (the pools serve everything then).
    point_reads: Option<std::sync::Arc<point_reads::PointReads>>,
}

/// How long a write waits for the writer connection: the busy timeout's bound, kept.
const WRITE_WAIT: Duration = Duration::from_secs(5);

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
        // An embedded database cannot hang up: the pool's check before each acquire (a round
        // trip to the connection's worker thread) buys nothing here. A connection is still
        // checked when it goes back to the pool.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WRITE_WAIT)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening SQLite database {url}"))?;
        ops::MIGRATOR
            .run(&writer)
            .await
            .context("running database migrations")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("opening SQLite database {url}"))?;
        let point_reads = if file.is_file() {
            match point_reads::PointReads::open(&file) {
                Ok(reads) => Some(std::sync::Arc::new(reads)),
                Err(error) => {
                    tracing::warn!(%error, "point reads unavailable; every read goes through the pool");
                    None
                }
            }
        } else {
            None
        };
        Ok(Self {
            pool,
            writer,
            point_reads,
        })
    }

    /// Where writes go.
    pub(super) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Both pools' connections, for the gauges.
    pub(super) fn pool_usage_now(&self) -> crate::store::PoolUsage {
        let size = self.pool.size() + self.writer.size();
        let idle = self.pool.num_idle() + self.writer.num_idle();
        crate::store::PoolUsage {
            size,
            in_use: size.saturating_sub(u32::try_from(idle).unwrap_or(u32::MAX)),
        }
    }
}
