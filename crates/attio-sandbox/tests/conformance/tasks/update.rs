//! `PATCH` and `DELETE /v2/tasks/{id}`: the four updatable fields, and removal.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{all_tasks, task_id};
use crate::{assert_flat_error, assert_timestamp, spawn};

#[tokio::test]
async fn patch_changes_only_the_four_updatable_fields() {
    let t = spawn().await;
    let key = t.key();
    let all = all_tasks(&t, &key).await;
    let open = all
        .iter()
        .find(|t| {
            t["is_completed"] == false && !t["assignees"].as_array().is_some_and(Vec::is_empty)
        })
        .expect("an open assigned task")
        .clone();
    let path = format!("/v2/tasks/{}", task_id(&open));
    let patch = |data: Value| {
        let path = path.clone();
        let key = key.clone();
        let t = &t;
        async move {
            t.call(Method::PATCH, &path, &key, Some(&json!({ "data": data })))
                .await
        }
    };

    let (status, same) = patch(json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["data"], open, "an empty patch changes nothing");

    let (_, dated) = patch(json!({"deadline_at": "2031-01-01"})).await;
    assert_eq!(
        dated["data"]["deadline_at"],
        "2031-01-01T00:00:00.000000000Z"
    );
    for unchanged in [
        "content_plaintext",
        "assignees",
        "linked_records",
        "created_at",
        "created_by_actor",
        "id",
    ] {
        assert_eq!(dated["data"][unchanged], open[unchanged], "{unchanged}");
    }
    assert_eq!(
        patch(json!({"deadline_at": null})).await.1["data"]["deadline_at"],
        Value::Null
    );

    let (_, done) = patch(json!({"is_completed": true})).await;
    assert_eq!(done["data"]["is_completed"], true);
    assert_timestamp(&done["data"]["completed_at"]);
    let (_, again) = patch(json!({"is_completed": true})).await;
    assert_eq!(
        again["data"]["completed_at"], done["data"]["completed_at"],
        "completing twice keeps the first time"
    );
    let (_, reopened) = patch(json!({"is_completed": false})).await;
    assert_eq!(reopened["data"]["is_completed"], false);
    assert_eq!(reopened["data"]["completed_at"], Value::Null);

    let (_, replaced) = patch(json!({
        "assignees": [{"workspace_member_email_address": "isaac.mensah@acme-demo.test"}],
        "linked_records": [{"target_object": "companies", "domains": [{"domain": "kestrel.test"}]}],
    }))
    .await;
    let isaac = t.sandbox().member_ids()[8].to_string();
    assert_eq!(
        replaced["data"]["assignees"],
        json!([{"referenced_actor_type": "workspace-member", "referenced_actor_id": isaac}])
    );
    assert_eq!(
        replaced["data"]["linked_records"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        replaced["data"]["linked_records"][0]["target_object_id"],
        "companies"
    );
    let (_, cleared) = patch(json!({"assignees": [], "linked_records": []})).await;
    assert_eq!(cleared["data"]["assignees"], json!([]));
    assert_eq!(cleared["data"]["linked_records"], json!([]));

    let cases = [
        (
            "content",
            json!({"content": "New text"}),
            400,
            "validation_type",
            "content",
        ),
        (
            "format",
            json!({"format": "plaintext"}),
            400,
            "validation_type",
            "data.format",
        ),
        (
            "unknown key",
            json!({"title": "x"}),
            400,
            "validation_type",
            "data.title",
        ),
        (
            "bad completion",
            json!({"is_completed": "no"}),
            400,
            "validation_type",
            "is_completed",
        ),
        (
            "bad deadline",
            json!({"deadline_at": "soon"}),
            400,
            "validation_type",
            "deadline_at",
        ),
        (
            "unknown member",
            json!({"assignees": [{"workspace_member_email_address": "ghost@acme-demo.test"}]}),
            400,
            "validation_type",
            "ghost",
        ),
        (
            "unknown object",
            json!({"linked_records": [{"target_object": "deals", "target_record_id": uuid::Uuid::new_v4()}]}),
            404,
            "not_found",
            "deals",
        ),
    ];
    for (case, data, status, code, phrase) in cases {
        let (got, error) = patch(data).await;
        assert_flat_error(got, &error, (status, "invalid_request_error", code));
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains(phrase),
            "{case}: {error}"
        );
    }
    let (_, after) = t.get(&path, &key).await;
    assert_eq!(
        after["data"], cleared["data"],
        "rejected patches change nothing"
    );

    for id in [uuid::Uuid::new_v4().to_string(), "nope".to_owned()] {
        let (status, error) = t
            .call(
                Method::PATCH,
                &format!("/v2/tasks/{id}"),
                &key,
                Some(&json!({"data": {}})),
            )
            .await;
        assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
        assert_eq!(
            error["message"],
            format!("Could not find Task with ID \"{id}\".")
        );
    }
}

#[tokio::test]
async fn delete_removes_a_task_and_answers_an_empty_object() {
    let t = spawn().await;
    let key = t.key();
    let victim = task_id(&all_tasks(&t, &key).await[10]).to_owned();
    let path = format!("/v2/tasks/{victim}");
    assert_eq!(
        t.call(Method::DELETE, &path, &key, None).await,
        (StatusCode::OK, json!({}))
    );
    let (status, error) = t.get(&path, &key).await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    let (status, error) = t.call(Method::DELETE, &path, &key, None).await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    let remaining = all_tasks(&t, &key).await;
    assert_eq!(remaining.len(), 47);
    assert!(remaining.iter().all(|t| task_id(t) != victim));
}
