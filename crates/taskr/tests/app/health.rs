//! Stale data is labelled: while Attio fails Taskr's reads, the tasks page says how many
//! changes are waiting, since when and why; it says when the last sync is older than the
//! reconcile interval; open pages hear of both, and the page says "Live updates are on." again
//! once Attio is back.

use std::time::Duration;

use reqwest::Client;
use serde_json::json;

use crate::helpers::{location, wait_until, LiveStream, TestApp, TestOptions};

/// With the worker off (the test drains it), a connected user whose cache is settled.
async fn connected() -> (TestApp, Client) {
    let app = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let browser = app.user("reader").await;
    app.connect(&browser).await;
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert!(app
        .page(&browser, "/tasks")
        .await
        .contains("Live updates are on."));
    (app, browser)
}

async fn pending(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
        .await
}

/// Two changes are made while Attio answers Taskr's task reads with `fault`; the page must say
/// they wait and why, live, and recover, live.
async fn delayed_while_attio_fails_then_on_again(fault: serde_json::Value, reason: &str) {
    let (app, browser) = connected().await;
    let mut live = LiveStream::open(&app, &browser).await;
    app.add_fault(fault).await;
    app.sandbox
        .sandbox
        .create_task_as_member("Made during the outage");
    app.sandbox
        .sandbox
        .create_task_as_member("Also made during the outage");
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert_eq!(pending(&app).await, 2, "both wait");
    live.expect("health").await;
    let page = app.page(&browser, "/tasks").await;
    assert!(
        page.contains("Live updates delayed: 2 changes waiting since"),
        "{page}"
    );
    assert!(page.contains(reason), "{reason}: {page}");
    assert!(!page.contains("Live updates are on."));
    assert!(!page.contains("Made during the outage"));

    // Attio is back: a stream opened now hears of the recovery only.
    let mut live = LiveStream::open(&app, &browser).await;
    app.clear_faults().await;
    wait_until("the backlog to drain", Duration::from_secs(15), || async {
        taskr::sync::worker::drain(&app.state.sync).await.unwrap();
        pending(&app).await == 0
    })
    .await;
    live.expect("health").await;
    let page = app.page(&browser, "/tasks").await;
    assert!(page.contains("Live updates are on."), "{page}");
    assert!(!page.contains("delayed"));
    assert!(page.contains("Made during the outage") && page.contains("Also made during"));
}

#[tokio::test]
async fn the_tasks_page_says_changes_are_delayed_while_attio_answers_503_and_recovers_live() {
    delayed_while_attio_fails_then_on_again(
        json!({"path_prefix": "/v2/tasks", "error_rate": 1.0, "error_status": 503}),
        "— Attio is answering 503.",
    )
    .await;
}

#[tokio::test]
async fn the_tasks_page_says_changes_are_delayed_while_attio_rate_limits_and_recovers_live() {
    delayed_while_attio_fails_then_on_again(
        json!({"path_prefix": "/v2/tasks", "rate_limit_rate": 1.0, "retry_after_secs": 1}),
        "— Attio is rate limiting Taskr.",
    )
    .await;
}

#[tokio::test]
async fn the_tasks_page_says_changes_are_delayed_while_attio_drops_connections() {
    delayed_while_attio_fails_then_on_again(
        json!({"path_prefix": "/v2/tasks", "drop_connection_rate": 1.0}),
        "— Attio cannot be reached.",
    )
    .await;
}

#[tokio::test]
async fn an_old_sync_and_a_failing_sync_now_are_labelled_until_a_sync_succeeds() {
    let (app, browser) = connected().await;
    // The last full sync was two hours ago; the test's reconcile interval is one hour.
    app.execute("UPDATE workspaces SET last_synced_at = last_synced_at - 7200")
        .await;
    let page = app.page(&browser, "/tasks").await;
    assert!(
        page.contains(
            "— older than the reconcile interval (Taskr reconciles every 1 hour).</span>"
        ),
        "{page}"
    );

    // "Sync now" while Attio answers 503: the sync fails and the page says Attio is the cause.
    let mut live = LiveStream::open(&app, &browser).await;
    app.add_fault(json!({"path_prefix": "/v2/tasks", "error_rate": 1.0, "error_status": 503}))
        .await;
    let response = app.post_form(&browser, "/tasks/sync", &[]).await;
    assert_eq!(location(&response), "/tasks?notice=sync-failed");
    live.expect("health").await;
    let page = app.page(&browser, "/tasks").await;
    assert!(
        page.contains("Live updates delayed since") && page.contains("— Attio is answering 503."),
        "{page}"
    );
    assert!(page.contains("older than the reconcile interval"));

    let mut live = LiveStream::open(&app, &browser).await;
    app.clear_faults().await;
    let response = app.post_form(&browser, "/tasks/sync", &[]).await;
    assert_eq!(location(&response), "/tasks?notice=synced");
    live.expect("health").await;
    let page = app.page(&browser, "/tasks").await;
    assert!(
        !page.contains("older than the reconcile interval"),
        "{page}"
    );
    assert!(page.contains("Live updates are on."), "{page}");
}
