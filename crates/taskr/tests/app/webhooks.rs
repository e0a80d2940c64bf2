//! `POST /webhooks/attio`: verification, the durable inbox, the worker, the feed and live pages.
//! These tests sign deliveries themselves with the workspace's secret, so each case is exact.

use attio::WebhookSecret;
use reqwest::{Client, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestOptions};

/// A connected user plus the workspace's webhook id and secret as Taskr stored them.
struct Hooked {
    app: TestApp,
    browser: Client,
    webhook_id: Uuid,
    secret: WebhookSecret,
}

/// With the background worker off: these tests drain the inbox themselves, so that what a
/// batch holds is exactly what they delivered (plus the sandbox's own deliveries, which they
/// wait for first).
async fn hooked() -> Hooked {
    let app = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let browser = app.user("hooked").await;
    app.connect(&browser).await;
    let (webhook_id, secret) = app.webhook().await;
    Hooked {
        app,
        browser,
        webhook_id,
        secret,
    }
}

fn delivery(webhook_id: Uuid, event_type: &str, id: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "webhook_id": webhook_id,
        "events": [{"event_type": event_type, "id": id, "actor": {"type": "system", "id": null}}]
    }))
    .unwrap()
}

impl Hooked {
    fn workspace(&self) -> Uuid {
        self.app.sandbox.sandbox.workspace_id()
    }

    async fn post(&self, body: &[u8], headers: &[(&str, String)]) -> reqwest::Response {
        let mut request = Client::new()
            .post(self.app.url("/webhooks/attio"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send().await.unwrap()
    }

    async fn deliver(&self, body: &[u8], key: &str) -> reqwest::Response {
        let signature = self.secret.sign(body);
        self.post(
            body,
            &[
                ("attio-signature", signature.clone()),
                ("x-attio-signature", signature),
                ("idempotency-key", key.to_owned()),
            ],
        )
        .await
    }

    async fn inbox_len(&self) -> i64 {
        self.app.count("SELECT COUNT(*) FROM inbox").await
    }

    /// Lets the sandbox finish delivering what its own changes emitted.
    async fn settle(&self) {
        assert!(
            self.app
                .sandbox
                .sandbox
                .wait_for_idle(std::time::Duration::from_secs(10))
                .await
        );
    }

    async fn rows_with_key(&self, key: &str) -> i64 {
        self.app
            .count(&format!(
                "SELECT COUNT(*) FROM inbox WHERE idempotency_key = '{key}'"
            ))
            .await
    }

    async fn activities_for_key(&self, key: &str) -> i64 {
        self.app
            .count(&format!(
                "SELECT COUNT(*) FROM activity a JOIN inbox i ON i.id = a.inbox_id WHERE i.idempotency_key = '{key}'"
            ))
            .await
    }
}

/// A bad-input case: what it is, the body, the headers, and the expected status.
type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, String)>, StatusCode);

