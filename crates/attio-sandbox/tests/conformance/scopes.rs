//! Authentication and scope enforcement on every `/v2` endpoint, and the generic error shapes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{assert_flat_error, read_json, spawn};

const TASK_READS: [&str; 3] = [
    "object_configuration:read",
    "record_permission:read",
    "user_management:read",
];

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A create body that is valid whatever the scopes are.
fn create_body() -> Value {
    json!({"data": {
        "content": "Scope probe", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []
    }})
}

#[tokio::test]
async fn each_endpoint_needs_exactly_its_documented_scopes() {
    let t = spawn().await;
    let seeded = t.sandbox().member_ids()[0];
    let (_, list) = t.get("/v2/tasks?limit=1", &t.key()).await;
    let task_id = list["data"][0]["id"]["task_id"]
        .as_str()
        .expect("a task")
        .to_owned();
    let task_path = format!("/v2/tasks/{task_id}");
    let member_path = format!("/v2/workspace_members/{seeded}");
    let patch = json!({"data": {"is_completed": true}});

    let read: Vec<&str> = [&["task:read"][..], &TASK_READS].concat();
    let write: Vec<&str> = [&["task:read-write"][..], &TASK_READS].concat();
    let cases: Vec<(Method, &str, Option<Value>, Vec<&str>)> = vec![
        (Method::GET, "/v2/tasks", None, read.clone()),
        (Method::GET, &task_path, None, read.clone()),
        (
            Method::POST,
            "/v2/tasks",
            Some(create_body()),
            write.clone(),
        ),
        (Method::PATCH, &task_path, Some(patch), write.clone()),
        (
            Method::GET,
            "/v2/workspace_members",
            None,
            vec!["user_management:read"],
        ),
        (
            Method::GET,
            &member_path,
            None,
            vec!["user_management:read"],
        ),
        // Last, as it deletes the task the other cases use.
        (Method::DELETE, &task_path, None, vec!["task:read-write"]),
    ];
    for (method, path, body, required) in cases {
        for missing in &required {
            let granted: Vec<&str> = required.iter().copied().filter(|s| s != missing).collect();
            let key = t.sandbox().mint_api_key(Some(scopes(&granted)));
            let (status, error) = t.call(method.clone(), path, &key, body.as_ref()).await;
            assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&format!("requires the {missing} scope")),
                "{method} {path} without {missing}: {message}"
            );
        }
        let key = t.sandbox().mint_api_key(Some(scopes(&required)));
        let (status, answer) = t.call(method.clone(), path, &key, body.as_ref()).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{method} {path} with exactly {required:?}: {answer}"
        );
    }
}

#[tokio::test]
async fn read_write_scopes_satisfy_read_requirements() {
    let t = spawn().await;
    let key = t.sandbox().mint_api_key(Some(scopes(&[
        "task:read-write",
        "object_configuration:read-write",
        "record_permission:read-write",
        "user_management:read-write",
    ])));
    assert_eq!(t.get("/v2/tasks", &key).await.0, StatusCode::OK);
    assert_eq!(t.get("/v2/workspace_members", &key).await.0, StatusCode::OK);
    let read_only = t.sandbox().mint_api_key(Some(scopes(&["task:read"])));
    let (status, body) = t
        .call(Method::DELETE, "/v2/tasks/x", &read_only, None)
        .await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
}

#[tokio::test]
async fn missing_unknown_or_revoked_credentials_are_a_flat_401() {
    let t = spawn().await;
    let revoked = t.key();
    t.http
        .post(t.url("/oauth/revoke"))
        .bearer_auth(&revoked)
        .send()
        .await
        .expect("revoked");
    let no_header = t
        .http
        .get(t.url("/v2/tasks"))
        .send()
        .await
        .expect("answers");
    let odd_scheme = t
        .http
        .get(t.url("/v2/tasks"))
        .header("authorization", "Token abc")
        .send()
        .await
        .expect("answers");
    for (case, response) in [("no header", no_header), ("odd scheme", odd_scheme)] {
        let (status, body) = read_json(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
        assert_flat_error(status, &body, (401, "auth_error", "unauthorized"));
    }
    for token in ["unknown-token", revoked.as_str()] {
        let (status, body) = t.get("/v2/workspace_members", token).await;
        assert_flat_error(status, &body, (401, "auth_error", "unauthorized"));
    }
}

#[tokio::test]
async fn api_tokens_also_work_as_the_basic_username() {
    let t = spawn().await;
    let response = t
        .http
        .get(t.url("/v2/workspace_members"))
        .basic_auth(t.key(), Some(""))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_methods_and_broken_json_get_flat_errors() {
    let t = spawn().await;
    let key = t.key();
    let (status, body) = t.get("/v2/not-an-endpoint", &key).await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));

    let (status, body) = t.call(Method::PUT, "/v2/tasks", &key, None).await;
    assert_flat_error(
        status,
        &body,
        (405, "invalid_request_error", "method_not_allowed"),
    );

    for raw in ["{\"data\": ", "", "[1,,]"] {
        let response = t
            .http
            .post(t.url("/v2/tasks"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("answers");
        let (status, body) = read_json(response).await;
        assert_flat_error(
            status,
            &body,
            (400, "invalid_request_error", "validation_type"),
        );
    }
}
