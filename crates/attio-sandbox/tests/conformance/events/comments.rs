//! `comment.created`, `comment.resolved`, `comment.unresolved` and `comment.deleted`, on records
//! and on list entries.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{control, member, object_id, people, token_actor, workspace};
use crate::receiver::Hook;
use crate::spawn;

const ALL: [&str; 4] = [
    "comment.created",
    "comment.resolved",
    "comment.unresolved",
    "comment.deleted",
];

#[tokio::test]
async fn comments_on_a_record_emit_all_four_events() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let record = people(&t).await[2].clone();
    let people_id = object_id(&t, "people").await;
    let author = t.sandbox().member_ids()[1];
    let hook = Hook::new(&t, &ALL).await;
    let body = json!({"data": {"format": "plaintext", "content": "Looks promising",
        "author": {"type": "workspace-member", "id": author},
        "record": {"object": "people", "record_id": record}}});
    let (status, created) = t
        .call(Method::POST, "/v2/comments", &key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let comment = &created["data"];
    assert_eq!(comment["entry"], Value::Null);
    assert_eq!(comment["resolved_at"], Value::Null);
    assert_eq!(comment["resolved_by"], json!({"type": null, "id": null}));
    let comment_id = comment["id"]["comment_id"].as_str().expect("id").to_owned();
    let thread_id = comment["thread_id"].as_str().expect("thread").to_owned();

    let admin = t.sandbox().admin_member_id();
    let by_admin = json!({"actor_member_id": admin});
    let resolve = format!("/_sandbox/comments/{comment_id}/resolve");
    let (status, resolved) = control(&t, Method::POST, &resolve, Some(by_admin.clone())).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["data"]["resolved_by"], member(admin));
    crate::assert_timestamp(&resolved["data"]["resolved_at"]);
    control(&t, Method::POST, &resolve, None).await; // already resolved: no event
    control(
        &t,
        Method::POST,
        &format!("/_sandbox/comments/{comment_id}/unresolve"),
        None,
    )
    .await;
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("/v2/comments/{comment_id}"),
            &key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let event = |event_type: &str, actor: &Value| {
        json!({"event_type": event_type, "id": {"workspace_id": workspace(&t), "comment_id": comment_id},
               "thread_id": thread_id, "object_id": people_id, "record_id": record,
               "list_id": null, "entry_id": null, "actor": actor})
    };
    let system = super::system();
    assert_eq!(
        hook.exactly(&t, 4).await,
        [
            event("comment.created", &actor),
            event("comment.resolved", &member(admin)),
            event("comment.unresolved", &system),
            event("comment.deleted", &actor),
        ]
    );
}

#[tokio::test]
async fn comments_on_a_list_entry_name_the_list_the_entry_and_the_parent_record() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let body = json!({"data": {"parent_record_id": people(&t).await[5], "parent_object": "people", "entry_values": {}}});
    let (_, entry) = t
        .call(
            Method::POST,
            "/v2/lists/key-contacts/entries",
            &key,
            Some(&body),
        )
        .await;
    let entry = entry["data"].clone();
    let hook = Hook::new(&t, &ALL).await;
    let author = json!({"type": "workspace-member", "id": t.sandbox().admin_member_id()});
    let first = json!({"data": {"format": "plaintext", "content": "Owner?", "author": author,
        "entry": {"list": "key-contacts", "entry_id": entry["id"]["entry_id"]}}});
    let (status, created) = t
        .call(Method::POST, "/v2/comments", &key, Some(&first))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let thread_id = created["data"]["thread_id"].clone();
    let reply = json!({"data": {"format": "plaintext", "content": "Me.", "author": author, "thread_id": thread_id}});
    let (status, replied) = t
        .call(Method::POST, "/v2/comments", &key, Some(&reply))
        .await;
    assert_eq!(status, StatusCode::OK, "{replied}");
    assert_eq!(
        replied["data"]["entry"]["entry_id"],
        entry["id"]["entry_id"]
    );

    let events = hook.exactly(&t, 2).await;
    for (event, comment) in events.iter().zip([&created, &replied]) {
        assert_eq!(
            event,
            &json!({"event_type": "comment.created",
                "id": {"workspace_id": workspace(&t), "comment_id": comment["data"]["id"]["comment_id"]},
                "thread_id": thread_id, "object_id": object_id(&t, "people").await,
                "record_id": entry["parent_record_id"], "list_id": entry["id"]["list_id"],
                "entry_id": entry["id"]["entry_id"], "actor": actor})
        );
    }
    let (_, thread) = t
        .get(
            &format!("/v2/threads/{}", thread_id.as_str().unwrap_or("")),
            &key,
        )
        .await;
    assert_eq!(thread["data"]["comments"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn comment_writes_are_validated_and_need_the_target_scopes() {
    let t = spawn().await;
    let key = t.key();
    let record = people(&t).await[0].clone();
    let author = json!({"type": "workspace-member", "id": t.sandbox().admin_member_id()});
    let target = json!({"object": "people", "record_id": record});
    let cases = [
        json!({"data": {"format": "markdown", "content": "x", "author": author, "record": target}}),
        json!({"data": {"format": "plaintext", "content": "", "author": author, "record": target}}),
        json!({"data": {"format": "plaintext", "content": "x", "author": author}}),
        json!({"data": {"format": "plaintext", "content": "x", "author": author, "record": target, "thread_id": uuid::Uuid::new_v4()}}),
        json!({"data": {"format": "plaintext", "content": "x", "author": {"type": "api-token", "id": uuid::Uuid::new_v4()}, "record": target}}),
    ];
    for body in cases {
        let (status, error) = t
            .call(Method::POST, "/v2/comments", &key, Some(&body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let comment_only = t
        .sandbox()
        .mint_api_key(Some(vec!["comment:read-write".to_owned()]));
    let body = json!({"data": {"format": "plaintext", "content": "x", "author": author, "record": target}});
    let (status, error) = t
        .call(Method::POST, "/v2/comments", &comment_only, Some(&body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(error["message"]
        .as_str()
        .unwrap_or("")
        .contains("record_permission:read"));
}
