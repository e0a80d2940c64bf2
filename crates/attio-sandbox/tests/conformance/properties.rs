//! Property tests: arbitrary request bodies, ids and queries sent to every body-taking
//! operation never panic the sandbox and never get a 5xx (its fault injection, the one place
//! where 5xx are on purpose, is left alone here).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[ -~]{0,24}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(uuid::Uuid::new_v4().to_string())),
        Just(serde_json::Value::from("2023-01-01T15:00:00.000000000Z")),
    ];
    let key = prop_oneof![
        Just("data"),
        Just("content"),
        Just("format"),
        Just("deadline_at"),
        Just("is_completed"),
        Just("linked_records"),
        Just("assignees"),
        Just("target_object"),
        Just("target_record_id"),
        Just("referenced_actor_type"),
        Just("referenced_actor_id"),
        Just("values"),
        Just("filter"),
        Just("sorts"),
        Just("path"),
        Just("constraints"),
        Just("$and"),
        Just("$or"),
        Just("$not"),
        Just("$eq"),
        Just("$in"),
        Just("$contains"),
        Just("$gte"),
        Just("$not_empty"),
        Just("direction"),
        Just("attribute"),
        Just("field"),
        Just("query"),
        Just("objects"),
        Just("request_as"),
        Just("type"),
        Just("limit"),
        Just("offset"),
        Just("target_url"),
        Just("subscriptions"),
        Just("event_type"),
        Just("title"),
        Just("parent_object"),
        Just("parent_record_id"),
        Just("thread_id"),
        Just("author"),
        Just("name"),
        Just("api_slug"),
        Just("workspace_access"),
        Just("entry_values"),
        Just("record_id"),
        Just("email_addresses"),
        Just("x"),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn operation() -> impl Strategy<Value = (Method, String)> {
    let id = prop_oneof![
        Just(uuid::Uuid::new_v4().to_string()),
        Just("people".to_owned()),
        Just("companies".to_owned()),
        "[a-z0-9_-]{1,12}",
    ];
    (id.clone(), id).prop_flat_map(|(a, b)| {
        prop_oneof![
            Just((Method::POST, "/v2/tasks".to_owned())),
            Just((Method::PATCH, format!("/v2/tasks/{a}"))),
            Just((Method::POST, "/v2/notes".to_owned())),
            Just((Method::POST, "/v2/comments".to_owned())),
            Just((Method::POST, "/v2/lists".to_owned())),
            Just((Method::PATCH, format!("/v2/lists/{a}"))),
            Just((Method::POST, format!("/v2/lists/{a}/entries"))),
            Just((Method::PATCH, format!("/v2/lists/{a}/entries/{b}"))),
            Just((Method::POST, format!("/v2/objects/{a}/records"))),
            Just((Method::PATCH, format!("/v2/objects/{a}/records/{b}"))),
            Just((Method::POST, format!("/v2/objects/{a}/records/query"))),
            Just((Method::POST, format!("/v2/lists/{a}/entries/query"))),
            Just((Method::POST, "/v2/objects/records/search".to_owned())),
            Just((Method::POST, format!("/v2/objects/{a}/attributes"))),
            Just((Method::PATCH, format!("/v2/objects/{a}/attributes/{b}"))),
            Just((Method::POST, "/v2/webhooks".to_owned())),
            Just((Method::PATCH, format!("/v2/webhooks/{a}"))),
            Just((Method::POST, format!("/v2/meetings/{a}/call_recordings"))),
            Just((Method::POST, "/v2/meetings".to_owned())),
            Just((Method::PATCH, format!("/v2/notes/{a}"))),
            Just((Method::POST, format!("/v2/objects/{a}/records/merge"))),
            Just((
                Method::GET,
                format!("/v2/threads?object={a}&record_id={b}&limit={a}")
            )),
            Just((
                Method::GET,
                format!("/v2/meetings/{a}/call_recordings/{b}/transcript?cursor={a}")
            )),
            Just((
                Method::GET,
                format!("/v2/tasks?limit={a}&offset={b}&sort={a}")
            )),
            Just((
                Method::GET,
                format!("/v2/notes?parent_object={a}&parent_record_id={b}")
            )),
            Just((Method::POST, "/_sandbox/members".to_owned())),
            Just((Method::POST, "/_sandbox/trigger".to_owned())),
            Just((Method::POST, "/_sandbox/records/merge".to_owned())),
            Just((Method::POST, "/_sandbox/api-keys".to_owned())),
        ]
    })
}

#[test]
fn arbitrary_bodies_to_every_operation_never_answer_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(crate::spawn());
    let key = sandbox.key();
    let body = prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| serde_json::json!({ "data": v }).to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 192,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(operation(), body), |((method, path), body)| {
            let status = runtime.block_on(async {
                sandbox
                    .http
                    .request(method.clone(), sandbox.url(&path))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            prop_assert!(
                !status.is_server_error(),
                "{method} {path} {} answered {status}",
                String::from_utf8_lossy(&body)
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn arbitrary_oauth_form_posts_never_answer_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(crate::spawn());
    let name = prop_oneof![
        Just("grant_type"),
        Just("code"),
        Just("client_id"),
        Just("client_secret"),
        Just("redirect_uri"),
        Just("refresh_token"),
        Just("token"),
        Just("code_verifier"),
        Just("request_id"),
        Just("decision"),
        Just("member_id"),
    ];
    let value = prop_oneof![
        Just("authorization_code".to_owned()),
        Just("sandbox-client".to_owned()),
        Just("sandbox-secret".to_owned()),
        Just("approve".to_owned()),
        any::<String>().prop_map(|s| s.chars().take(60).collect()),
    ];
    let path = prop_oneof![
        Just("/oauth/token"),
        Just("/oauth/revoke"),
        Just("/authorize"),
        Just("/provider/token"),
        Just("/provider/revoke"),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(path, proptest::collection::vec((name, value), 0..6)),
            |(path, fields)| {
                let status = runtime.block_on(async {
                    sandbox
                        .http
                        .post(sandbox.url(path))
                        .form(&fields)
                        .send()
                        .await
                        .unwrap()
                        .status()
                });
                prop_assert!(
                    !status.is_server_error(),
                    "POST {path} {fields:?} answered {status}"
                );
                Ok(())
            },
        )
        .unwrap();
}
