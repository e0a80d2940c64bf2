//! `POST /_sandbox/workspaces`: validation with a message per mistake, and a created workspace
//! that works end to end (consent, tokens, API keys, tasks, webhooks).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{ids, spawn_all_scopes, token_in};
use crate::events::control;
use crate::receiver::Hook;
use crate::{assert_flat_error, TestSandbox};

fn valid() -> Value {
    json!({
        "name": "Initrode <Labs>",
        "slug": "initrode",
        "members": [
            {"first_name": "Peter", "last_name": "Gibbons", "email_address": "peter@initrode.test"},
            {"first_name": "Joanna", "last_name": "Park", "email_address": "joanna@initrode.test",
             "access_level": "member"},
        ],
    })
}

fn with(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = valid();
    change(&mut body);
    body
}

async fn create(t: &TestSandbox, body: Value) -> (StatusCode, Value) {
    control(t, Method::POST, "/_sandbox/workspaces", Some(body)).await
}

#[tokio::test]
async fn creating_a_workspace_refuses_bad_input_with_a_message() {
    let t = spawn_all_scopes().await;
    let cases: Vec<(&str, Value)> = vec![
        ("not an object", json!([])),
        ("an unknown field", with(|b| b["colour"] = json!("red"))),
        (
            "no name",
            with(|b| drop(b.as_object_mut().map(|o| o.remove("name")))),
        ),
        ("a blank name", with(|b| b["name"] = json!("  "))),
        (
            "a name too long",
            with(|b| b["name"] = json!("n".repeat(129))),
        ),
        (
            "no slug",
            with(|b| drop(b.as_object_mut().map(|o| o.remove("slug")))),
        ),
        (
            "an upper-case slug",
            with(|b| b["slug"] = json!("Initrode")),
        ),
        (
            "a slug with a space",
            with(|b| b["slug"] = json!("init rode")),
        ),
        (
            "a slug ending in a hyphen",
            with(|b| b["slug"] = json!("initrode-")),
        ),
        ("a taken slug", with(|b| b["slug"] = json!("globex"))),
        (
            "no members",
            with(|b| drop(b.as_object_mut().map(|o| o.remove("members")))),
        ),
        ("an empty member list", with(|b| b["members"] = json!([]))),
        ("members not an array", with(|b| b["members"] = json!({}))),
        (
            "a member not an object",
            with(|b| b["members"][1] = json!("joanna")),
        ),
        (
            "a member with an unknown field",
            with(|b| b["members"][1]["age"] = json!(3)),
        ),
        (
            "a member without a last name",
            with(|b| {
                drop(
                    b["members"][1]
                        .as_object_mut()
                        .map(|o| o.remove("last_name")),
                )
            }),
        ),
        (
            "a member with a blank first name",
            with(|b| b["members"][1]["first_name"] = json!(" ")),
        ),
        (
            "a member with a bad email",
            with(|b| b["members"][1]["email_address"] = json!("joanna")),
        ),
        (
            "a repeated email",
            with(|b| b["members"][1]["email_address"] = json!("PETER@initrode.test")),
        ),
        (
            "an unknown access level",
            with(|b| b["members"][1]["access_level"] = json!("owner")),
        ),
        (
            "no admin",
            with(|b| b["members"][0]["access_level"] = json!("member")),
        ),
        ("seed not a boolean", with(|b| b["seed"] = json!("yes"))),
    ];
    for (case, body) in cases {
        let (status, error) = create(&t, body).await;
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
        assert!(
            !error["message"].as_str().unwrap_or_default().is_empty(),
            "{case}"
        );
    }
    assert_eq!(t.sandbox().workspace_ids().len(), 2, "nothing was created");
}

#[tokio::test]
async fn a_created_workspace_works_end_to_end() {
    let t = spawn_all_scopes().await;
    let (status, created) = create(&t, with(|b| b["seed"] = json!(true))).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let data = &created["data"];
    let id: Uuid = data["id"]["workspace_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a workspace id");
    assert_eq!(data["name"], "Initrode <Labs>");
    assert_eq!(data["slug"], "initrode");
    let members = data["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    assert_eq!(
        members[0]["access_level"], "admin",
        "the first defaults to admin"
    );
    assert_eq!(members[1]["access_level"], "member");
    assert_eq!(members[0]["email_address"], "peter@initrode.test");
    assert_eq!(
        t.sandbox().workspace_ids()[2],
        id,
        "listed after the demo ones"
    );
    let (_, listed) = control(&t, Method::GET, "/_sandbox/workspaces", None).await;
    assert_eq!(listed["data"][2]["id"]["workspace_id"], id.to_string());

    let joanna: Uuid = members[1]["id"]["workspace_member_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a member id");
    let token = token_in(&t, id, joanna).await;
    let (_, me) = t.get("/v2/self", &token).await;
    assert_eq!(me["workspace_id"], id.to_string());
    assert_eq!(me["workspace_name"], "Initrode <Labs>");
    assert_eq!(me["authorized_by_workspace_member_id"], joanna.to_string());
    let (_, tasks) = t.get("/v2/tasks", &token).await;
    assert_eq!(ids(&tasks, "task_id").len(), 12, "the small demo data set");
    let (_, members) = t.get("/v2/workspace_members", &token).await;
    assert_eq!(ids(&members, "workspace_member_id").len(), 2);

    // An API key of the new workspace registers a webhook that gets its events only.
    let (status, key) = control(
        &t,
        Method::POST,
        "/_sandbox/api-keys",
        Some(json!({"workspace_id": id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["workspace_id"], id.to_string());
    let key = key["token"].as_str().expect("a key").to_owned();
    let acme_hook = Hook::new(&t, &["task.created"]).await;
    let receiver = crate::receiver::Receiver::start().await;
    let body = json!({"data": {"target_url": receiver.url,
        "subscriptions": [{"event_type": "task.created", "filter": null}]}});
    let (status, _) = t
        .call(Method::POST, "/v2/webhooks", &key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({"data": {"content": "Initrode's", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []}});
    let (status, task) = t.call(Method::POST, "/v2/tasks", &token, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].event()["id"]["workspace_id"], id.to_string());
    assert!(t.sandbox().wait_for_idle(crate::receiver::DEADLINE).await);
    assert!(acme_hook.receiver.received().is_empty(), "Acme saw nothing");
}

#[tokio::test]
async fn a_workspace_created_without_seed_is_empty_but_usable() {
    let t = spawn_all_scopes().await;
    let (status, created) = create(&t, valid()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id: Uuid = created["data"]["id"]["workspace_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id");
    let key = t.sandbox().mint_api_key_in(id, None).expect("a key");
    let (_, tasks) = t.get("/v2/tasks", &key).await;
    assert!(ids(&tasks, "task_id").is_empty());
    let (_, people) = t
        .call(
            Method::POST,
            "/v2/objects/people/records/query",
            &key,
            Some(&json!({})),
        )
        .await;
    assert!(ids(&people, "record_id").is_empty());
    let body = json!({"data": {"values": {"name": [{"first_name": "Bill", "last_name": "Lumbergh",
        "full_name": "Bill Lumbergh"}], "email_addresses": ["bill@initrode.test"]}}});
    let (status, person) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["data"]["id"]["workspace_id"], id.to_string());
    let (_, lists) = t.get("/v2/lists", &key).await;
    assert!(ids(&lists, "list_id").is_empty());
}
