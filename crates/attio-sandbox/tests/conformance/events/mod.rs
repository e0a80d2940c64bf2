//! Each of the 27 event types, emitted by a real change (through Attio's endpoint where one
//! exists, a sandbox control otherwise) and received exactly as attio-api.md 6.3 describes.

mod attributes;
mod comments;
mod lists;
mod notes;
mod records;
mod tasks;
mod trigger;
mod workspace;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{read_json, TestSandbox};

/// Record ids of an object, oldest first.
pub async fn record_ids(t: &TestSandbox, object: &str) -> Vec<String> {
    let (status, listed) = t
        .call(
            Method::POST,
            &format!("/v2/objects/{object}/records/query"),
            &t.key(),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed["data"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"]["record_id"].as_str().expect("id").to_owned())
        .collect()
}

pub async fn people(t: &TestSandbox) -> Vec<String> {
    record_ids(t, "people").await
}

/// The UUID of an object (events carry it as `object_id` / `parent_object_id`).
pub async fn object_id(t: &TestSandbox, object: &str) -> String {
    let (_, attributes) = t
        .get(&format!("/v2/objects/{object}/attributes"), &t.key())
        .await;
    attributes["data"][0]["id"]["object_id"]
        .as_str()
        .expect("object id")
        .to_owned()
}

/// The id of an attribute of an object or list (`objects/people`, `lists/sales-pipeline`).
pub async fn attribute_id(t: &TestSandbox, parent: &str, slug: &str) -> String {
    let (status, attribute) = t
        .get(&format!("/v2/{parent}/attributes/{slug}"), &t.key())
        .await;
    assert_eq!(status, StatusCode::OK, "{attribute}");
    attribute["data"]["id"]["attribute_id"]
        .as_str()
        .expect("attribute id")
        .to_owned()
}

/// The `actor` of changes made with `key`, learnt from a throwaway task.
pub async fn token_actor(t: &TestSandbox, key: &str) -> Value {
    let body = json!({"data": {
        "content": "Who am I", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []
    }});
    let (_, created) = t.call(Method::POST, "/v2/tasks", key, Some(&body)).await;
    let id = created["data"]["id"]["task_id"].as_str().expect("task id");
    t.call(Method::DELETE, &format!("/v2/tasks/{id}"), key, None)
        .await;
    let actor = created["data"]["created_by_actor"].clone();
    assert_eq!(actor["type"], "api-token");
    actor
}

/// A loopback-only sandbox control with a JSON body.
pub async fn control(
    t: &TestSandbox,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = t.http.request(method, t.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    read_json(request.send().await.expect("the control answers")).await
}

pub fn workspace(t: &TestSandbox) -> String {
    t.sandbox().workspace_id().to_string()
}

pub fn system() -> Value {
    json!({ "type": "system", "id": null })
}

pub fn member(id: impl ToString) -> Value {
    json!({ "type": "workspace-member", "id": id.to_string() })
}
