//! Opening a store: migrations that run once however many instances start, and database URLs
//! that never show their password.

use std::sync::Arc;

use taskr::store::{DatabaseUrl, Store};

use crate::harness::{admin_url, FreshDatabase};

on_both_backends!(a_store_opened_twice_keeps_its_data);

async fn a_store_opened_twice_keeps_its_data(store: Arc<dyn Store>) {
    // Opening runs migrations; a second instance (or a restart) must find them applied and
    // the data intact. The harness opened `store`; the users prove it is the same database.
    crate::fixtures::user(store.as_ref(), "alice").await;
    assert!(store.username_in_use("alice", "x").await.unwrap());
}

#[tokio::test]
async fn migrations_run_once_when_instances_start_together_on_postgres() {
    let Some(db) = FreshDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let starts = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { taskr::store::connect(&url).await.map(|_| ()) })
    });
    let mut outcomes = Vec::new();
    for start in starts.collect::<Vec<_>>() {
        outcomes.push(start.await.unwrap().map_err(|e| format!("{e:#}")));
    }
    let again = taskr::store::connect(&url).await.map(|_| ());
    db.drop_it().await;
    for outcome in outcomes {
        outcome.expect("every instance comes up");
    }
    again.expect("a later start finds the schema current");
}

#[tokio::test]
async fn a_failed_postgres_connection_does_not_show_the_password() {
    let Some(admin) = admin_url().await else {
        return;
    };
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_password(Some("hunter2")).unwrap();
    url.set_path("taskr_no_such_database");
    let url = DatabaseUrl::parse(url.as_str()).unwrap();
    let error = match taskr::store::connect(&url).await {
        Ok(_) => panic!("connected to a database that does not exist"),
        Err(e) => format!("{e:#} {e:?}"),
    };
    assert!(!error.contains("hunter2"), "{error}");
    assert!(error.contains("taskr_no_such_database"), "{error}");
}
