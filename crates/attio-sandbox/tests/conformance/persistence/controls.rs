//! `POST /_sandbox/reset`, `GET /_sandbox/snapshot`, `POST /_sandbox/restore` and their typed
//! twins: back to the seed, the whole state out and back in, bad snapshots refused with a 400.

use attio_sandbox::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{api_key, config, create_task, create_webhook, difference, open, restart};
use crate::receiver::Receiver;
use crate::{assert_flat_error, read_json, spawn, TestSandbox};

async fn snapshot(t: &TestSandbox) -> Value {
    let response = t
        .http
        .get(t.url("/_sandbox/snapshot"))
        .send()
        .await
        .expect("snapshot answers");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn post(t: &TestSandbox, path: &str, body: &[u8]) -> (StatusCode, Value) {
    let response = t
        .http
        .post(t.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("control answers");
    read_json(response).await
}

/// A snapshot without the moment it was taken, to compare two.
fn timeless(mut snapshot: Value) -> Value {
    snapshot.as_object_mut().expect("object").remove("saved_at");
    snapshot
}

#[track_caller]
fn assert_same(a: &Value, b: &Value) {
    if let Some(difference) = difference(&timeless(a.clone()), &timeless(b.clone()), "") {
        panic!("the snapshots differ at {difference}");
    }
}

async fn task_count(t: &TestSandbox, key: &str) -> usize {
    let (status, body) = t.get("/v2/tasks?limit=500", key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().expect("tasks").len()
}

#[tokio::test]
async fn reset_goes_back_to_the_seed_and_forgets_tokens_webhooks_and_deliveries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start().await;
    receiver.fail_next(100, 500);
    let t = open(dir.path()).await;
    let seed = snapshot(&t).await;
    let oauth = t.oauth_token().await;
    let key = api_key(&t).await;
    create_webhook(&t, &key, &receiver.url).await;
    create_task(&t, &key, "Gone after the reset").await;
    receiver.wait_for(1).await;

    let (status, body) = post(&t, "/_sandbox/reset", b"").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for token in [&oauth, &key] {
        let (_, me) = t.get("/v2/self", token).await;
        assert_eq!(me["active"], false, "{me}");
        let (status, _) = t.get("/v2/tasks", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "tokens are gone");
    }
    assert!(t.sandbox().webhook_ids().is_empty());
    assert!(
        t.sandbox()
            .wait_for_idle(std::time::Duration::from_secs(1))
            .await,
        "nothing is queued or retried"
    );
    assert_same(&snapshot(&t).await, &seed);
    // The file holds the reset too.
    let t = restart(t, dir.path()).await;
    assert_same(&snapshot(&t).await, &seed);
    let key = api_key(&t).await;
    assert_eq!(task_count(&t, &key).await, 48);

    let (status, body) = post(&t, "/_sandbox/reset", br#"{"keep": true}"#).await;
    assert_flat_error(
        status,
        &body,
        (400, "invalid_request_error", "validation_type"),
    );
}

#[tokio::test]
async fn a_snapshot_restored_brings_back_data_tokens_and_webhooks_exactly() {
    let t = spawn().await;
    let receiver = Receiver::start().await;
    let key = api_key(&t).await;
    let kept = create_task(&t, &key, "In the snapshot").await;
    let (_, secret) = create_webhook(&t, &key, &receiver.url).await;
    let taken = snapshot(&t).await;

    let later_key = api_key(&t).await;
    create_task(&t, &key, "After the snapshot").await;
    let (status, body) = post(&t, "/_sandbox/restore", taken.to_string().as_bytes()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    assert_same(&snapshot(&t).await, &taken);
    assert_eq!(task_count(&t, &key).await, 49);
    let (status, _) = t.get(&format!("/v2/tasks/{kept}"), &key).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.get("/v2/tasks", &later_key).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a key minted after it is gone"
    );
    // The restored webhook delivers, with its secret. Two deliveries (of the task created after
    // the snapshot, sent before the restore) may have arrived already; count from here.
    assert!(t.sandbox().wait_for_idle(crate::receiver::DEADLINE).await);
    let before = receiver.received().len();
    create_task(&t, &key, "After the restore").await;
    let received = receiver.wait_for(before + 1).await;
    let delivery = &received[before];
    assert_eq!(
        delivery.header("attio-signature"),
        crate::receiver::signature(&secret, &delivery.body)
    );

    // The typed twins agree with the controls.
    assert!(t.sandbox().wait_for_idle(crate::receiver::DEADLINE).await);
    assert_same(&t.sandbox().snapshot(), &snapshot(&t).await);
    t.sandbox().reset().await;
    assert_eq!(task_count(&t, &api_key(&t).await).await, 48);
    t.sandbox().restore(&taken).await.expect("restores");
    assert_eq!(task_count(&t, &key).await, 49);
}

#[tokio::test]
async fn restore_refuses_what_is_not_a_valid_snapshot_with_a_400_and_changes_nothing() {
    let t = spawn().await;
    let key = api_key(&t).await;
    let good = snapshot(&t).await;
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut snapshot = good.clone();
        change(&mut snapshot);
        snapshot.to_string().into_bytes()
    };
    let webhook = json!({"id": "6d59c798-10ad-4d17-bafd-52df28604321",
        "target_url": "http://127.0.0.1:9/hook",
        "subscriptions": [{"event_type": "task.created", "filter": null}],
        "created_at": "2026-01-01T00:00:00Z", "owner": {"app": "sandbox-client"},
        "secret": "ab".repeat(32), "degraded_since": null});
    let message = json!({"idempotency_key": "6f0bc752-4f8a-46df-954e-b0b10ddfbf59",
        "webhook_id": "11111111-1111-4111-8111-111111111111", "event_type": "task.created",
        "body": "{}", "attempts": 0, "due": "2026-01-01T00:00:00Z"});
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"{".to_vec(), "unreadable JSON"),
        ("empty", Vec::new(), "unreadable JSON"),
        (
            "an object of something else",
            b"{}".to_vec(),
            "not a sandbox state",
        ),
        (
            "a newer version",
            edit(&|s| s["version"] = json!(7)),
            "newer sandbox (state version 7",
        ),
        (
            "a version that is not a number",
            edit(&|s| s["version"] = json!("1")),
            "\"version\" must be a whole number",
        ),
        (
            "an unknown field",
            edit(&|s| s["extra"] = json!(1)),
            "unknown field `extra`",
        ),
        (
            "no workspace",
            edit(&|s| s["workspaces"] = json!([])),
            "at least one workspace",
        ),
        (
            "a workspace twice",
            edit(&|s| {
                let first = s["workspaces"][0].clone();
                s["workspaces"].as_array_mut().expect("array").push(first);
            }),
            "appears twice",
        ),
        (
            "a missing standard object",
            edit(&|s| s["workspaces"][0]["objects"] = json!([])),
            "exactly one \"people\" object",
        ),
        (
            "a webhook with a short secret",
            edit(&|s| {
                let mut hook = webhook.clone();
                hook["secret"] = json!("short");
                s["workspaces"][0]["webhooks"] = json!([hook]);
            }),
            "workspaces[0].webhooks[0].secret",
        ),
        (
            "an unknown event type",
            edit(&|s| {
                let mut hook = webhook.clone();
                hook["subscriptions"][0]["event_type"] = json!("task.exploded");
                s["workspaces"][0]["webhooks"] = json!([hook]);
            }),
            "unknown event type \"task.exploded\"",
        ),
        (
            "a message for no webhook",
            edit(&|s| {
                s["workspaces"][0]["webhooks"] = json!([webhook.clone()]);
                s["workspaces"][0]["deliveries"]["queues"] = json!([{"target_url": "http://127.0.0.1:9/hook", "fresh": [message.clone()], "retries": []}]);
            }),
            "no webhook 11111111-1111-4111-8111-111111111111",
        ),
        (
            "a token that is not a hash",
            edit(&|s| {
                s["auth"]["tokens"] = json!([{"token_sha256": "raw", "id": "6f0bc752-4f8a-46df-954e-b0b10ddfbf59",
                    "kind": "api_key", "scopes": [], "workspace_id": s["workspaces"][0]["id"],
                    "member_id": "6f0bc752-4f8a-46df-954e-b0b10ddfbf59", "iat": 0, "active": true}]);
            }),
            "auth.tokens[0].token_sha256",
        ),
        (
            "a token of no workspace",
            edit(&|s| {
                s["auth"]["tokens"] = json!([{"token_sha256": "a".repeat(43), "id": "6f0bc752-4f8a-46df-954e-b0b10ddfbf59",
                    "kind": "api_key", "scopes": [], "workspace_id": "6f0bc752-4f8a-46df-954e-b0b10ddfbf59",
                    "member_id": "6f0bc752-4f8a-46df-954e-b0b10ddfbf59", "iat": 0, "active": true}]);
            }),
            "auth.tokens[0].workspace_id",
        ),
    ];
    for (case, body, expected) in cases {
        let (status, error) = post(&t, "/_sandbox/restore", &body).await;
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
        let message = error["message"].as_str().expect("message");
        assert!(message.contains(expected), "{case}: {message}");
        assert!(
            t.sandbox()
                .restore(&serde_json::from_slice(&body).unwrap_or(Value::Null))
                .await
                .is_err(),
            "{case}: typed"
        );
    }
    assert_eq!(task_count(&t, &key).await, 48, "the state is unchanged");
    assert_same(&snapshot(&t).await, &good);
}

