//! Subscription filters decide which webhooks get which events.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::receiver::{Hook, DEADLINE};
use crate::spawn;

fn condition(field: &str, operator: &str, value: &str) -> Value {
    json!({ "field": field, "operator": operator, "value": value })
}

fn subscription(event_type: &str, filter: Value) -> Vec<Value> {
    vec![json!({ "event_type": event_type, "filter": filter })]
}

#[tokio::test]
async fn filters_decide_which_webhooks_get_which_events() {
    let t = spawn().await;
    let key = t.key();
    let admin = t.sandbox().admin_member_id().to_string();
    let by_token = Hook::with_subscriptions(
        &t,
        subscription(
            "task.created",
            json!({"$and": [condition("actor.type", "equals", "api-token")]}),
        ),
    )
    .await;
    let by_admin_or_nobody = Hook::with_subscriptions(
        &t,
        subscription(
            "task.created",
            json!({"$or": [
                condition("actor.id", "equals", &admin),
                condition("id.task_id", "equals", "no-such-task"),
            ]}),
        ),
    )
    .await;
    let not_by_token = Hook::with_subscriptions(
        &t,
        subscription(
            "task.created",
            json!({"$and": [
                condition("actor.type", "not_equals", "api-token"),
                condition("event_type", "equals", "task.created"),
            ]}),
        ),
    )
    .await;
    let impossible = Hook::with_subscriptions(
        &t,
        subscription(
            "task.created",
            json!({"$and": [
                condition("actor.type", "equals", "api-token"),
                condition("actor.type", "equals", "workspace-member"),
            ]}),
        ),
    )
    .await;
    let unfiltered = Hook::new(&t, &["task.created"]).await;
    let other_type = Hook::new(&t, &["task.deleted"]).await;

    let body = json!({"data": {
        "content": "By token", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []
    }});
    let (status, created) = t.call(Method::POST, "/v2/tasks", &key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK);
    let token_task = created["data"]["id"]["task_id"].clone();
    let member_task = t
        .sandbox()
        .create_task_as_member("By the admin")
        .to_string();
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);

    let tasks_of = |hook: &Hook| -> Vec<Value> {
        hook.receiver
            .received()
            .iter()
            .map(|r| r.event()["id"]["task_id"].clone())
            .collect()
    };
    assert_eq!(tasks_of(&by_token), std::slice::from_ref(&token_task));
    assert_eq!(tasks_of(&by_admin_or_nobody), [json!(member_task)]);
    assert_eq!(tasks_of(&not_by_token), [json!(member_task)]);
    assert!(tasks_of(&impossible).is_empty());
    assert_eq!(tasks_of(&unfiltered), [token_task, json!(member_task)]);
    assert!(tasks_of(&other_type).is_empty());
}

#[tokio::test]
async fn a_webhook_gets_one_delivery_per_event_even_when_several_subscriptions_match() {
    let t = spawn().await;
    let hook = Hook::with_subscriptions(
        &t,
        vec![
            json!({"event_type": "task.created", "filter": null}),
            json!({"event_type": "task.created", "filter": {"$and": []}}),
        ],
    )
    .await;
    t.sandbox().create_task_as_member("Once");
    hook.exactly(&t, 1).await;
}

#[tokio::test]
async fn filters_reach_the_extra_fields_of_an_event() {
    let t = spawn().await;
    let key = t.key();
    let people = crate::events::people(&t).await;
    let (wanted, other) = (people[0].clone(), people[1].clone());
    let hook = Hook::with_subscriptions(
        &t,
        subscription(
            "note.created",
            json!({"$and": [condition("parent_record_id", "equals", &wanted)]}),
        ),
    )
    .await;
    for record in [&other, &wanted] {
        let body = json!({"data": {"parent_object": "people", "parent_record_id": record,
            "title": "Call notes", "format": "plaintext", "content": "…"}});
        let (status, _) = t.call(Method::POST, "/v2/notes", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let events = hook.exactly(&t, 1).await;
    assert_eq!(events[0]["parent_record_id"], wanted.as_str());
}
