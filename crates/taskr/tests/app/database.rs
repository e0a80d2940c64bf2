//! The database behind a `TestApp`: SQLite in its data directory (the default), or, with
//! `TASKR_TEST_BACKEND=postgres`, a fresh PostgreSQL database on the server at
//! `TASKR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped
//! when the app is. Checks behind Taskr's back go through here, so they run on either.

use std::path::Path;

use sqlx::{Connection, Executor, PgConnection, Row};
use taskr::store::DatabaseUrl;

pub enum TestDatabase {
    Sqlite {
        url: String,
    },
    Postgres {
        url: String,
        admin: String,
        name: String,
    },
}

/// Whether the tests run on PostgreSQL (`TASKR_TEST_BACKEND=postgres`).
pub fn is_postgres() -> bool {
    std::env::var("TASKR_TEST_BACKEND").as_deref() == Ok("postgres")
}

impl TestDatabase {
    pub async fn create(data_dir: &Path) -> Self {
        if !is_postgres() {
            return Self::Sqlite {
                url: format!("sqlite://{}", data_dir.join("taskr.db").display()),
            };
        }
        let admin = std::env::var("TASKR_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("taskr_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("TASKR_TEST_BACKEND=postgres needs a PostgreSQL server");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let _ = conn.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Self::Postgres {
            url: url.to_string(),
            admin,
            name,
        }
    }

    /// SQL for the text of a BLOB/BYTEA column (a stored delivery body, say).
    pub fn text_of(&self, column: &str) -> String {
        match self {
            Self::Sqlite { .. } => format!("CAST({column} AS TEXT)"),
            Self::Postgres { .. } => format!("convert_from({column}, 'UTF8')"),
        }
    }

    /// SQL for a literal of raw bytes given as hex digits.
    pub fn bytes_literal(&self, hex: &str) -> String {
        match self {
            Self::Sqlite { .. } => format!("x'{hex}'"),
            Self::Postgres { .. } => format!("'\\x{hex}'::bytea"),
        }
    }

    /// The URL as Taskr's settings (and its command line) take it.
    pub fn url(&self) -> DatabaseUrl {
        match self {
            Self::Sqlite { url } | Self::Postgres { url, .. } => DatabaseUrl::parse(url).unwrap(),
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite { url } => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Self::Postgres { url, .. } => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    pub async fn execute(&self, sql: &str) {
        match self {
            Self::Sqlite { url } => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
            Self::Postgres { url, .. } => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
    }

    /// Everything stored: for SQLite the database files' bytes (main file and WAL); for
    /// PostgreSQL every value of every column of every table, BYTEA columns as their raw bytes
    /// (their text form is hex, which would hide a plaintext token) and the rest as text.
    pub async fn bytes(&self, data_dir: &Path) -> Vec<u8> {
        let mut bytes = Vec::new();
        match self {
            Self::Sqlite { .. } => {
                for entry in std::fs::read_dir(data_dir).unwrap() {
                    let path = entry.unwrap().path();
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    if name.starts_with("taskr.db") {
                        bytes.extend(std::fs::read(&path).unwrap());
                    }
                }
            }
            Self::Postgres { url, .. } => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                let columns = sqlx::query(
                    "SELECT table_name::TEXT, column_name::TEXT, data_type::TEXT
                     FROM information_schema.columns WHERE table_schema = 'public'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for column in columns {
                    let (table, name, kind): (String, String, String) =
                        (column.get(0), column.get(1), column.get(2));
                    let sql = if kind == "bytea" {
                        format!("SELECT \"{name}\" FROM \"{table}\" WHERE \"{name}\" IS NOT NULL")
                    } else {
                        format!(
                            "SELECT convert_to(\"{name}\"::TEXT, 'UTF8') FROM \"{table}\"
                             WHERE \"{name}\" IS NOT NULL"
                        )
                    };
                    for value in sqlx::query_scalar::<_, Vec<u8>>(&sql)
                        .fetch_all(&mut conn)
                        .await
                        .unwrap()
                    {
                        bytes.extend(value);
                        bytes.push(b'\n');
                    }
                }
            }
        }
        bytes
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Self::Postgres { admin, name, .. } = self else {
            return;
        };
        let (admin, name) = (admin.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // drops the database (FORCE: Taskr's pool may still be closing its connections).
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}
