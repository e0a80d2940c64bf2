//! Real-time sync against the sandbox's real webhook platform: changes made in the sandbox
//! reach Taskr's cache, feed and open pages; reconciliation repairs what webhooks missed; the
//! webhook itself is watched and re-created.

use std::time::Duration;

use reqwest::StatusCode;
use taskr::store::WorkspaceId;

use crate::helpers::{TestApp, TestOptions};

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn settle(app: &TestApp) {
    assert!(
        app.sandbox
            .sandbox
            .wait_for_idle(Duration::from_secs(10))
            .await,
        "sandbox idle"
    );
}

#[tokio::test]
async fn linking_registers_one_webhook_for_all_27_events_and_a_second_user_reuses_it() {
    let app = TestApp::spawn().await;
    let first = app.user("first").await;
    app.connect(&first).await;
    let workspace = WorkspaceId(app.sandbox.sandbox.workspace_id());
    let record = app
        .state
        .store
        .webhook_for_workspace(workspace)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(record.target_url, app.url("/webhooks/attio"));
    assert_eq!(app.sandbox.sandbox.webhook_ids(), vec![record.webhook_id]);
    let token = taskr::attio_gateway::open_token(
        &app.state.cipher,
        &app.state.store.active_links(workspace).await.unwrap()[0],
    )
    .unwrap();
    let webhook = app
        .state
        .sync
        .attio
        .client(token)
        .get_webhook(record.webhook_id)
        .await
        .unwrap();
    let mut types: Vec<String> = webhook
        .subscriptions
        .iter()
        .map(|s| s.event_type.clone())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 27);
    assert!(webhook.subscriptions.iter().all(|s| s.filter.is_none()));

    let second = app.user("second").await;
    let member = app.sandbox.sandbox.member_ids()[2].to_string();
    app.connect_as(&second, Some(&member)).await;
    assert_eq!(
        app.sandbox.sandbox.webhook_ids(),
        vec![record.webhook_id],
        "reused"
    );
    assert!(app
        .page(&second, "/tasks")
        .await
        .contains("Live updates are on."));

    // The webhook goes with the last link only.
    app.post_form(&first, "/integrations/attio/disconnect", &[])
        .await;
    assert_eq!(app.sandbox.sandbox.webhook_ids(), vec![record.webhook_id]);
    app.post_form(&second, "/integrations/attio/disconnect", &[])
        .await;
    assert!(
        app.sandbox.sandbox.webhook_ids().is_empty(),
        "deleted at Attio with the last link"
    );
}

#[tokio::test]
async fn every_event_type_from_a_real_change_lands_in_the_activity_feed() {
    let app = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let client = app.user("watcher").await;
    app.connect(&client).await;
    for event_type in attio_sandbox::EVENT_TYPES {
        app.sandbox
            .sandbox
            .trigger(event_type)
            .unwrap_or_else(|e| panic!("{event_type}: {e}"));
    }
    settle(&app).await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    for event_type in attio_sandbox::EVENT_TYPES {
        let html = app
            .page(&client, &format!("/activity?type={event_type}"))
            .await;
        assert!(
            html.contains(&format!(">{event_type}</span>")),
            "{event_type} is in the feed"
        );
        assert!(!html.contains("of 0."), "{event_type} has entries");
    }
}

