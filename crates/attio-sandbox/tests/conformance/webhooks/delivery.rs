//! Delivery: the signed request, idempotency keys, retries with back-off, degraded and inactive,
//! ordering, the per-target throttle, the timeout, and the delivery log.

use std::time::Duration;

use attio_sandbox::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::receiver::{signature, Hook, DEADLINE};
use crate::{read_json, spawn, spawn_with, TestSandbox};

fn task_body(content: &str) -> Value {
    json!({"data": {
        "content": content, "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []
    }})
}

/// Creates a task through the API and returns its id.
async fn create_task(t: &TestSandbox, key: &str, content: &str) -> String {
    let (status, created) = t
        .call(Method::POST, "/v2/tasks", key, Some(&task_body(content)))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["data"]["id"]["task_id"]
        .as_str()
        .expect("task id")
        .to_owned()
}

fn webhook_id(hook: &Hook) -> Uuid {
    Uuid::parse_str(&hook.id).expect("uuid")
}

#[tokio::test]
async fn a_delivery_is_a_signed_post_of_the_exact_body() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created"]).await;
    create_task(&t, &t.key(), "Signed").await;
    let received = hook.receiver.wait_for(1).await;
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), "application/json");
    let sig = request.header("attio-signature");
    assert_eq!(
        request.header("x-attio-signature"),
        sig,
        "both headers carry it"
    );
    assert_eq!(
        sig,
        signature(&hook.secret, &request.body),
        "HMAC-SHA256 of the raw bytes"
    );
    assert_eq!(sig.len(), 64);
    assert!(
        sig.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "lowercase hex"
    );
    let mut altered = request.body.to_vec();
    altered.push(b' ');
    assert_ne!(
        signature(&hook.secret, &altered),
        sig,
        "any other byte sequence differs"
    );
    assert!(Uuid::parse_str(request.header("idempotency-key")).is_ok());
    let body = request.json();
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["events", "webhook_id"]);
    assert_eq!(body["webhook_id"], hook.id.as_str());
}

#[tokio::test]
async fn the_idempotency_key_and_body_stay_the_same_across_retries() {
    let t = spawn_with(Config {
        retry_base: Duration::from_millis(10),
        ..Config::default()
    })
    .await;
    let hook = Hook::new(&t, &["task.created"]).await;
    hook.receiver.fail_next(2, 500);
    let key = t.key();
    create_task(&t, &key, "Retried").await;
    let attempts = hook.receiver.wait_for(3).await;
    for attempt in &attempts[1..] {
        assert_eq!(
            attempt.header("idempotency-key"),
            attempts[0].header("idempotency-key")
        );
        assert_eq!(attempt.body, attempts[0].body, "the same bytes");
        assert_eq!(
            attempt.header("attio-signature"),
            attempts[0].header("attio-signature")
        );
    }
    create_task(&t, &key, "Next").await;
    let all = hook.receiver.wait_for(4).await;
    assert_ne!(
        all[3].header("idempotency-key"),
        all[0].header("idempotency-key"),
        "a new message"
    );

    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let log = t.sandbox().deliveries(webhook_id(&hook));
    let summary: Vec<(u32, Option<u16>, bool)> = log
        .iter()
        .map(|a| (a.attempt, a.status, a.succeeded))
        .collect();
    assert_eq!(
        summary,
        [
            (1, Some(500), false),
            (2, Some(500), false),
            (3, Some(200), true),
            (1, Some(200), true)
        ]
    );
    assert!(log[0].error.is_some() && log[2].error.is_none());
    assert_eq!(log[0].idempotency_key, all[0].header("idempotency-key"));
    assert!(log.iter().all(|a| a.event_type == "task.created"));
}

