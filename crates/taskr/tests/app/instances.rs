//! Several Taskr instances on one PostgreSQL database and one sandbox, as behind a reverse
//! proxy: a change delivered to one reaches the open pages of another (through `LISTEN/NOTIFY`),
//! sessions are shared, and a connection written on one is read fresh on the others at once
//! (not after the connection cache's 5 seconds); a workspace's deliveries are applied by one
//! instance at a time, one instance reconciles, and a stopped instance's leases are free at
//! once. These tests need PostgreSQL: on SQLite (one
//! instance by design) they print why they are skipped.

use std::time::Duration;

use attio_sandbox::provider::ProviderConfig;
use reqwest::{Client, StatusCode};
use serde_json::json;
use taskr::connections::ConnectionError;
use taskr::store::NewDelivery;

use crate::connections::{app_with, connected_user, ctx};
use crate::helpers::{location, wait_until, LiveStream, Peer, TestApp, TestOptions};

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
    hears_then_lists(&mut live, &browser, &b, "Told on A, seen on B").await;
}

/// Waits for `tasks` events on `peer`'s page until the page lists `content` (each event makes
/// a browser fetch again; events published before the change may come first).
async fn hears_then_lists(live: &mut LiveStream, browser: &Client, peer: &Peer, content: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        live.expect("tasks").await;
        let page = browser.get(peer.url("/tasks")).send().await.unwrap();
        if page.text().await.unwrap().contains(content) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the peer's page never listed {content:?}"
        );
    }
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

#[tokio::test]
async fn after_its_listening_connection_drops_an_instance_refreshes_its_pages_and_listens_again() {
    if skipped(
        "after_its_listening_connection_drops_an_instance_refreshes_its_pages_and_listens_again",
    ) {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("dora").await;
    a.connect(&browser).await;
    a.settle().await;
    let mut live = LiveStream::open_at(&b.url("/live"), &browser).await;
    // Cut every instance's listening connection, as a database restart or a network cut would.
    let cut = a
        .count(&format!(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = '{}'",
            taskr::coordination::LISTENER_NAME
        ))
        .await;
    assert_eq!(cut, 2, "one listener per instance");
    // Whatever was sent meanwhile is lost to B: its pages are told to refresh everything.
    live.expect("tasks").await;
    // And it listens again: a change applied by A reaches B's page.
    a.sandbox
        .sandbox
        .create_task_as_member("Made after the reconnect");
    hears_then_lists(&mut live, &browser, &b, "Made after the reconnect").await;
}

/// Rows of the inbox that `holder` has claimed.
async fn leased_to(app: &TestApp, holder: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND lease_holder = '{holder}'"
    ))
    .await
}