#[tokio::test]
async fn the_state_controls_answer_only_the_local_machine() {
    let t = spawn().await;
    // Served without connect info, as a proxy-less misconfiguration would: refused.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = t.sandbox().router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    for (method, path, local) in [
        (Method::GET, "/_sandbox/snapshot", StatusCode::OK),
        (Method::POST, "/_sandbox/reset", StatusCode::NO_CONTENT),
        (Method::POST, "/_sandbox/restore", StatusCode::BAD_REQUEST),
    ] {
        let response = http
            .request(method.clone(), format!("http://{addr}{path}"))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        // From the local machine they answer (the restore without a body is a 400).
        let response = http
            .request(method, t.url(path))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), local, "{path} locally");
    }
}

#[tokio::test]
async fn an_in_memory_sandbox_restores_a_snapshot_taken_from_a_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    let key = api_key(&t).await;
    let task = create_task(&t, &key, "Moved").await;
    t.spawned.shut_down().await;
    let file = std::fs::read(dir.path().join(attio_sandbox::STATE_FILE)).expect("file");
    let memory = Sandbox::new(config());
    memory
        .restore(&serde_json::from_slice(&file).expect("JSON"))
        .await
        .expect("restores");
    assert!(memory
        .task_ids_in(memory.workspace_id())
        .iter()
        .any(|id| id.to_string() == task));
}