#[tokio::test]
async fn bad_deliveries_are_refused_and_nothing_is_stored() {
    let h = hooked().await;
    let good = delivery(
        h.webhook_id,
        "task.created",
        json!({"workspace_id": h.workspace(), "task_id": Uuid::new_v4()}),
    );
    let unknown_webhook = delivery(
        Uuid::new_v4(),
        "task.created",
        json!({"workspace_id": h.workspace(), "task_id": Uuid::new_v4()}),
    );
    let malformed = br#"{"webhook_id": "not even close"#.to_vec();
    let wrong_shape =
        serde_json::to_vec(&json!({"webhook_id": h.webhook_id, "events": "nope"})).unwrap();
    let huge = {
        let mut body = delivery(
            h.webhook_id,
            "task.created",
            json!({"pad": "x".repeat(1024 * 1024)}),
        );
        body.truncate(1024 * 1024 + 10);
        body
    };
    let before = h.inbox_len().await;
    let cases: Vec<Case> = vec![
        (
            "no signature",
            good.clone(),
            vec![],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a wrong signature",
            good.clone(),
            vec![("attio-signature", "00".repeat(32))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a signature of other bytes",
            good.clone(),
            vec![("attio-signature", h.secret.sign(b"other"))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a signature made with another secret",
            good.clone(),
            vec![("attio-signature", WebhookSecret::new("nope").sign(&good))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "an unknown webhook id",
            unknown_webhook.clone(),
            vec![("attio-signature", h.secret.sign(&unknown_webhook))],
            StatusCode::NOT_FOUND,
        ),
        (
            "malformed JSON with a valid signature",
            malformed.clone(),
            vec![("attio-signature", h.secret.sign(&malformed))],
            StatusCode::BAD_REQUEST,
        ),
        (
            "malformed JSON without a valid signature",
            malformed.clone(),
            vec![("attio-signature", "00".repeat(32))],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a wrong shape with a valid signature",
            wrong_shape.clone(),
            vec![("attio-signature", h.secret.sign(&wrong_shape))],
            StatusCode::BAD_REQUEST,
        ),
        (
            "an oversized body",
            huge.clone(),
            vec![("attio-signature", h.secret.sign(&huge))],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (case, body, headers, status) in cases {
        let response = h.post(&body, &headers).await;
        assert_eq!(response.status(), status, "{case}");
        let json: serde_json::Value = response.json().await.expect("a JSON answer");
        assert!(json["message"].is_string(), "{case}");
    }
    assert_eq!(h.inbox_len().await, before, "nothing was stored");
    // The valid one is accepted, through either signature header.
    let response = h
        .post(
            &good,
            &[
                ("x-attio-signature", h.secret.sign(&good)),
                ("idempotency-key", "k1".into()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(h.inbox_len().await, before + 1);
}

#[tokio::test]
async fn a_duplicate_delivery_is_acknowledged_and_applied_once() {
    let h = hooked().await;
    let task = h.app.create_task("Delivered twice").await;
    h.settle().await;
    let task_id = task["data"]["id"]["task_id"].as_str().unwrap().to_owned();
    let body = delivery(
        h.webhook_id,
        "task.created",
        json!({"workspace_id": h.workspace(), "task_id": task_id}),
    );
    for _ in 0..3 {
        assert_eq!(h.deliver(&body, "same-key").await.status(), StatusCode::OK);
    }
    assert_eq!(h.rows_with_key("same-key").await, 1, "stored once");
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    assert_eq!(h.activities_for_key("same-key").await, 1, "applied once");
    let page = h.app.page(&h.browser, "/tasks").await;
    assert!(
        page.contains("Delivered twice"),
        "the task was fetched into the cache"
    );
}

#[tokio::test]
async fn task_events_update_the_cache_with_one_fetch_per_task() {
    let h = hooked().await;
    let task = h.app.create_task("Burst of updates").await;
    let task_id = task["data"]["id"]["task_id"].as_str().unwrap().to_owned();
    h.settle().await;
    let fetches_before = h
        .app
        .sandbox_requests_for(&format!("/v2/tasks/{task_id}"))
        .await;
    for i in 0..5 {
        let body = delivery(
            h.webhook_id,
            if i == 0 {
                "task.created"
            } else {
                "task.updated"
            },
            json!({"workspace_id": h.workspace(), "task_id": task_id}),
        );
        assert_eq!(
            h.deliver(&body, &format!("burst-{i}")).await.status(),
            StatusCode::OK
        );
    }
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    let fetches = h
        .app
        .sandbox_requests_for(&format!("/v2/tasks/{task_id}"))
        .await
        - fetches_before;
    assert_eq!(fetches, 1, "five events (and the sandbox's own), one fetch");
    assert!(h
        .app
        .page(&h.browser, "/tasks")
        .await
        .contains("Burst of updates"));

    // Deleted at Attio: the delete event removes it from the cache.
    let body = delivery(
        h.webhook_id,
        "task.deleted",
        json!({"workspace_id": h.workspace(), "task_id": task_id}),
    );
    h.deliver(&body, "deleted").await;
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    assert!(!h
        .app
        .page(&h.browser, "/tasks")
        .await
        .contains("Burst of updates"));
    let feed = h.app.page(&h.browser, "/activity").await;
    assert!(feed.contains("task.deleted") && feed.contains("task.updated"));
}

#[tokio::test]
async fn an_unknown_event_type_is_stored_and_shown_not_refused() {
    let h = hooked().await;
    let body = delivery(
        h.webhook_id,
        "activity.created",
        json!({"workspace_id": h.workspace(), "activity_id": "x"}),
    );
    assert_eq!(
        h.deliver(&body, "unknown-type").await.status(),
        StatusCode::OK
    );
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    let feed = h.app.page(&h.browser, "/activity").await;
    assert!(feed.contains("activity.created"));
    assert!(feed.contains("(unknown type)"));
}

#[tokio::test]
async fn every_event_type_lands_in_the_activity_feed() {
    let h = hooked().await;
    for (i, event_type) in attio::EventType::ALL.iter().enumerate() {
        let body = delivery(
            h.webhook_id,
            event_type.as_str(),
            json!({"workspace_id": h.workspace()}),
        );
        assert_eq!(
            h.deliver(&body, &format!("all-{i}")).await.status(),
            StatusCode::OK
        );
    }
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    for event_type in attio::EventType::ALL.iter() {
        let page = h
            .app
            .page(
                &h.browser,
                &format!("/activity?type={}", event_type.as_str()),
            )
            .await;
        assert!(page.contains("of 1."), "{event_type}: exactly one entry");
    }
    assert_eq!(
        h.app.count("SELECT COUNT(*) FROM activity a JOIN inbox i ON i.id = a.inbox_id WHERE i.idempotency_key LIKE 'all-%'").await,
        27
    );
}

#[tokio::test]
async fn a_delivery_taskr_cannot_commit_is_refused_so_attio_retries() {
    let h = hooked().await;
    let body = delivery(
        h.webhook_id,
        "note.created",
        json!({"workspace_id": h.workspace(), "note_id": Uuid::new_v4()}),
    );
    h.app
        .execute("ALTER TABLE inbox RENAME TO inbox_away")
        .await;
    let response = h.deliver(&body, "retry-me").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    h.app
        .execute("ALTER TABLE inbox_away RENAME TO inbox")
        .await;
    let response = h.deliver(&body, "retry-me").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(h.inbox_len().await, 1);
}

#[tokio::test]
async fn failing_deliveries_are_retried_and_shown_never_dropped() {
    let h = hooked().await;
    let task = h.app.create_task("Waits for Attio").await;
    h.settle().await;
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    let body = delivery(
        h.webhook_id,
        "task.updated",
        json!({"workspace_id": h.workspace(), "task_id": task["data"]["id"]["task_id"]}),
    );
    // Attio refuses every token: the worker cannot fetch, so the row waits with its error.
    h.app.sandbox.sandbox.revoke_all_tokens();
    h.deliver(&body, "waits").await;
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    assert_eq!(
        h.app
            .count("SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND last_error IS NOT NULL")
            .await,
        1
    );
    let feed = h.app.page(&h.browser, "/activity").await;
    assert!(
        feed.contains("waiting to be applied"),
        "the backlog is visible"
    );
    // Reconnecting gives the worker a working token; the row is applied on its next attempt.
    h.app.connect(&h.browser).await;
    h.app.execute("UPDATE inbox SET next_attempt_ms = 0").await;
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    assert_eq!(
        h.app
            .count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await,
        0
    );
    assert!(h
        .app
        .page(&h.browser, "/tasks")
        .await
        .contains("Waits for Attio"));
}

#[tokio::test]
async fn a_rate_limited_fetch_waits_for_retry_after_then_applies() {
    let h = hooked().await;
    let task = h.app.create_task("Fetched after the rate limit").await;
    h.settle().await;
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    // Attio answers the next task fetch with 429 and Retry-After 30 s.
    let fault = Client::new()
        .post(format!("{}/_sandbox/faults", h.app.sandbox.base_url()))
        .json(&json!({"path_prefix": "/v2/tasks/", "rate_limit_rate": 1.0, "retry_after_secs": 30, "times": 1}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success());
    let body = delivery(
        h.webhook_id,
        "task.updated",
        json!({"workspace_id": h.workspace(), "task_id": task["data"]["id"]["task_id"]}),
    );
    h.deliver(&body, "rate-limited").await;
    let before = taskr::now_ms();
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    let next = h
        .app
        .count("SELECT next_attempt_ms FROM inbox WHERE idempotency_key = 'rate-limited' AND status = 'pending'")
        .await;
    assert!(
        next >= before + 25_000,
        "the retry waits for Retry-After (next in {} ms)",
        next - before
    );
    // When it comes due, it is applied (the fault was for one request).
    h.app
        .execute("UPDATE inbox SET next_attempt_ms = 0 WHERE idempotency_key = 'rate-limited'")
        .await;
    taskr::sync::worker::drain(&h.app.state.sync).await.unwrap();
    assert_eq!(h.activities_for_key("rate-limited").await, 1);
}
