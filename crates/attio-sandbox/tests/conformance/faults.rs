//! Fault injection on the sandbox's own answers, Attio's rate limits, and token revocation
//! through `/_sandbox/...`.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::events::control;
use crate::{assert_flat_error, spawn, TestSandbox};

async fn add_fault(t: &TestSandbox, rule: Value) {
    let (status, answer) = control(t, Method::POST, "/_sandbox/faults", Some(rule)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn an_error_rate_of_one_fails_every_matching_request_until_cleared() {
    let t = spawn().await;
    let key = t.key();
    add_fault(
        &t,
        json!({"path_prefix": "/v2/tasks", "error_rate": 1.0, "error_status": 503}),
    )
    .await;
    for _ in 0..3 {
        let (status, error) = t.get("/v2/tasks", &key).await;
        assert_flat_error(status, &error, (503, "api_error", "internal_server_error"));
    }
    assert_eq!(
        t.get("/v2/workspace_members", &key).await.0,
        StatusCode::OK,
        "other paths"
    );
    let (_, faults) = control(&t, Method::GET, "/_sandbox/faults", None).await;
    assert_eq!(faults["rules"][0]["path_prefix"], "/v2/tasks");
    let (status, cleared) = control(&t, Method::DELETE, "/_sandbox/faults", None).await;
    assert_eq!(
        (status, cleared["rules"].clone()),
        (StatusCode::OK, json!([]))
    );
    assert_eq!(t.get("/v2/tasks", &key).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_fractional_error_rate_fails_an_exact_share_of_requests() {
    let t = spawn().await;
    let key = t.key();
    add_fault(&t, json!({"path_prefix": "/v2/", "error_rate": 0.5})).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(t.get("/v2/workspace_members", &key).await.0.as_u16());
    }
    assert_eq!(statuses, [200, 500, 200, 500, 200, 500]);
}

#[tokio::test]
async fn injected_429s_carry_retry_after_as_an_http_date() {
    let t = spawn().await;
    add_fault(
        &t,
        json!({"path_prefix": "/v2/self", "rate_limit_rate": 1, "retry_after_secs": 2}),
    )
    .await;
    let response = t
        .http
        .get(t.url("/v2/self"))
        .bearer_auth(t.key())
        .send()
        .await
        .expect("answers");
    let retry_after = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let (status, body) = crate::read_json(response).await;
    assert_flat_error(
        status,
        &body,
        (429, "rate_limit_error", "rate_limit_exceeded"),
    );
    assert_eq!(
        body["message"],
        "Rate limit exceeded, please try again later"
    );
    let at = httpdate::parse_http_date(&retry_after).expect("an HTTP-date");
    assert!(retry_after.ends_with(" GMT"), "{retry_after}");
    assert!(at > SystemTime::now(), "{retry_after} is in the future");
}

#[tokio::test]
async fn added_latency_delays_the_answer() {
    let t = spawn().await;
    add_fault(
        &t,
        json!({"path_prefix": "/v2/workspace_members", "latency_ms": 150}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(
        t.get("/v2/workspace_members", &t.key()).await.0,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_dropped_connection_gets_no_http_response_and_times_limits_a_rule() {
    let t = spawn().await;
    add_fault(
        &t,
        json!({"path_prefix": "/v2/tasks", "drop_connection_rate": 1.0, "times": 2}),
    )
    .await;
    for _ in 0..2 {
        let error = t
            .http
            .get(t.url("/v2/tasks"))
            .bearer_auth(t.key())
            .send()
            .await
            .expect_err("the connection is dropped");
        assert!(error.status().is_none(), "no HTTP status at all: {error}");
    }
    assert_eq!(
        t.get("/v2/tasks", &t.key()).await.0,
        StatusCode::OK,
        "the rule expired"
    );
}

#[tokio::test]
async fn faults_never_touch_the_console_or_the_controls() {
    let t = spawn().await;
    add_fault(
        &t,
        json!({"path_prefix": "/", "error_rate": 1.0, "drop_connection_rate": 0}),
    )
    .await;
    assert_eq!(
        t.get("/v2/self", &t.key()).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let console = t.http.get(t.url("/")).send().await.expect("answers");
    assert_eq!(console.status(), StatusCode::OK);
    let (status, _) = control(&t, Method::DELETE, "/_sandbox/faults", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t.get("/v2/self", &t.key()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_fault_rules_are_rejected_with_a_message() {
    let t = spawn().await;
    for rule in [
        json!({}),
        json!({"path_prefix": "v2"}),
        json!({"path_prefix": "/v2", "error_rate": 2}),
        json!({"path_prefix": "/v2", "error_status": 399}),
        json!({"path_prefix": "/v2", "error_status": 429}),
        json!({"path_prefix": "/v2", "error_status": 600}),
        json!({"path_prefix": "/v2", "latency_ms": -1}),
        json!({"path_prefix": "/v2", "times": 0}),
        json!({"path_prefix": "/v2", "typo": 1}),
    ] {
        let (status, error) =
            control(&t, Method::POST, "/_sandbox/faults", Some(rule.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {error}");
    }
}

#[tokio::test]
async fn attios_rate_limits_can_be_switched_on_and_off() {
    let t = spawn().await;
    let key = t.key();
    let (status, state) = control(
        &t,
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(
        (status, state["rate_limits"].clone()),
        (StatusCode::OK, json!(true))
    );
    // 25 writes per second: at most 51 quick writes span two windows.
    let path = format!("/v2/tasks/{}", uuid::Uuid::new_v4());
    let mut limited = None;
    for _ in 0..51 {
        let response = t
            .http
            .delete(t.url(&path))
            .bearer_auth(&key)
            .send()
            .await
            .expect("answers");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("a write beyond 25 per second is refused");
    let retry_after = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        httpdate::parse_http_date(&retry_after).is_ok(),
        "{retry_after}"
    );
    control(
        &t,
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"enabled": false})),
    )
    .await;
    for _ in 0..60 {
        let (status, _) = t.call(Method::DELETE, &path, &key, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no limit once switched off");
    }
    let (status, _) = control(&t, Method::POST, "/_sandbox/rate-limits", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tokens_can_be_revoked_one_by_one_or_all_at_once() {
    let t = spawn().await;
    let (first, second) = (t.key(), t.key());
    let (status, _) = control(
        &t,
        Method::POST,
        "/_sandbox/tokens/revoke",
        Some(json!({"token": first})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t.get("/v2/self", &first).await.1, json!({"active": false}));
    assert_eq!(t.get("/v2/self", &second).await.1["active"], true);
    control(
        &t,
        Method::POST,
        "/_sandbox/tokens/revoke",
        Some(json!({"all": true})),
    )
    .await;
    assert_eq!(t.get("/v2/self", &second).await.1, json!({"active": false}));
    for body in [
        json!({}),
        json!({"token": ""}),
        json!({"token": "x", "all": true}),
        json!({"all": false}),
    ] {
        let (status, _) = control(
            &t,
            Method::POST,
            "/_sandbox/tokens/revoke",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn injected_client_errors_carry_attios_type_and_code_and_429_is_refused() {
    let t = spawn().await;
    let key = t.key();
    let (_, tasks) = t.get("/v2/tasks?limit=1", &key).await;
    let task = tasks["data"][0]["id"]["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let was_completed = tasks["data"][0]["is_completed"].as_bool().unwrap();
    let path = format!("/v2/tasks/{task}");
    add_fault(
        &t,
        json!({"path_prefix": path, "error_rate": 1.0, "error_status": 404, "times": 1}),
    )
    .await;
    let (status, error) = t.get(&path, &key).await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    assert_eq!(t.get(&path, &key).await.0, StatusCode::OK, "once only");

    add_fault(
        &t,
        json!({"path_prefix": path, "error_rate": 1.0, "error_status": 403, "times": 1}),
    )
    .await;
    // PATCH documents no 403, so the answer is read here without the schema check.
    let response = reqwest::Client::new()
        .patch(t.url(&path))
        .bearer_auth(&key)
        .json(&json!({"data": {"is_completed": !was_completed}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        (&error["type"], &error["code"], &error["status_code"]),
        (&json!("auth_error"), &json!("unauthorized"), &json!(403))
    );
    let (_, unchanged) = t.get(&path, &key).await;
    assert_eq!(
        unchanged["data"]["is_completed"], was_completed,
        "nothing applied"
    );

    let (status, refused) = control(
        &t,
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"path_prefix": "/v2/", "error_rate": 1.0, "error_status": 429})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
}