#[tokio::test]
async fn failures_are_retried_with_exponential_back_off_then_the_webhook_is_degraded() {
    let base = Duration::from_millis(20);
    let t = spawn_with(Config {
        retry_base: base,
        max_retries: 4,
        ..Config::default()
    })
    .await;
    let hook = Hook::new(&t, &["task.created"]).await;
    hook.receiver.fail_next(u32::MAX, 503);
    create_task(&t, &t.key(), "Doomed").await;
    let attempts = hook.receiver.wait_for(5).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    assert_eq!(
        hook.receiver.received().len(),
        5,
        "1 attempt + 4 retries, then no more"
    );
    for (k, pair) in attempts.windows(2).enumerate() {
        let wait = pair[1].at.duration_since(pair[0].at);
        let expected = base * 2u32.pow(k as u32);
        assert!(
            wait >= expected,
            "retry {} waited {wait:?}, at least {expected:?}",
            k + 1
        );
    }
    assert_eq!(
        t.sandbox().webhook_status(webhook_id(&hook)).as_deref(),
        Some("degraded")
    );
    let (_, read) = t.get(&format!("/v2/webhooks/{}", hook.id), &hook.key).await;
    assert_eq!(read["data"]["status"], "degraded", "the API shows it too");
    let log = t.sandbox().deliveries(webhook_id(&hook));
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|a| !a.succeeded && a.status == Some(503)));

    // Degraded webhooks still get events, and a success makes them active again.
    hook.receiver.fail_next(0, 200);
    create_task(&t, &t.key(), "Healing").await;
    hook.receiver.wait_for(6).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    assert_eq!(
        t.sandbox().webhook_status(webhook_id(&hook)).as_deref(),
        Some("active")
    );
}

#[tokio::test]
async fn a_webhook_degraded_long_enough_becomes_inactive_and_gets_nothing_until_updated() {
    let t = spawn_with(Config {
        retry_base: Duration::from_millis(5),
        max_retries: 1,
        degraded_to_inactive: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    let key = t.key();
    let hook = Hook::new(&t, &["task.created"]).await;
    hook.receiver.fail_next(u32::MAX, 500);
    create_task(&t, &key, "Fails twice").await;
    hook.receiver.wait_for(2).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let id = webhook_id(&hook);
    assert_eq!(t.sandbox().webhook_status(id).as_deref(), Some("degraded"));
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while t.sandbox().webhook_status(id).as_deref() != Some("inactive") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the webhook becomes inactive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, read) = t.get(&format!("/v2/webhooks/{}", hook.id), &hook.key).await;
    assert_eq!(read["data"]["status"], "inactive");

    hook.receiver.fail_next(0, 200);
    create_task(&t, &key, "Not delivered").await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    assert_eq!(
        hook.receiver.received().len(),
        2,
        "inactive webhooks get nothing"
    );

    let patch = json!({"data": {"target_url": hook.receiver.url}});
    let (status, updated) = t
        .call(
            Method::PATCH,
            &format!("/v2/webhooks/{}", hook.id),
            &hook.key,
            Some(&patch),
        )
        .await;
    assert_eq!(
        (status, updated["data"]["status"].clone()),
        (StatusCode::OK, json!("active"))
    );
    create_task(&t, &key, "Delivered again").await;
    hook.receiver.wait_for(3).await;
}

#[tokio::test]
async fn deliveries_to_one_target_follow_the_order_of_changes() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created", "task.updated"]).await;
    let key = t.key();
    let mut expected = Vec::new();
    for i in 0..12 {
        let id = create_task(&t, &key, &format!("Ordered {i}")).await;
        expected.push(("task.created", id.clone()));
        let patch = json!({"data": {"is_completed": true}});
        t.call(
            Method::PATCH,
            &format!("/v2/tasks/{id}"),
            &key,
            Some(&patch),
        )
        .await;
        expected.push(("task.updated", id));
    }
    let events = hook.events(expected.len()).await;
    let got: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap_or("").to_owned(),
                e["id"]["task_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(e, id)| (e.to_owned(), id))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_retry_does_not_hold_back_later_messages() {
    let t = spawn_with(Config {
        retry_base: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let hook = Hook::new(&t, &["task.created"]).await;
    hook.receiver.fail_next(1, 500);
    let key = t.key();
    let first = create_task(&t, &key, "First").await;
    let second = create_task(&t, &key, "Second").await;
    let order: Vec<String> = hook
        .events(3)
        .await
        .iter()
        .map(|e| e["id"]["task_id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        order,
        [first.clone(), second, first],
        "the retry comes after the next message"
    );
}

#[tokio::test]
async fn at_most_the_configured_rate_goes_to_one_target() {
    let t = spawn_with(Config {
        target_rate_per_second: 4,
        ..Config::default()
    })
    .await;
    let hook = Hook::new(&t, &["task.created"]).await;
    let key = t.key();
    for i in 0..6 {
        create_task(&t, &key, &format!("Throttled {i}")).await;
    }
    hook.receiver.wait_for(6).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let sent: Vec<_> = t
        .sandbox()
        .deliveries(webhook_id(&hook))
        .iter()
        .map(|a| a.at)
        .collect();
    assert_eq!(sent.len(), 6);
    for i in 0..2 {
        let window = sent[i + 4].duration_since(sent[i]).expect("in order");
        // Unthrottled, all six would go out within a few milliseconds.
        assert!(
            window >= Duration::from_millis(900),
            "5 requests within {window:?}"
        );
    }
}

#[tokio::test]
async fn the_api_answers_before_a_silent_target_times_out() {
    let t = spawn_with(Config {
        delivery_timeout: Duration::from_millis(800),
        max_retries: 0,
        ..Config::default()
    })
    .await;
    // A target that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let target = format!("http://{}/hook", silent.local_addr().expect("addr"));
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            connections.push(socket);
        }
    });
    let key = t.key();
    let body = json!({"data": {"target_url": target, "subscriptions": [{"event_type": "task.created", "filter": null}]}});
    let (_, created) = t
        .call(Method::POST, "/v2/webhooks", &key, Some(&body))
        .await;
    let id =
        Uuid::parse_str(created["data"]["id"]["webhook_id"].as_str().expect("id")).expect("uuid");
    create_task(&t, &key, "Quick answer").await;
    assert!(
        t.sandbox().deliveries(id).is_empty(),
        "the API answered before the attempt ended"
    );
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let log = t.sandbox().deliveries(id);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, None);
    assert!(
        log[0].error.as_deref().unwrap_or("").contains("timeout"),
        "{:?}",
        log[0].error
    );
    assert!(log[0].latency >= Duration::from_millis(800));
    assert_eq!(t.sandbox().webhook_status(id).as_deref(), Some("degraded"));
    held.abort();
}

