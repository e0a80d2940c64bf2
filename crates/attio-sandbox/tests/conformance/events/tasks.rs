//! `task.created`, `task.updated`, `task.deleted` from `/v2/tasks` and from the console helpers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{member, token_actor, workspace};
use crate::receiver::{Hook, DEADLINE};
use crate::spawn;

#[tokio::test]
async fn the_task_endpoints_emit_created_updated_and_deleted_with_the_token_as_actor() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let hook = Hook::new(&t, &["task.created", "task.updated", "task.deleted"]).await;
    let body = json!({"data": {
        "content": "Evented", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []
    }});
    let (status, created) = t.call(Method::POST, "/v2/tasks", &key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK);
    let task_id = created["data"]["id"]["task_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/v2/tasks/{task_id}");
    let patch = json!({"data": {"deadline_at": "2030-01-01"}});
    assert_eq!(
        t.call(Method::PATCH, &path, &key, Some(&patch)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        t.call(Method::DELETE, &path, &key, None).await.0,
        StatusCode::OK
    );

    let id = json!({ "workspace_id": workspace(&t), "task_id": task_id });
    let events = hook.exactly(&t, 3).await;
    assert_eq!(
        events,
        [
            json!({"event_type": "task.created", "id": id, "actor": actor}),
            json!({"event_type": "task.updated", "id": id, "actor": actor}),
            json!({"event_type": "task.deleted", "id": id, "actor": actor}),
        ]
    );
}

#[tokio::test]
async fn a_patch_that_changes_nothing_emits_no_event() {
    let t = spawn().await;
    let key = t.key();
    let (_, list) = t.get("/v2/tasks?limit=1&is_completed=true", &key).await;
    let task_id = list["data"][0]["id"]["task_id"]
        .as_str()
        .expect("a completed task")
        .to_owned();
    let hook = Hook::new(&t, &["task.updated"]).await;
    let patch = json!({"data": {"is_completed": true}});
    let (status, _) = t
        .call(
            Method::PATCH,
            &format!("/v2/tasks/{task_id}"),
            &key,
            Some(&patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    assert!(hook.receiver.received().is_empty());
}

#[tokio::test]
async fn console_task_changes_are_made_by_the_admin_member() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created", "task.updated", "task.deleted"]).await;
    let sandbox = t.sandbox();
    let task = sandbox.create_task_as_member("From the console");
    assert!(sandbox.complete_task(task));
    assert!(sandbox.assign_task(task, Some(sandbox.member_ids()[2])));
    assert!(sandbox.delete_task(task));
    assert!(!sandbox.delete_task(task), "already gone");
    let admin = member(sandbox.admin_member_id());
    let id = json!({ "workspace_id": workspace(&t), "task_id": task.to_string() });
    let events = hook.exactly(&t, 4).await;
    let expected: Vec<_> = [
        "task.created",
        "task.updated",
        "task.updated",
        "task.deleted",
    ]
    .iter()
    .map(|e| json!({"event_type": e, "id": id, "actor": admin}))
    .collect();
    assert_eq!(events, expected);
}
