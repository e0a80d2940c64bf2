//! `record.created`, `record.updated` (one per changed attribute), `record.deleted` and
//! `record.merged` (two events naming the new record), plus the records endpoints' errors.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{attribute_id, control, object_id, people, system, token_actor, workspace};
use crate::receiver::Hook;
use crate::{assert_flat_error, spawn};

#[tokio::test]
async fn creating_updating_and_deleting_a_person_emits_record_events() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let people_id = object_id(&t, "people").await;
    let hook = Hook::new(&t, &["record.created", "record.updated", "record.deleted"]).await;
    let body = json!({"data": {"values": {
        "name": "Ada Lovelace",
        "email_addresses": ["ada@analytical.test"],
    }}});
    let (status, created) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let record = &created["data"];
    assert_eq!(record["values"]["name"][0]["full_name"], "Ada Lovelace");
    assert_eq!(
        record["values"]["email_addresses"][0]["email_address"],
        "ada@analytical.test"
    );
    let record_id = record["id"]["record_id"].as_str().expect("id").to_owned();
    let path = format!("/v2/objects/people/records/{record_id}");
    let patch = json!({"data": {"values": {
        "name": [{"first_name": "Ada", "last_name": "King", "full_name": "Ada King"}],
        "job_title": "Analyst",
        "email_addresses": ["ada@analytical.test"],
    }}});
    let (status, patched) = t.call(Method::PATCH, &path, &key, Some(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["data"]["values"]["job_title"][0]["value"],
        "Analyst"
    );
    assert_eq!(
        t.call(Method::DELETE, &path, &key, None).await.0,
        StatusCode::OK
    );
    assert_eq!(t.get(&path, &key).await.0, StatusCode::NOT_FOUND);

    let id = json!({"workspace_id": workspace(&t), "object_id": people_id, "record_id": record_id});
    let with_attribute = |slug: String| {
        let mut id = id.clone();
        id["attribute_id"] = Value::String(slug);
        json!({"event_type": "record.updated", "id": id, "actor": actor})
    };
    let events = hook.exactly(&t, 4).await;
    assert_eq!(
        events,
        [
            json!({"event_type": "record.created", "id": id, "actor": actor}),
            with_attribute(attribute_id(&t, "objects/people", "name").await),
            with_attribute(attribute_id(&t, "objects/people", "job_title").await),
            json!({"event_type": "record.deleted", "id": id, "actor": actor}),
        ],
        "the unchanged email address emits nothing"
    );
}

#[tokio::test]
async fn merging_two_records_makes_a_new_one_and_emits_two_merged_events() {
    let t = spawn().await;
    let key = t.key();
    let people_id = object_id(&t, "people").await;
    let ids = people(&t).await;
    let (original, duplicate) = (ids[0].clone(), ids[1].clone());
    let hook = Hook::new(&t, &["record.merged", "record.deleted", "record.created"]).await;
    let body = json!({"object": "people", "record_id": original, "duplicate_record_id": duplicate});
    let (status, merged) = control(&t, Method::POST, "/_sandbox/records/merge", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let merged_id = merged["data"]["id"]["record_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_ne!(merged_id, original);
    let emails = merged["data"]["values"]["email_addresses"]
        .as_array()
        .map(Vec::len);
    assert_eq!(emails, Some(2), "both originals' unique values");
    for gone in [&original, &duplicate] {
        let (status, _) = t
            .get(&format!("/v2/objects/people/records/{gone}"), &key)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let id = json!({"workspace_id": workspace(&t), "object_id": people_id, "record_id": merged_id});
    let events = hook.exactly(&t, 2).await;
    assert_eq!(
        events,
        [original, duplicate].map(|old| json!({
            "event_type": "record.merged", "id": id,
            "duplicate_object_id": people_id, "duplicate_record_id": old, "actor": system(),
        }))
    );
    let (status, error) = control(
        &t,
        Method::POST,
        "/_sandbox/records/merge",
        Some(json!({"object": "people", "record_id": merged_id, "duplicate_record_id": merged_id})),
    )
    .await;
    assert_flat_error(status, &error, (400, "invalid_request_error", "self_merge"));
}

#[tokio::test]
async fn bad_record_writes_are_rejected_with_a_message() {
    let t = spawn().await;
    let key = t.key();
    let taken = json!({"data": {"values": {"email_addresses": ["maria.santos@northwind.test"]}}});
    let (status, error) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&taken),
        )
        .await;
    assert_flat_error(
        status,
        &error,
        (409, "invalid_request_error", "uniqueness_conflict"),
    );
    let cases = [
        json!({"data": {}}),
        json!({"data": {"values": []}}),
        json!({"data": {"values": {}, "extra": 1}}),
        json!({"data": {"values": {"email_addresses": ["not an email"]}}}),
        json!({"data": {"values": {"name": 5}}}),
        json!({"data": {"values": {"nickname": "Al"}}}),
    ];
    for body in cases {
        let (status, error) = t
            .call(
                Method::POST,
                "/v2/objects/people/records",
                &key,
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let (status, error) = t
        .call(
            Method::POST,
            "/v2/objects/unicorns/records",
            &key,
            Some(&json!({"data": {"values": {}}})),
        )
        .await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    let reader = t.sandbox().mint_api_key(Some(vec![
        "record_permission:read".to_owned(),
        "object_configuration:read".to_owned(),
    ]));
    let (status, error) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &reader,
            Some(&json!({"data": {"values": {}}})),
        )
        .await;
    assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
}
