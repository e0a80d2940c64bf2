//! `/v2/webhooks`: shapes, the secret, paging limits, validation, scopes and ownership.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{assert_flat_error, assert_timestamp, spawn, TestSandbox};

fn body(target: &str) -> Value {
    json!({"data": {
        "target_url": target,
        "subscriptions": [
            {"event_type": "task.created", "filter": null},
            {"event_type": "record.updated", "filter": {"$and": [
                {"field": "id.attribute_id", "operator": "equals", "value": "abc"}
            ]}},
        ]
    }})
}

async fn create(t: &TestSandbox, key: &str, body: &Value) -> (StatusCode, Value) {
    t.call(Method::POST, "/v2/webhooks", key, Some(body)).await
}

#[tokio::test]
async fn creating_a_webhook_returns_it_with_a_secret_that_no_other_answer_repeats() {
    let t = spawn().await;
    let key = t.key();
    let (status, created) = create(&t, &key, &body("https://example.com/hooks")).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let webhook = &created["data"];
    let mut keys: Vec<&str> = webhook
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "id",
            "secret",
            "status",
            "subscriptions",
            "target_url"
        ]
    );
    assert_eq!(webhook["target_url"], "https://example.com/hooks");
    assert_eq!(webhook["status"], "active");
    assert_eq!(
        webhook["subscriptions"],
        body("x")["data"]["subscriptions"],
        "echoed as sent"
    );
    assert_eq!(
        webhook["id"]["workspace_id"],
        t.sandbox().workspace_id().to_string()
    );
    assert_timestamp(&webhook["created_at"]);
    let secret = webhook["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 64);
    assert!(secret
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

    let id = webhook["id"]["webhook_id"].as_str().expect("id");
    let path = format!("/v2/webhooks/{id}");
    let patch = json!({"data": {"target_url": "https://example.com/other"}});
    let answers = [
        t.get(&path, &key).await,
        t.get("/v2/webhooks", &key).await,
        t.call(Method::PATCH, &path, &key, Some(&patch)).await,
    ];
    for (status, answer) in answers {
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(
            !answer.to_string().contains(secret),
            "no secret in {answer}"
        );
        assert!(
            !answer.to_string().contains("\"secret\""),
            "no secret field in {answer}"
        );
    }
    let (_, read) = t.get(&path, &key).await;
    assert_eq!(read["data"]["target_url"], "https://example.com/other");
    assert_eq!(
        read["data"]["subscriptions"], webhook["subscriptions"],
        "PATCH kept them"
    );
}

#[tokio::test]
async fn webhooks_are_listed_ten_at_a_time_and_limits_outside_10_to_100_are_rejected() {
    let t = spawn().await;
    let key = t.key();
    for _ in 0..12 {
        assert_eq!(
            create(&t, &key, &body("https://example.com/h")).await.0,
            StatusCode::OK
        );
    }
    let count = |v: &Value| v["data"].as_array().map_or(0, Vec::len);
    assert_eq!(
        count(&t.get("/v2/webhooks", &key).await.1),
        10,
        "default limit"
    );
    assert_eq!(count(&t.get("/v2/webhooks?limit=100", &key).await.1), 12);
    assert_eq!(
        count(&t.get("/v2/webhooks?limit=10&offset=10", &key).await.1),
        2
    );
    for query in [
        "limit=9",
        "limit=101",
        "limit=ten",
        "offset=-1",
        "limit=10&limit=20",
    ] {
        let (status, error) = t.get(&format!("/v2/webhooks?{query}"), &key).await;
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
    }
}

#[tokio::test]
async fn unknown_webhooks_are_404_with_attios_messages_and_delete_answers_an_empty_object() {
    let t = spawn().await;
    let key = t.key();
    let (_, created) = create(&t, &key, &body("https://example.com/h")).await;
    let id = created["data"]["id"]["webhook_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/v2/webhooks/{id}");
    let (status, answer) = t.call(Method::DELETE, &path, &key, None).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({})));

    let (status, error) = t.get(&path, &key).await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    assert_eq!(
        error["message"],
        format!("Webhook with ID \"{id}\" was not found.")
    );
    let patch = json!({"data": {}});
    let (status, error) = t.call(Method::PATCH, &path, &key, Some(&patch)).await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    for path in [path.as_str(), "/v2/webhooks/not-a-uuid"] {
        let (status, error) = t.call(Method::DELETE, path, &key, None).await;
        assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
        assert_eq!(error["message"], "Webhook not found");
    }
}

