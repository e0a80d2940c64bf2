//! Backends for the store tests: a SQLite file in a temporary directory, or a fresh PostgreSQL
//! database created through the server's admin connection and dropped when the test ends
//! (also when it fails).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use taskr::store::{DatabaseUrl, Store};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub async fn run_on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("taskr.db").display());
    let store = taskr::store::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    test(store).await;
}

pub async fn run_on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = FreshDatabase::create().await else {
        return;
    };
    let store = taskr::store::connect(&db.url).await.unwrap();
    // Run the test as its own task, so that a failing test still gets its database dropped.
    let outcome = tokio::spawn(test(store)).await;
    db.drop_it().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Raw SQL on a test's database, to write what the store itself never would.
pub enum RawSql {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl RawSql {
    pub async fn execute(&self, sql: &str) {
        match self {
            RawSql::Sqlite(pool) => pool.execute(sql).await.map(drop),
            RawSql::Postgres(pool) => pool.execute(sql).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// [`run_on_sqlite`], with raw SQL on the same database.
pub async fn run_on_sqlite_with_sql<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>, RawSql) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("taskr.db").display());
    let store = taskr::store::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    test(store, RawSql::Sqlite(pool.clone())).await;
    pool.close().await;
}

/// [`run_on_postgres`], with raw SQL on the same database.
pub async fn run_on_postgres_with_sql<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>, RawSql) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = FreshDatabase::create().await else {
        return;
    };
    let store = taskr::store::connect(&db.url).await.unwrap();
    let pool = sqlx::PgPool::connect(db.url.expose()).await.unwrap();
    let outcome = tokio::spawn(test(store, RawSql::Postgres(pool.clone()))).await;
    pool.close().await;
    db.drop_it().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The admin URL of the test server, or `None` (with the reason printed) when it does not
/// answer and PostgreSQL is not required.
pub async fn admin_url() -> Option<String> {
    let url = std::env::var("TASKR_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
    let shown = DatabaseUrl::parse(&url).map_or_else(|e| e, |u| u.to_string());
    let reached = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await;
    let error = match reached {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return Some(url);
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 5 seconds".to_owned(),
    };
    if std::env::var("TASKR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("TASKR_REQUIRE_POSTGRES=1 but PostgreSQL at {shown} is not reachable: {error}");
    }
    eprintln!(
        "SKIPPED: PostgreSQL at {shown} is not reachable ({error}); set TASKR_TEST_POSTGRES_URL \
         to a server, or TASKR_REQUIRE_POSTGRES=1 to make this a failure"
    );
    None
}

/// A database of its own for one test.
pub struct FreshDatabase {
    pub url: DatabaseUrl,
    admin: String,
    name: String,
}

impl FreshDatabase {
    pub async fn create() -> Option<Self> {
        let admin = admin_url().await?;
        let name = format!("taskr_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let _ = conn.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Some(Self {
            url: DatabaseUrl::parse(url.as_str()).unwrap(),
            admin,
            name,
        })
    }

    pub async fn drop_it(self) {
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        // FORCE: the store's pool may still hold connections while it shuts down.
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
        let _ = conn.close().await;
    }
}
