//! `POST /v2/objects/{object}/records/merge` (newer than Attio's OpenAPI copy): two records
//! become a new one, two `record.merged` events fire, and the originals are gone.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::events::{token_actor, workspace};
use crate::lookup::{object_id, record, record_ids};
use crate::meetings::meeting_body;
use crate::receiver::Hook;
use crate::{assert_flat_error, TestSandbox};

async fn merge(t: &TestSandbox, key: &str, object: &str, data: Value) -> (StatusCode, Value) {
    t.call(
        Method::POST,
        &format!("/v2/objects/{object}/records/merge"),
        key,
        Some(&json!({ "data": data })),
    )
    .await
}

#[tokio::test]
async fn merging_two_records_answers_the_new_record_and_emits_two_merged_events() {
    let t = crate::spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let people_id = object_id(&t, "people").await;
    let ids = record_ids(&t, "people").await;
    let (primary, secondary) = (ids[0].clone(), ids[1].clone());
    let (_, before) = record(&t, "people", &primary).await;
    // A meeting linked to the secondary record follows it to the new record.
    let mut body = meeting_body(
        json!("merge-test"),
        json!([{"email_address": "someone@example.test", "is_organizer": true, "status": "accepted"}]),
    );
    body["data"]["linked_records"] = json!([{"object": "people", "record_id": secondary}]);
    let (status, meeting) = t
        .call(Method::POST, "/v2/meetings", &key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{meeting}");
    let meeting_id = meeting["data"]["id"]["meeting_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let hook = Hook::new(&t, &["record.merged"]).await;
    let (status, merged) = merge(
        &t,
        &key,
        "people",
        json!({"primary_record_id": primary, "secondary_record_id": secondary}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let new_id = merged["data"]["new_record_id"]
        .as_str()
        .expect("new_record_id")
        .to_owned();
    assert_eq!(merged, json!({"data": {"new_record_id": new_id}}));
    assert!(new_id != primary && new_id != secondary, "a new record");
    let (status, merged_record) = record(&t, "people", &new_id).await;
    assert_eq!(status, StatusCode::OK, "{merged_record}");
    assert_eq!(
        merged_record["data"]["values"]["name"][0]["full_name"],
        before["data"]["values"]["name"][0]["full_name"],
        "the primary record's values win"
    );
    for gone in [&primary, &secondary] {
        let (status, _) = record(&t, "people", gone).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, meeting) = t.get(&format!("/v2/meetings/{meeting_id}"), &key).await;
    let linked: Vec<&str> = meeting["data"]["linked_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["record_id"].as_str().unwrap())
        .collect();
    assert!(linked.contains(&new_id.as_str()), "{linked:?}");
    assert!(!linked.contains(&secondary.as_str()), "{linked:?}");

    let id = json!({"workspace_id": workspace(&t), "object_id": people_id, "record_id": new_id});
    assert_eq!(
        hook.exactly(&t, 2).await,
        [&primary, &secondary].map(|old| json!({
            "event_type": "record.merged", "id": id,
            "duplicate_object_id": people_id, "duplicate_record_id": old, "actor": actor,
        }))
    );

    // Merged records can no longer be merged: repeating the request is a 404.
    let (status, again) = merge(
        &t,
        &key,
        "people",
        json!({"primary_record_id": primary, "secondary_record_id": secondary}),
    )
    .await;
    assert_flat_error(
        status,
        &again,
        (404, "invalid_request_error", "value_not_found"),
    );
}

#[tokio::test]
async fn merges_are_refused_for_one_record_unknown_records_and_bad_bodies() {
    let t = crate::spawn().await;
    let key = t.key();
    let ids = record_ids(&t, "people").await;
    let companies = record_ids(&t, "companies").await;
    let (status, body) = merge(
        &t,
        &key,
        "people",
        json!({"primary_record_id": ids[0], "secondary_record_id": ids[0]}),
    )
    .await;
    assert_flat_error(status, &body, (400, "invalid_request_error", "self_merge"));
    let (status, body) = merge(
        &t,
        &key,
        "deals",
        json!({"primary_record_id": ids[0], "secondary_record_id": ids[1]}),
    )
    .await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    for (primary, secondary) in [
        (ids[0].clone(), companies[0].clone()),
        (uuid::Uuid::new_v4().to_string(), ids[1].clone()),
    ] {
        let (status, body) = merge(
            &t,
            &key,
            "people",
            json!({"primary_record_id": primary, "secondary_record_id": secondary}),
        )
        .await;
        assert_flat_error(
            status,
            &body,
            (404, "invalid_request_error", "value_not_found"),
        );
    }
    for bad in [
        json!({"primary_record_id": ids[0]}),
        json!({"primary_record_id": ids[0], "secondary_record_id": "someone"}),
        json!({"primary_record_id": ids[0], "secondary_record_id": ids[1], "keep": "primary"}),
        json!({"record_id": ids[0], "duplicate_record_id": ids[1]}),
    ] {
        let (status, body) = merge(&t, &key, "people", bad.clone()).await;
        assert_flat_error(
            status,
            &body,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let readers = t.sandbox().mint_api_key(Some(vec![
        "record_permission:read".to_owned(),
        "object_configuration:read".to_owned(),
    ]));
    let (status, body) = merge(
        &t,
        &readers,
        "people",
        json!({"primary_record_id": ids[0], "secondary_record_id": ids[1]}),
    )
    .await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
    assert_eq!(record_ids(&t, "people").await, ids, "nothing was merged");
}