#[tokio::test]
async fn invalid_webhook_bodies_are_rejected_with_a_message() {
    let t = spawn().await;
    let key = t.key();
    let sub = |event: &str, filter: Value| json!([{ "event_type": event, "filter": filter }]);
    let good_subs = sub("task.created", Value::Null);
    let cases: Vec<(&str, Value)> = vec![
        ("no data", json!({})),
        (
            "no target_url",
            json!({"data": {"subscriptions": good_subs}}),
        ),
        (
            "no subscriptions",
            json!({"data": {"target_url": "https://a.test"}}),
        ),
        (
            "plain http",
            json!({"data": {"target_url": "http://example.com/h", "subscriptions": good_subs}}),
        ),
        (
            "http to a private address",
            json!({"data": {"target_url": "http://10.0.0.8/h", "subscriptions": good_subs}}),
        ),
        (
            "another scheme",
            json!({"data": {"target_url": "ftp://example.com", "subscriptions": good_subs}}),
        ),
        (
            "not a URL",
            json!({"data": {"target_url": "example.com/h", "subscriptions": good_subs}}),
        ),
        (
            "target not a string",
            json!({"data": {"target_url": 5, "subscriptions": good_subs}}),
        ),
        (
            "unknown data field",
            json!({"data": {"target_url": "https://a.test", "subscriptions": good_subs, "status": "active"}}),
        ),
        (
            "subscriptions not a list",
            json!({"data": {"target_url": "https://a.test", "subscriptions": {}}}),
        ),
        (
            "unknown event type",
            json!({"data": {"target_url": "https://a.test", "subscriptions": sub("task.completed", Value::Null)}}),
        ),
        (
            "missing filter",
            json!({"data": {"target_url": "https://a.test", "subscriptions": [{"event_type": "task.created"}]}}),
        ),
        (
            "extra subscription field",
            json!({"data": {"target_url": "https://a.test", "subscriptions": [{"event_type": "task.created", "filter": null, "x": 1}]}}),
        ),
        (
            "nested filter",
            json!({"data": {"target_url": "https://a.test", "subscriptions": sub("task.created", json!({"$and": [{"$or": []}]}))}}),
        ),
        (
            "bad operator",
            json!({"data": {"target_url": "https://a.test", "subscriptions": sub("task.created", json!({"$or": [{"field": "actor.type", "operator": "contains", "value": "x"}]}))}}),
        ),
        (
            "value not a string",
            json!({"data": {"target_url": "https://a.test", "subscriptions": sub("task.created", json!({"$or": [{"field": "actor.type", "operator": "equals", "value": true}]}))}}),
        ),
    ];
    for (case, body) in &cases {
        let (status, error) = create(&t, &key, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {error}");
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let (_, created) = create(&t, &key, &body("https://example.com/h")).await;
    let path = format!(
        "/v2/webhooks/{}",
        created["data"]["id"]["webhook_id"].as_str().expect("id")
    );
    for (case, patch) in [
        (
            "status is not writable",
            json!({"data": {"status": "active"}}),
        ),
        ("secret is not writable", json!({"data": {"secret": "x"}})),
        (
            "bad target",
            json!({"data": {"target_url": "http://example.com"}}),
        ),
    ] {
        let (status, error) = t.call(Method::PATCH, &path, &key, Some(&patch)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {error}");
    }
}

#[tokio::test]
async fn http_targets_are_accepted_only_on_loopback_addresses() {
    let t = spawn().await;
    let key = t.key();
    let cases = [
        ("https://example.com/h", true),
        ("http://127.0.0.1:3050/webhooks/attio", true),
        ("http://127.8.9.10/h", true),
        ("http://localhost:3050/h", true),
        ("http://[::1]:3050/h", true),
        ("http://example.com/h", false),
        ("http://192.168.1.4/h", false),
        ("http://[2001:db8::1]/h", false),
    ];
    for (target, accepted) in cases {
        let (status, answer) = create(&t, &key, &body(target)).await;
        assert_eq!(status == StatusCode::OK, accepted, "{target}: {answer}");
    }
}

#[tokio::test]
async fn webhook_endpoints_need_the_webhook_scopes() {
    let t = spawn().await;
    let owner = t
        .sandbox()
        .mint_api_key(Some(vec!["webhook:read-write".to_owned()]));
    let (_, created) = create(&t, &owner, &body("https://example.com/h")).await;
    let path = format!(
        "/v2/webhooks/{}",
        created["data"]["id"]["webhook_id"].as_str().expect("id")
    );
    let read_only = t
        .sandbox()
        .mint_api_key(Some(vec!["webhook:read".to_owned()]));
    let nothing = t.sandbox().mint_api_key(Some(vec!["task:read".to_owned()]));
    let patch = json!({"data": {}});
    let writes = [
        (
            Method::POST,
            "/v2/webhooks",
            Some(body("https://example.com/h")),
        ),
        (Method::PATCH, path.as_str(), Some(patch)),
        (Method::DELETE, path.as_str(), None),
    ];
    for (method, path, body) in writes {
        for key in [&read_only, &nothing] {
            let (status, error) = t.call(method.clone(), path, key, body.as_ref()).await;
            assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
            assert!(error["message"]
                .as_str()
                .unwrap_or("")
                .contains("webhook:read-write"));
        }
    }
    for path in ["/v2/webhooks", path.as_str()] {
        let (status, error) = t.get(path, &nothing).await;
        assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
        assert_eq!(
            t.get(path, &owner).await.0,
            StatusCode::OK,
            "read-write reads"
        );
    }
}

#[tokio::test]
async fn a_token_sees_only_the_webhooks_of_its_own_app_or_key() {
    let t = spawn().await;
    let (first_oauth, second_oauth) = (t.oauth_token().await, t.oauth_token().await);
    let (_, created) = create(&t, &first_oauth, &body("https://example.com/h")).await;
    let path = format!(
        "/v2/webhooks/{}",
        created["data"]["id"]["webhook_id"].as_str().expect("id")
    );
    assert_eq!(
        t.get(&path, &second_oauth).await.0,
        StatusCode::OK,
        "same app"
    );
    let (_, listed) = t.get("/v2/webhooks", &second_oauth).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));

    let other_key = t.key();
    let (status, _) = t.get(&path, &other_key).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an API key is its own integration"
    );
    let (_, listed) = t.get("/v2/webhooks", &other_key).await;
    assert_eq!(listed["data"], json!([]));
    let (status, _) = t.call(Method::DELETE, &path, &other_key, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
