//! The store's contract, tested through `dyn Store` on every backend: each test runs once on
//! SQLite (a temporary file) and once on PostgreSQL (a fresh database, dropped afterwards).
//! PostgreSQL tests skip with a printed reason when no server answers at
//! `TASKR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), and fail
//! instead when `TASKR_REQUIRE_POSTGRES=1` (CI).

/// Declares, for each named `async fn(Arc<dyn Store>)`, a module with one test per backend:
/// `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                crate::harness::run_on_sqlite(super::$name).await
            }
            #[tokio::test]
            async fn postgres() {
                crate::harness::run_on_postgres(super::$name).await
            }
        }
    )*};
}

mod accounts;
mod cache;
mod connections;
mod fixtures;
mod harness;
mod inbox;
mod keys;
mod leases;
mod limits;
mod links;
mod names;
mod placeholders;
mod startup;
