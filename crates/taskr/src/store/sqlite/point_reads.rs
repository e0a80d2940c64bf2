//! Point reads answered on the calling thread, for the lookups that must cost microseconds (a
//! connection read that misses the in-process cache). sqlx runs each SQLite connection on a
//! thread of its own and every query is a round trip to it; on this project's two-core
//! machine waking that thread and being woken back costs tens of microseconds, far more than
//! the read (an indexed row, a few microseconds; BENCHMARKS.md, "Reading a connection").
//!
//! These connections are opened read-only, with no busy timeout: a read that meets a lock
//! (rare in WAL mode, where readers do not wait for the writer) or any other error gives up at
//! once and the caller reads through sqlx instead. They only serve a file database; an
//! in-memory one is private to sqlx's connections.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};

use crate::store::rows::{connection_from_row, StoreRow};
use crate::store::{ConnectionRecord, Owner, ProviderName, StoreError, StoreResult};

/// Connections kept open. When all are in use the caller reads through sqlx, so a burst of
/// readers never waits here and never opens more.
const CONNECTIONS: usize = 2;

pub(super) struct PointReads {
    idle: Mutex<Vec<Connection>>,
}

/// Why a point read did not answer; the caller reads through sqlx.
#[derive(Debug)]
pub(super) enum Missed {
    /// Every connection was in use.
    Busy,
    /// SQLite or the row mapping failed.
    Failed(String),
}

impl PointReads {
    /// Opens the connections to the database file at `path` (already created and migrated).
    pub(super) fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let connections = (0..CONNECTIONS)
            .map(|_| {
                let connection = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                // rusqlite waits 5 s by default; these readers never wait.
                connection.busy_timeout(std::time::Duration::ZERO)?;
                Ok(connection)
            })
            .collect::<Result<Vec<_>, rusqlite::Error>>()?;
        Ok(Self {
            idle: Mutex::new(connections),
        })
    }

    fn with<T>(&self, read: impl FnOnce(&Connection) -> Result<T, Missed>) -> Result<T, Missed> {
        let taken = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let connection = taken.ok_or(Missed::Busy)?;
        let result = read(&connection);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        result
    }

    /// `ConnectionStore::connection`: the caller's statement (`sql`, bound to provider, owner
    /// kind and owner id) and the same row mapping.
    pub(super) fn connection(
        &self,
        sql: &str,
        provider: &ProviderName,
        owner: &Owner,
    ) -> Result<Option<ConnectionRecord>, Missed> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(sql).map_err(failed)?;
            let mut rows = statement
                .query((provider.as_str(), owner.kind.as_str(), owner.id.as_str()))
                .map_err(failed)?;
            match rows.next().map_err(failed)? {
                Some(row) => connection_from_row(&LiteRow(row))
                    .map(Some)
                    .map_err(|e| Missed::Failed(e.to_string())),
                None => Ok(None),
            }
        })
    }
}

fn failed(error: rusqlite::Error) -> Missed {
    Missed::Failed(error.to_string())
}

/// A rusqlite row as the shared row mapping sees it.
struct LiteRow<'a, 'b>(&'a rusqlite::Row<'b>);

impl LiteRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, column: &str) -> StoreResult<T> {
        self.0
            .get(column)
            .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
    }
}

impl StoreRow for LiteRow<'_, '_> {
    fn text(&self, column: &str) -> StoreResult<String> {
        self.get(column)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get(column)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        self.get(column)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.get(column)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        self.get(column)
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        self.get(column)
    }
    fn flag(&self, column: &str) -> StoreResult<bool> {
        self.get(column)
    }
}
