//! Several Taskr instances on one PostgreSQL database and one sandbox, as behind a reverse
//! proxy: a change delivered to one reaches the open pages of another (through `LISTEN/NOTIFY`),
//! sessions are shared, and a connection written on one is read fresh on the others at once
//! (not after the connection cache's 5 seconds). These tests need PostgreSQL: on SQLite (one
//! instance by design) they print why they are skipped.

use std::time::Duration;

use attio_sandbox::provider::ProviderConfig;
use reqwest::StatusCode;
use taskr::connections::ConnectionError;

use crate::connections::{app_with, connected_user, ctx};
use crate::helpers::{location, wait_until, LiveStream, TestApp};

/// Comfortably under the connection cache's lifetime (5 s): seeing a change within this
/// bound proves it did not come from the cache expiring.
const SOONER_THAN_THE_CACHE: Duration = Duration::from_secs(3);

fn skipped(test: &str) -> bool {
    if crate::database::is_postgres() {
        return false;
    }
    eprintln!("skipped {test}: several instances need PostgreSQL (TASKR_TEST_BACKEND=postgres)");
    true
}

#[tokio::test]
async fn a_webhook_delivered_to_one_instance_updates_an_open_page_on_another() {
    if skipped("a_webhook_delivered_to_one_instance_updates_an_open_page_on_another") {
        return;
    }
    let a = TestApp::spawn().await;
    // Without a worker, B can only hear of the change from A (which applies it).
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("ann").await;
    a.connect(&browser).await;
    a.settle().await;
    let mut live = LiveStream::open_at(&b.url("/live"), &browser).await;
    a.sandbox
        .sandbox
        .create_task_as_member("Told on A, seen on B");
    live.expect("tasks").await;
    let page = browser
        .get(b.url("/tasks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Told on A, seen on B"), "{page}");
}

#[tokio::test]
async fn a_session_made_on_one_instance_works_on_another_until_it_logs_out_on_the_first() {
    if skipped("a_session_made_on_one_instance_works_on_another_until_it_logs_out_on_the_first") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = a.user("bea").await;
    let home = browser.get(b.url("/")).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("Signed in as"));
    let response = a.post_form(&browser, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let home = browser.get(b.url("/")).send().await.unwrap();
    assert!(!home.text().await.unwrap().contains("Signed in as"));
}

#[tokio::test]
async fn a_connection_disconnected_on_one_instance_is_required_at_once_on_another() {
    if skipped("a_connection_disconnected_on_one_instance_is_required_at_once_on_another") {
        return;
    }
    let a = app_with(ProviderConfig::default()).await;
    let b = a.spawn_peer_with(|_| {}).await;
    let client = connected_user(&a, "cleo").await;
    let ctx = ctx(&a, "cleo").await;
    // B reads it, so B's cache holds it.
    b.state.connections.user(&ctx, "sequencer").await.unwrap();
    let response = a
        .post_form(&client, "/connections/sequencer/user/disconnect", &[])
        .await;
    assert_eq!(
        location(&response),
        "/connections?notice=connection-removed"
    );
    wait_until(
        "B to find the connection gone",
        SOONER_THAN_THE_CACHE,
        || async {
            matches!(
                b.state.connections.user(&ctx, "sequencer").await,
                Err(ConnectionError::Required(_))
            )
        },
    )
    .await;
}