#[tokio::test]
async fn a_change_in_the_sandbox_reaches_an_open_page_without_a_reload() {
    let app = TestApp::spawn().await;
    let client = app.user("live").await;
    app.connect(&client).await;
    let mut stream = client.get(app.url("/live")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    app.sandbox
        .sandbox
        .create_task_as_member("Made in Attio just now");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    while !seen.contains("event: tasks") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a live event before the deadline")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // By the time the page is told, the cache has it.
    assert!(app
        .page(&client, "/tasks")
        .await
        .contains("Made in Attio just now"));
    let feed = app.page(&client, "/activity").await;
    assert!(feed.contains("Alice Moreau created task “Made in Attio just now”"));
    assert!(
        feed.contains("Alice Moreau"),
        "the actor is resolved to the member's name"
    );
}

#[tokio::test]
async fn reconciliation_catches_a_missed_deletion_and_re_creates_a_deleted_webhook() {
    let app = TestApp::spawn().await;
    let client = app.user("recon").await;
    app.connect(&client).await;
    let workspace = WorkspaceId(app.sandbox.sandbox.workspace_id());
    let webhook = app
        .state
        .store
        .webhook_for_workspace(workspace)
        .await
        .unwrap()
        .unwrap();
    // Someone deletes Taskr's webhook at Attio; changes then go unnoticed.
    let link = app
        .state
        .store
        .active_links(workspace)
        .await
        .unwrap()
        .remove(0);
    let attio = app
        .state
        .sync
        .attio
        .client(taskr::attio_gateway::open_token(&app.state.cipher, &link).unwrap());
    attio.delete_webhook(webhook.webhook_id).await.unwrap();
    let victim = app
        .sandbox
        .sandbox
        .create_task_as_member("Soon deleted behind Taskr's back");
    settle(&app).await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert!(
        !app.page(&client, "/tasks").await.contains("Soon deleted"),
        "not delivered: no webhook"
    );
    let seeded = app.page(&client, "/tasks").await;
    assert!(seeded.contains("Update the Q2 pipeline forecast"));
    let seeded_task = app
        .state
        .store
        .tasks(
            link.workspace_id,
            &taskr::store::TaskQuery {
                filter: taskr::store::TaskFilter::All,
                search: None,
                sort: Default::default(),
                limit: 1,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .tasks
        .remove(0);
    app.sandbox.sandbox.delete_task(seeded_task.id.task_id);
    let _ = victim;

    taskr::sync::reconcile_all(&app.state.sync).await.unwrap();
    let after = app.page(&client, "/tasks").await;
    assert!(
        after.contains("Soon deleted behind"),
        "the missed creation is picked up"
    );
    assert!(
        app.state
            .store
            .task(link.workspace_id, seeded_task.id.task_id)
            .await
            .unwrap()
            .is_none(),
        "the missed deletion is applied"
    );
    let fresh = app
        .state
        .store
        .webhook_for_workspace(workspace)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(fresh.webhook_id, webhook.webhook_id, "re-created");
    assert_eq!(app.sandbox.sandbox.webhook_ids(), vec![fresh.webhook_id]);
    // And deliveries flow again, signed with the new secret.
    app.sandbox
        .sandbox
        .create_task_as_member("After the repair");
    settle(&app).await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert!(app
        .page(&client, "/tasks")
        .await
        .contains("After the repair"));
}

#[tokio::test]
async fn a_degraded_webhook_is_shown_and_an_inactive_one_re_created() {
    let app = TestApp::spawn_with(TestOptions {
        sandbox: attio_sandbox::Config {
            retry_base: Duration::from_millis(5),
            max_retries: 2,
            degraded_to_inactive: Duration::from_millis(400),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let client = app.user("degraded").await;
    app.connect(&client).await;
    let workspace = WorkspaceId(app.sandbox.sandbox.workspace_id());
    let webhook = app
        .state
        .store
        .webhook_for_workspace(workspace)
        .await
        .unwrap()
        .unwrap();
    // Taskr cannot store deliveries: every attempt fails, and the webhook degrades.
    app.execute("ALTER TABLE inbox RENAME TO inbox_away").await;
    app.sandbox
        .sandbox
        .create_task_as_member("Lost while degraded");
    settle(&app).await;
    app.execute("ALTER TABLE inbox_away RENAME TO inbox").await;
    assert_eq!(
        app.sandbox
            .sandbox
            .webhook_status(webhook.webhook_id)
            .as_deref(),
        Some("degraded")
    );
    taskr::sync::reconcile_all(&app.state.sync).await.unwrap();
    let page = app.page(&client, "/tasks").await;
    assert!(page.contains("webhook degraded"), "the page says so");
    assert!(
        page.contains("Lost while degraded"),
        "reconciliation filled the gap"
    );

    wait_until("the webhook to become inactive", || async {
        app.sandbox
            .sandbox
            .webhook_status(webhook.webhook_id)
            .as_deref()
            == Some("inactive")
    })
    .await;
    taskr::sync::reconcile_all(&app.state.sync).await.unwrap();
    let fresh = app
        .state
        .store
        .webhook_for_workspace(workspace)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        fresh.webhook_id, webhook.webhook_id,
        "an inactive webhook is replaced"
    );
    assert_eq!(
        app.sandbox
            .sandbox
            .webhook_status(fresh.webhook_id)
            .as_deref(),
        Some("active")
    );
    assert!(app
        .page(&client, "/tasks")
        .await
        .contains("Live updates are on."));
}
