//! Reads of records that tests of other operations need as fixtures.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::TestSandbox;

/// `POST /v2/objects/{object}/records/query` with `body`; returns `data`.
async fn query(t: &TestSandbox, object: &str, body: Value) -> Vec<Value> {
    let (status, found) = t
        .call(
            Method::POST,
            &format!("/v2/objects/{object}/records/query"),
            &t.key(),
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["data"].as_array().expect("records").clone()
}

/// Record ids of an object, oldest first.
pub async fn record_ids(t: &TestSandbox, object: &str) -> Vec<String> {
    query(t, object, json!({}))
        .await
        .iter()
        .map(|r| r["id"]["record_id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The `index`-th person's id, email address and full name.
pub async fn person(t: &TestSandbox, index: usize) -> (String, String, String) {
    let found = query(t, "people", json!({"limit": 1, "offset": index})).await;
    let record = &found[0];
    let text = |v: &Value| v.as_str().expect("a string").to_owned();
    (
        text(&record["id"]["record_id"]),
        text(&record["values"]["email_addresses"][0]["email_address"]),
        text(&record["values"]["name"][0]["full_name"]),
    )
}

/// `GET /v2/objects/{object}/records/{id}`: the status and the body.
pub async fn record(t: &TestSandbox, object: &str, id: &str) -> (StatusCode, Value) {
    t.get(&format!("/v2/objects/{object}/records/{id}"), &t.key())
        .await
}

/// An object's id, from `GET /v2/objects/{object}`.
pub async fn object_id(t: &TestSandbox, object: &str) -> String {
    let (status, found) = t.get(&format!("/v2/objects/{object}"), &t.key()).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["data"]["id"]["object_id"]
        .as_str()
        .expect("an object id")
        .to_owned()
}
