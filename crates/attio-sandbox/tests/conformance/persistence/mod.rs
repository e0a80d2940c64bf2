//! A sandbox opened on a data directory: what the API changed survives a restart (data, OAuth
//! tokens and codes, webhooks and their secrets, deliveries still to be sent), the file is
//! written atomically and privately, a bad file stops start-up with a clear error, and the
//! whole-state controls (reset, snapshot, restore).

mod controls;
mod files;

use std::path::Path;
use std::time::Duration;

use attio_sandbox::{Config, Sandbox, DEFAULT_REDIRECT_URI};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::receiver::{signature, Receiver};
use crate::{serve, TestSandbox};

/// Retries come quickly, so that a delivery queued before a restart is retried within a test.
fn config() -> Config {
    Config {
        retry_base: Duration::from_millis(200),
        max_retries: 3,
        ..Config::default()
    }
}

async fn open(dir: &Path) -> TestSandbox {
    serve(Sandbox::open(config(), dir).expect("the data directory opens")).await
}

/// Stops the sandbox as a signal would (it makes its last save), then starts a new one on the
/// same directory.
async fn restart(t: TestSandbox, dir: &Path) -> TestSandbox {
    t.spawned.shut_down().await;
    open(dir).await
}

async fn create_task(t: &TestSandbox, key: &str, content: &str) -> String {
    let body = json!({"data": {"content": content, "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []}});
    let (status, created) = t.call(Method::POST, "/v2/tasks", key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["data"]["id"]["task_id"]
        .as_str()
        .expect("task id")
        .to_owned()
}

async fn create_person(t: &TestSandbox, key: &str, name: &str, email: &str) -> String {
    let body = json!({"data": {"values": {"name": name, "email_addresses": [email]}}});
    let (status, created) = t
        .call(Method::POST, "/v2/objects/people/records", key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["data"]["id"]["record_id"]
        .as_str()
        .expect("record id")
        .to_owned()
}

/// Registers a webhook for `task.created` with `token`; returns its id and secret.
async fn create_webhook(t: &TestSandbox, token: &str, target: &str) -> (String, String) {
    let body = json!({"data": {"target_url": target,
        "subscriptions": [{"event_type": "task.created", "filter": null}]}});
    let (status, created) = t
        .call(Method::POST, "/v2/webhooks", token, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["data"]["id"]["webhook_id"].as_str().expect("id");
    let secret = created["data"]["secret"].as_str().expect("secret");
    (id.to_owned(), secret.to_owned())
}

/// An API key with every scope, minted over HTTP as a tool would.
async fn api_key(t: &TestSandbox) -> String {
    let response = t
        .http
        .post(t.url("/_sandbox/api-keys"))
        .send()
        .await
        .expect("api-keys answers");
    let (status, body) = crate::read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn what_the_api_changed_survives_a_restart_and_the_webhook_signs_with_its_old_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start().await;
    let t = open(dir.path()).await;
    let oauth = t.oauth_token().await;
    let key = api_key(&t).await;
    let person = create_person(&t, &key, "Grace Hopper", "grace@navy.test").await;
    let task = create_task(&t, &key, "Survive the restart").await;
    let (webhook, secret) = create_webhook(&t, &oauth, &receiver.url).await;
    let record = format!("/v2/objects/people/records/{person}");
    for title in ["Rear admiral", "Computer scientist"] {
        let body = json!({"data": {"values": {"job_title": title}}});
        let (status, body) = t.call(Method::PATCH, &record, &key, Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A custom object with an attribute and a record of its own.
    let project = json!({"data": {"api_slug": "projects", "singular_noun": "Project",
        "plural_noun": "Projects"}});
    let (status, body) = t
        .call(Method::POST, "/v2/objects", &key, Some(&project))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let code = json!({"data": {"title": "Code", "description": null, "api_slug": "code",
        "type": "text", "is_required": false, "is_unique": true, "is_multiselect": false,
        "config": {}}});
    let (status, body) = t
        .call(
            Method::POST,
            "/v2/objects/projects/attributes",
            &key,
            Some(&code),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let apollo = json!({"data": {"values": {"code": "APOLLO"}}});
    let (status, body) = t
        .call(
            Method::POST,
            "/v2/objects/projects/records",
            &key,
            Some(&apollo),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let project_record = format!(
        "/v2/objects/projects/records/{}",
        body["data"]["id"]["record_id"].as_str().expect("id")
    );
    let history = format!("{record}/attributes/job_title/values?show_historic=true");
    let (_, history_before) = t.get(&history, &key).await;
    let (_, self_before) = t.get("/v2/self", &oauth).await;
    let before = t.sandbox().snapshot();

    let t = restart(t, dir.path()).await;

    // Every workspace comes back exactly: data, value history, webhooks and their logs.
    let after = t.sandbox().snapshot();
    if let Some(difference) = difference(&before["workspaces"], &after["workspaces"], "workspaces")
    {
        panic!("the state changed across the restart at {difference}");
    }
    assert_eq!(before["auth"]["tokens"], after["auth"]["tokens"]);
    let (status, history_after) = t.get(&history, &key).await;
    assert_eq!(status, StatusCode::OK, "{history_after}");
    assert_eq!(history_after, history_before);
    assert_eq!(
        history_after["data"].as_array().map(Vec::len),
        Some(2),
        "{history_after}"
    );
    let (status, body) = t.get(&project_record, &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["values"]["code"][0]["value"], "APOLLO");

    // The OAuth token from the real /authorize + /oauth/token flow still works, as itself.
    let (status, self_after) = t.get("/v2/self", &oauth).await;
    assert_eq!(status, StatusCode::OK, "{self_after}");
    assert_eq!(self_after, self_before);
    let (status, body) = t.get(&format!("/v2/tasks/{task}"), &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["content_plaintext"], "Survive the restart");
    let (status, body) = t
        .get(&format!("/v2/objects/people/records/{person}"), &key)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["values"]["email_addresses"][0]["email_address"],
        "grace@navy.test"
    );
    let (status, body) = t.get(&format!("/v2/webhooks/{webhook}"), &oauth).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the app still owns its webhook: {body}"
    );

    // The webhook still delivers, signed with the secret shown before the restart.
    let created = create_task(&t, &key, "After the restart").await;
    let received = receiver.wait_for(1).await;
    assert_eq!(
        received[0].header("attio-signature"),
        signature(&secret, &received[0].body)
    );
    assert_eq!(received[0].event()["id"]["task_id"], created.as_str());
}

#[tokio::test]
async fn an_authorization_code_issued_before_a_restart_is_exchanged_after_it_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    let code = t.code().await;
    let t = restart(t, dir.path()).await;
    let (status, body) = t.exchange_code(&code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();

    // Its single use is remembered too: a second exchange after another restart is refused
    // and revokes the token the first one produced.
    let t = restart(t, dir.path()).await;
    let (status, body) = t.exchange_code(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (_, me) = t.get("/v2/self", &token).await;
    assert_eq!(me["active"], false, "{me}");
}

#[tokio::test]
async fn a_consent_page_shown_before_a_restart_can_be_answered_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    let request_id = t.open_consent(Some("kept")).await;
    let t = restart(t, dir.path()).await;
    let member = t.sandbox().admin_member_id().to_string();
    let response = t
        .answer(&[
            ("request_id", &request_id),
            ("decision", "approve"),
            ("member_id", &member),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = crate::location(&response);
    assert!(location.starts_with(DEFAULT_REDIRECT_URI), "{location}");
    assert!(location.contains("state=kept"), "{location}");
}

#[tokio::test]
async fn a_delivery_waiting_for_its_retry_is_sent_after_a_restart_with_the_same_key_and_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start().await;
    receiver.fail_next(1, 503);
    let t = open(dir.path()).await;
    let key = api_key(&t).await;
    let (webhook, secret) = create_webhook(&t, &key, &receiver.url).await;
    create_task(&t, &key, "Deliver me later").await;
    let first = receiver.wait_for(1).await.remove(0);
    // The failure is logged (and the retry queued) before the restart.
    let webhook_id = webhook.parse().expect("uuid");
    let deadline = tokio::time::Instant::now() + crate::receiver::DEADLINE;
    while t.sandbox().deliveries(webhook_id).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the attempt is logged"
        );
        tokio::task::yield_now().await;
    }

    let t = restart(t, dir.path()).await;

    let received = receiver.wait_for(2).await;
    let retry = &received[1];
    assert_eq!(
        retry.header("idempotency-key"),
        first.header("idempotency-key")
    );
    assert_eq!(retry.body, first.body, "the same bytes");
    assert_eq!(
        retry.header("attio-signature"),
        signature(&secret, &retry.body)
    );
    assert!(t.sandbox().wait_for_idle(crate::receiver::DEADLINE).await);
    let log: Vec<(u32, bool)> = t
        .sandbox()
        .deliveries(webhook_id)
        .iter()
        .map(|a| (a.attempt, a.succeeded))
        .collect();
    assert_eq!(
        log,
        vec![(1, false), (2, true)],
        "the log spans the restart"
    );
    assert_eq!(receiver.received().len(), 2, "sent once more, not twice");
}

#[tokio::test]
async fn a_request_is_answered_only_once_the_file_holds_its_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    let key = api_key(&t).await;
    let task = create_task(&t, &key, "Durable before the answer").await;
    // Read at once, with no flush: background saves come up to 100 ms later.
    let file = std::fs::read_to_string(dir.path().join(attio_sandbox::STATE_FILE))
        .expect("the state file");
    assert!(file.contains(&task), "the answer came after the save");
}

#[tokio::test]
async fn the_file_keeps_tokens_codes_and_consent_requests_only_as_sha256_hashes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = open(dir.path()).await;
    let oauth = t.oauth_token().await;
    let code = t.code().await;
    let request_id = t.open_consent(None).await;
    let key = api_key(&t).await;
    t.sandbox().flush().await.expect("saved");
    let file = std::fs::read_to_string(dir.path().join(attio_sandbox::STATE_FILE))
        .expect("the state file");
    let state: Value = serde_json::from_str(&file).expect("JSON");
    for secret in [&oauth, &code, &request_id, &key] {
        assert!(!file.contains(secret.as_str()), "a raw secret in the file");
    }
    let hashes: Vec<&str> = state["auth"]["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["token_sha256"].as_str().expect("hash"))
        .collect();
    for token in [&oauth, &key] {
        assert!(hashes.contains(&sha256_b64(token).as_str()), "{hashes:?}");
    }
}

/// Where two JSON values first differ, for a readable failure.
pub fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
            let (left, right) = (
                x.get(k).unwrap_or(&Value::Null),
                y.get(k).unwrap_or(&Value::Null),
            );
            difference(left, right, &format!("{at}.{k}"))
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (l, r))| difference(l, r, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} != {b}")),
    }
}

fn sha256_b64(secret: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(secret))
}