#[tokio::test]
async fn two_instances_never_apply_one_workspaces_deliveries_at_once() {
    if skipped("two_instances_never_apply_one_workspaces_deliveries_at_once") {
        return;
    }
    // Both workers are driven by hand, so that A is in the middle of a batch for certain.
    let a = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("eve").await;
    a.connect(&browser).await;
    a.settle().await;
    taskr::worker::drain(&a.state).await.unwrap();
    // Attio reads slowly: A's batch takes seconds, and the next change arrives meanwhile.
    a.add_fault(json!({"path_prefix": "/v2/tasks", "latency_ms": 1500}))
        .await;
    a.sandbox.sandbox.create_task_as_member("Read by A");
    a.settle().await;
    let busy = {
        let state = a.state.clone();
        tokio::spawn(async move { taskr::worker::process_due(&state).await.unwrap() })
    };
    let holder = a.state.leases.holder().to_owned();
    wait_until(
        "A to claim the delivery",
        Duration::from_secs(5),
        || async { leased_to(&a, &holder).await > 0 },
    )
    .await;
    a.sandbox
        .sandbox
        .create_task_as_member("Arrives while A reads");
    a.settle().await;
    assert_eq!(
        taskr::worker::process_due(&b.state).await.unwrap(),
        0,
        "B leaves the workspace's new delivery alone while A applies the workspace"
    );
    assert!(busy.await.unwrap() > 0);
    assert_eq!(leased_to(&a, &holder).await, 0);
    assert!(
        taskr::worker::process_due(&b.state).await.unwrap() > 0,
        "once A is done, B takes the workspace's next delivery"
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_reconciliation_pass_runs_on_one_instance_only() {
    if skipped("a_reconciliation_pass_runs_on_one_instance_only") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = a.user("finn").await;
    a.connect(&browser).await;
    a.settle().await;
    let before = a.sandbox_requests_for("/v2/self").await;
    assert!(taskr::sync::reconcile_turn(&a.state).await.unwrap());
    assert!(
        !taskr::sync::reconcile_turn(&b.state).await.unwrap(),
        "B leaves this interval's pass to A"
    );
    assert_eq!(
        a.sandbox_requests_for("/v2/self").await - before,
        1,
        "one pass over the one workspace"
    );
    assert!(
        taskr::sync::reconcile_turn(&a.state).await.unwrap(),
        "A keeps its turn at its next tick"
    );
}

#[tokio::test]
async fn a_shut_down_instance_gives_up_its_leases_so_another_takes_its_work_at_once() {
    if skipped("a_shut_down_instance_gives_up_its_leases_so_another_takes_its_work_at_once") {
        return;
    }
    let mut a = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let workspace = uuid::Uuid::new_v4();
    let now = taskr::now_ms();
    a.state
        .store
        .inbox_insert(&NewDelivery {
            idempotency_key: "held-by-a".to_owned(),
            webhook_id: uuid::Uuid::new_v4(),
            workspace_id: workspace,
            body: b"{}".to_vec(),
            received_ms: now,
        })
        .await
        .unwrap();
    // A holds rows (for ten minutes), a backfill and the reconciler when it is stopped.
    let holder = a.state.leases.holder().to_owned();
    let claimed = a.state.store.inbox_claim(&holder, now, 600_000, 10).await;
    assert_eq!(claimed.unwrap().len(), 1);
    let backfill = taskr::coordination::sync_lease(workspace);
    let long = Duration::from_secs(600);
    assert!(a.state.leases.try_acquire(&backfill, long).await.unwrap());
    assert!(taskr::sync::reconcile_turn(&a.state).await.unwrap());
    assert!(!taskr::sync::reconcile_turn(&b.state).await.unwrap());

    a.shut_down().await.unwrap();
    assert_eq!(
        taskr::worker::process_due(&b.state).await.unwrap(),
        1,
        "B claims A's rows without waiting for their lease to end"
    );
    assert!(taskr::sync::reconcile_turn(&b.state).await.unwrap());
    assert!(b.state.leases.try_acquire(&backfill, long).await.unwrap());
}

#[tokio::test]
async fn an_instance_keeps_a_workspace_while_its_batch_outlasts_the_lease() {
    if skipped("an_instance_keeps_a_workspace_while_its_batch_outlasts_the_lease") {
        return;
    }
    let lease = Duration::from_secs(1);
    let a = TestApp::spawn_with(TestOptions {
        worker: false,
        inbox_lease: lease,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("gus").await;
    a.connect(&browser).await;
    a.settle().await;
    taskr::worker::drain(&a.state).await.unwrap();
    // A's reads take 2.5 times the lease.
    a.add_fault(json!({"path_prefix": "/v2/tasks", "latency_ms": 2500}))
        .await;
    a.sandbox.sandbox.create_task_as_member("Slow to read");
    a.settle().await;
    let busy = {
        let state = a.state.clone();
        tokio::spawn(async move { taskr::worker::process_due(&state).await.unwrap() })
    };
    let holder = a.state.leases.holder().to_owned();
    wait_until(
        "A to claim the delivery",
        Duration::from_secs(5),
        || async { leased_to(&a, &holder).await > 0 },
    )
    .await;
    let claimed_at = taskr::now_ms();
    wait_until(
        "the lease A took to have run out, had A not renewed it",
        Duration::from_secs(5),
        || async { taskr::now_ms() > claimed_at + 1_500 },
    )
    .await;
    assert_eq!(
        taskr::worker::process_due(&b.state).await.unwrap(),
        0,
        "A renews its claim while it reads, so B does not take the rows over"
    );
    assert!(busy.await.unwrap() > 0);
    assert_eq!(
        a.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await,
        0,
        "A's batch was written, not refused"
    );
}