#[tokio::test]
async fn any_2xx_is_a_success_and_redirects_are_failures() {
    let t = spawn_with(Config {
        retry_base: Duration::from_millis(5),
        ..Config::default()
    })
    .await;
    let hook = Hook::new(&t, &["task.created"]).await;
    let key = t.key();
    hook.receiver.fail_next(1, 202);
    create_task(&t, &key, "Accepted").await;
    hook.receiver.wait_for(1).await;
    hook.receiver.fail_next(1, 302);
    create_task(&t, &key, "Redirected").await;
    hook.receiver.wait_for(3).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let statuses: Vec<(Option<u16>, bool)> = t
        .sandbox()
        .deliveries(webhook_id(&hook))
        .iter()
        .map(|a| (a.status, a.succeeded))
        .collect();
    assert_eq!(
        statuses,
        [(Some(202), true), (Some(302), false), (Some(200), true)]
    );
}

#[tokio::test]
async fn a_deleted_webhook_gets_nothing_more() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created"]).await;
    let key = t.key();
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("/v2/webhooks/{}", hook.id),
            &hook.key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    create_task(&t, &key, "Unheard").await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    assert!(hook.receiver.received().is_empty());
}

#[tokio::test]
async fn the_delivery_log_is_readable_through_the_sandbox_controls() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created"]).await;
    create_task(&t, &t.key(), "Logged").await;
    hook.receiver.wait_for(1).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let response = t
        .http
        .get(t.url(&format!("/_sandbox/webhooks/{}/deliveries", hook.id)))
        .send()
        .await
        .expect("answers");
    let (status, log) = read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    let attempt = &log["data"][0];
    assert_eq!(attempt["event_type"], "task.created");
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["status_code"], 200);
    assert_eq!(attempt["succeeded"], true);
    assert_eq!(attempt["error"], Value::Null);
    assert!(attempt["latency_ms"].is_u64());
    crate::assert_timestamp(&attempt["at"]);
    assert_eq!(
        attempt["idempotency_key"],
        hook.receiver.received()[0].header("idempotency-key")
    );
    let response = t
        .http
        .get(t.url("/_sandbox/webhooks"))
        .send()
        .await
        .expect("answers");
    let (_, all) = read_json(response).await;
    assert_eq!(all["data"][0]["status"], "active");
    assert!(
        !all.to_string().contains(&hook.secret),
        "no secrets in sandbox controls"
    );
}
