//! `POST /v2/tasks`: what a created task looks like, and every way a create body can be wrong.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{all_tasks, task_id};
use crate::{assert_flat_error, assert_timestamp, spawn, TestSandbox};

/// The record a seeded task whose content mentions `name` links to in `object`.
fn seeded_record(tasks: &[Value], name: &str, object: &str) -> String {
    tasks
        .iter()
        .filter(|t| {
            t["content_plaintext"]
                .as_str()
                .is_some_and(|c| c.contains(name))
        })
        .flat_map(|t| t["linked_records"].as_array().cloned().unwrap_or_default())
        .find(|l| l["target_object_id"] == object)
        .and_then(|l| l["target_record_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("a seeded task links {name}"))
}

fn valid_body() -> Value {
    json!({"data": {
        "content": "Write the launch announcement",
        "format": "plaintext",
        "deadline_at": null,
        "is_completed": false,
        "linked_records": [],
        "assignees": []
    }})
}

async fn create(t: &TestSandbox, key: &str, body: &Value) -> (StatusCode, Value) {
    t.call(Method::POST, "/v2/tasks", key, Some(body)).await
}

#[tokio::test]
async fn a_created_task_resolves_its_references_and_is_listed_last() {
    let t = spawn().await;
    let key = t.key();
    let seeded = all_tasks(&t, &key).await;
    let james = seeded_record(&seeded, "James O'Connor", "people");
    let globex = seeded_record(&seeded, "Globex Corporation", "companies");
    let members = t.sandbox().member_ids();
    let body = json!({"data": {
        "content": "Send <b>pricing</b> & terms",
        "format": "plaintext",
        "deadline_at": "2030-05-01T09:30:00+02:00",
        "is_completed": false,
        "linked_records": [
            {"target_object": "people", "email_addresses": [{"email_address": "JAMES.OCONNOR@initech.test"}]},
            {"target_object": "companies", "domains": [{"domain": "globex.test"}]},
            {"target_object": "people", "target_record_id": james},
        ],
        "assignees": [
            {"referenced_actor_type": "workspace-member", "referenced_actor_id": members[1]},
            {"workspace_member_email_address": "chloe.martin@acme-demo.test"},
            {"workspace_member_email_address": "ben.okafor@acme-demo.test"},
        ]
    }});
    let (status, created) = create(&t, &key, &body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let task = &created["data"];
    assert_eq!(
        task["id"]["workspace_id"],
        t.sandbox().workspace_id().to_string()
    );
    assert_eq!(task["content_plaintext"], "Send <b>pricing</b> & terms");
    assert_eq!(task["deadline_at"], "2030-05-01T07:30:00.000000000Z");
    assert_eq!(task["is_completed"], false);
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(
        task["linked_records"],
        json!([
            {"target_object_id": "people", "target_record_id": james},
            {"target_object_id": "companies", "target_record_id": globex},
        ]),
        "duplicates are dropped"
    );
    assert_eq!(
        task["assignees"],
        json!([
            {"referenced_actor_type": "workspace-member", "referenced_actor_id": members[1]},
            {"referenced_actor_type": "workspace-member", "referenced_actor_id": members[2]},
        ]),
        "Ben given twice, by id and by email"
    );
    assert_eq!(task["created_by_actor"]["type"], "api-token");
    assert!(uuid::Uuid::parse_str(task["created_by_actor"]["id"].as_str().unwrap_or("")).is_ok());
    assert_timestamp(&task["created_at"]);

    let (_, fetched) = t.get(&format!("/v2/tasks/{}", task_id(task)), &key).await;
    assert_eq!(&fetched["data"], task);
    let listed = all_tasks(&t, &key).await;
    assert_eq!(listed.len(), 49);
    assert_eq!(listed.last(), Some(task));
}

#[tokio::test]
async fn created_tasks_record_the_token_completion_and_date_deadlines() {
    let t = spawn().await;
    let (key, other_key) = (t.key(), t.key());
    let mut body = valid_body();
    body["data"]["is_completed"] = json!(true);
    body["data"]["deadline_at"] = json!("2030-01-01");
    let (_, first) = create(&t, &key, &body).await;
    let (_, second) = create(&t, &key, &valid_body()).await;
    let (_, third) = create(&t, &other_key, &valid_body()).await;
    assert_eq!(first["data"]["is_completed"], true);
    assert_timestamp(&first["data"]["completed_at"]);
    assert_eq!(
        first["data"]["deadline_at"],
        "2030-01-01T00:00:00.000000000Z"
    );
    let actor = |v: &Value| v["data"]["created_by_actor"]["id"].clone();
    assert_eq!(actor(&first), actor(&second), "same token, same actor");
    assert_ne!(actor(&first), actor(&third), "another token, another actor");

    let mut longest = valid_body();
    longest["data"]["content"] = json!("é".repeat(2000));
    assert_eq!(
        create(&t, &key, &longest).await.0,
        StatusCode::OK,
        "2000 characters are allowed"
    );
}

#[tokio::test]
async fn invalid_create_bodies_are_rejected_and_nothing_is_created() {
    let t = spawn().await;
    let key = t.key();
    let unknown = uuid::Uuid::new_v4();
    let unknown_text = unknown.to_string();
    type Edit = Box<dyn Fn(&mut Value)>;
    let set = |field: &'static str, value: Value| -> Edit {
        Box::new(move |b: &mut Value| b["data"][field] = value.clone())
    };
    let remove = |field: &'static str| -> Edit {
        Box::new(move |b: &mut Value| {
            b["data"].as_object_mut().map(|d| d.remove(field));
        })
    };
    let link = |item: Value| set("linked_records", json!([item]));
    let assign = |item: Value| set("assignees", json!([item]));
    // (case, edit, status, code, a phrase the message must contain)
    let cases: Vec<(&str, Edit, u16, &str, &str)> = vec![
        (
            "no content",
            remove("content"),
            400,
            "validation_type",
            "data.content is required",
        ),
        (
            "no format",
            remove("format"),
            400,
            "validation_type",
            "data.format is required",
        ),
        (
            "no deadline_at",
            remove("deadline_at"),
            400,
            "validation_type",
            "data.deadline_at is required",
        ),
        (
            "no is_completed",
            remove("is_completed"),
            400,
            "validation_type",
            "data.is_completed is required",
        ),
        (
            "no linked_records",
            remove("linked_records"),
            400,
            "validation_type",
            "data.linked_records is required",
        ),
        (
            "no assignees",
            remove("assignees"),
            400,
            "validation_type",
            "data.assignees is required",
        ),
        (
            "extra key",
            set("title", json!("x")),
            400,
            "validation_type",
            "data.title",
        ),
        (
            "content too long",
            set("content", json!("a".repeat(2001))),
            400,
            "validation_type",
            "2000",
        ),
        (
            "content not a string",
            set("content", json!(5)),
            400,
            "validation_type",
            "data.content",
        ),
        (
            "markdown format",
            set("format", json!("markdown")),
            400,
            "validation_type",
            "plaintext",
        ),
        (
            "deadline in words",
            set("deadline_at", json!("next week")),
            400,
            "validation_type",
            "deadline_at",
        ),
        (
            "deadline as number",
            set("deadline_at", json!(20300101)),
            400,
            "validation_type",
            "deadline_at",
        ),
        (
            "is_completed as string",
            set("is_completed", json!("yes")),
            400,
            "validation_type",
            "is_completed",
        ),
        (
            "links not a list",
            set("linked_records", json!({})),
            400,
            "validation_type",
            "linked_records",
        ),
        (
            "unknown object",
            link(json!({"target_object": "deals", "target_record_id": unknown})),
            404,
            "not_found",
            "Object with slug/ID \"deals\" not found.",
        ),
        (
            "unknown record",
            link(json!({"target_object": "people", "target_record_id": unknown})),
            400,
            "validation_type",
            &unknown_text,
        ),
        (
            "record id not a uuid",
            link(json!({"target_object": "people", "target_record_id": "abc"})),
            400,
            "validation_type",
            "target_record_id",
        ),
        (
            "unknown email",
            link(
                json!({"target_object": "people", "email_addresses": [{"email_address": "who@nowhere.test"}]}),
            ),
            400,
            "validation_type",
            "who@nowhere.test",
        ),
        (
            "unknown domain",
            link(json!({"target_object": "companies", "domains": ["nowhere.test"]})),
            400,
            "validation_type",
            "nowhere.test",
        ),
        (
            "domains on people",
            link(json!({"target_object": "people", "domains": [{"domain": "globex.test"}]})),
            400,
            "validation_type",
            "domains",
        ),
        (
            "two emails",
            link(json!({"target_object": "people", "email_addresses": ["a@b.test", "c@d.test"]})),
            400,
            "validation_type",
            "exactly one",
        ),
        (
            "no record named",
            link(json!({"target_object": "people"})),
            400,
            "validation_type",
            "target_record_id",
        ),
        (
            "link not an object",
            set("linked_records", json!(["people"])),
            400,
            "validation_type",
            "linked_records",
        ),
        (
            "unknown member",
            assign(
                json!({"referenced_actor_type": "workspace-member", "referenced_actor_id": unknown}),
            ),
            400,
            "validation_type",
            &unknown_text,
        ),
        (
            "unknown member email",
            assign(json!({"workspace_member_email_address": "ghost@acme-demo.test"})),
            400,
            "validation_type",
            "ghost@acme-demo.test",
        ),
        (
            "assign an api token",
            assign(json!({"referenced_actor_type": "api-token", "referenced_actor_id": unknown})),
            400,
            "validation_type",
            "workspace-member",
        ),
        (
            "member id not a uuid",
            assign(
                json!({"referenced_actor_type": "workspace-member", "referenced_actor_id": "ben"}),
            ),
            400,
            "validation_type",
            "referenced_actor_id",
        ),
        (
            "assignee not an object",
            set("assignees", json!(["ben.okafor@acme-demo.test"])),
            400,
            "validation_type",
            "assignees",
        ),
        (
            "data not an object",
            Box::new(|b: &mut Value| b["data"] = json!([])),
            400,
            "validation_type",
            "data",
        ),
        (
            "no data",
            Box::new(|b: &mut Value| *b = json!({"content": "x"})),
            400,
            "validation_type",
            "data",
        ),
        (
            "body is a list",
            Box::new(|b: &mut Value| *b = json!([])),
            400,
            "validation_type",
            "data",
        ),
    ];
    for (case, edit, status, code, phrase) in cases {
        let mut body = valid_body();
        edit(&mut body);
        let (got, error) = create(&t, &key, &body).await;
        assert_flat_error(got, &error, (status, "invalid_request_error", code));
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(phrase), "{case}: {message}");
    }
    assert_eq!(all_tasks(&t, &key).await.len(), 48);
}
