//! Backlogs drain at Attio's pace: after an outage the worker reads in pages, honours the rate
//! limits, applies what it could read and puts back only what it could not.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{wait_until, TestApp, TestOptions};

/// The worker off (tests drain it or start it themselves), and deliveries as fast as Taskr takes
/// them so that a backlog forms quickly.
async fn app_without_worker() -> TestApp {
    TestApp::spawn_with(TestOptions {
        worker: false,
        sandbox: attio_sandbox::Config {
            retry_base: Duration::from_millis(20),
            target_rate_per_second: 1000,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
}

async fn cached(app: &TestApp, ids: &[Uuid]) -> i64 {
    let list: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
    app.count(&format!(
        "SELECT COUNT(*) FROM tasks WHERE task_id IN ({})",
        list.join(",")
    ))
    .await
}

async fn single_reads(app: &TestApp, ids: &[Uuid]) -> usize {
    let mut total = 0;
    for id in ids {
        total += app.sandbox_requests_for(&format!("/v2/tasks/{id}")).await;
    }
    total
}

async fn rows_naming(app: &TestApp, task: Uuid, status: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM inbox WHERE status = '{status}' AND {} LIKE '%{task}%'",
        app.database.text_of("body")
    ))
    .await
}

#[tokio::test]
async fn a_backlog_of_150_changes_from_an_outage_is_read_in_pages_soon_after_it_ends() {
    // The production worker runs throughout, as in a real outage.
    let app = TestApp::spawn_with(TestOptions {
        sandbox: attio_sandbox::Config {
            retry_base: Duration::from_millis(20),
            target_rate_per_second: 1000,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let browser = app.user("backlog").await;
    app.connect(&browser).await;
    app.settle().await;

    // Attio's rate limits are on, and Attio answers every task read with 503 while 150 tasks
    // are created; their deliveries reach Taskr's inbox and the worker meets the outage.
    app.set_rate_limits(true).await;
    app.add_fault(json!({"path_prefix": "/v2/tasks", "error_rate": 1.0, "error_status": 503}))
        .await;
    let ids: Vec<Uuid> = (0..150)
        .map(|i| {
            app.sandbox
                .sandbox
                .create_task_as_member(&format!("Backlog task {i}"))
        })
        .collect();
    app.settle().await;
    wait_until(
        "the worker to have tried all 150 rows",
        Duration::from_secs(15),
        || async {
            app.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND attempts > 0")
                .await
                == 150
        },
    )
    .await;

    let listings_before = app.sandbox_requests_for("/v2/tasks").await;
    let singles_before = single_reads(&app, &ids).await;
    app.clear_faults().await;
    let ended = Instant::now();
    wait_until(
        "all 150 tasks in the cache",
        Duration::from_secs(20),
        || async { cached(&app, &ids).await == 150 },
    )
    .await;
    println!(
        "150-task backlog in the cache {:?} after the outage ended",
        ended.elapsed()
    );

    let listings = app.sandbox_requests_for("/v2/tasks").await - listings_before;
    let singles = single_reads(&app, &ids).await - singles_before;
    assert!(
        (1..=3).contains(&listings),
        "read in pages: {listings} listings"
    );
    assert_eq!(singles, 0, "no task was read on its own");
    wait_until("no row left", Duration::from_secs(5), || async {
        app.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await
            == 0
    })
    .await;
}

#[tokio::test]
async fn one_failing_task_read_puts_back_only_its_own_row() {
    let app = app_without_worker().await;
    let browser = app.user("partial").await;
    app.connect(&browser).await;
    let tasks: Vec<Uuid> = ["First", "Second", "Third"]
        .iter()
        .map(|name| app.sandbox.sandbox.create_task_as_member(name))
        .collect();
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();

    // Attio fails reads of the second task only; all three are completed in Attio.
    let failing = tasks[1];
    app.add_fault(json!({"path_prefix": format!("/v2/tasks/{failing}"), "error_rate": 1.0}))
        .await;
    for task in &tasks {
        assert!(app.sandbox.sandbox.complete_task(*task));
    }
    app.settle().await;
    let reads_before = single_reads(&app, &tasks).await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert_eq!(
        single_reads(&app, &tasks).await - reads_before,
        3,
        "one read each"
    );

    for task in [tasks[0], tasks[2]] {
        assert_eq!(rows_naming(&app, task, "pending").await, 0, "{task} done");
        let data = app
            .count(&format!(
                "SELECT COUNT(*) FROM tasks WHERE task_id = '{task}' AND is_completed"
            ))
            .await;
        assert_eq!(data, 1, "{task} is completed in the cache");
    }
    assert_eq!(
        rows_naming(&app, failing, "pending").await,
        1,
        "its update waits"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND attempts = 1
             AND last_error LIKE '%500%' AND {} LIKE '%{failing}%'",
            app.database.text_of("body")
        ))
        .await,
        1
    );
    let page = app.page(&browser, "/tasks").await;
    assert!(page.contains("— Attio is answering 500."), "{page}");

    // Attio is back: only the waiting rows are read again.
    app.clear_faults().await;
    wait_until(
        "the failing row to apply",
        Duration::from_secs(15),
        || async {
            taskr::sync::worker::drain(&app.state.sync).await.unwrap();
            rows_naming(&app, failing, "pending").await == 0
        },
    )
    .await;
    assert_eq!(
        single_reads(&app, &tasks).await - reads_before,
        4,
        "the others were not read again"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM tasks WHERE task_id = '{failing}' AND is_completed"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn rows_waiting_for_a_working_token_apply_as_soon_as_a_user_reconnects() {
    let app = app_without_worker().await;
    let browser = app.user("reconnects").await;
    app.connect(&browser).await;
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();

    app.sandbox.sandbox.revoke_all_tokens();
    let task = app
        .sandbox
        .sandbox
        .create_task_as_member("Waits for a reconnect");
    app.settle().await;
    // Several failed attempts: the row's back-off is now long.
    for attempts in 1..=6 {
        app.execute("UPDATE inbox SET next_attempt_ms = 0 WHERE status = 'pending'")
            .await;
        taskr::sync::worker::drain(&app.state.sync).await.unwrap();
        assert_eq!(
            app.count("SELECT MAX(attempts) FROM inbox WHERE status = 'pending'")
                .await,
            attempts
        );
    }
    let wait = app
        .count("SELECT next_attempt_ms FROM inbox WHERE status = 'pending'")
        .await
        - taskr::now_ms();
    assert!(wait > 10_000, "a long back-off without a token ({wait} ms)");

    app.connect(&browser).await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert_eq!(
        rows_naming(&app, task, "pending").await,
        0,
        "applied at once"
    );
    assert!(app
        .page(&browser, "/tasks")
        .await
        .contains("Waits for a reconnect"));
}
