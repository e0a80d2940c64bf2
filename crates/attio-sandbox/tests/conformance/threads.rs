//! `GET /v2/threads` as Attio's document describes it: the threads of a record or of a list
//! entry, oldest first, each with its comments sorted by `created_at`, paged by `limit` and
//! `offset`, and the scopes each kind of thread needs.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::lookup::{object_id, record_ids};
use crate::{assert_flat_error, TestSandbox};

async fn threads(t: &TestSandbox, key: &str, query: &str) -> (StatusCode, Value) {
    t.get(&format!("/v2/threads{query}"), key).await
}

/// The `data` of a successful listing.
async fn listed(t: &TestSandbox, key: &str, query: &str) -> Vec<Value> {
    let (status, body) = threads(t, key, query).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["data"].as_array().expect("a list").clone()
}

fn thread_id(thread: &Value) -> &str {
    thread["id"]["thread_id"].as_str().expect("a thread id")
}

#[tokio::test]
async fn threads_of_a_record_or_an_entry_are_listed_oldest_first_and_paged() {
    let t = crate::spawn().await;
    let key = t.key();
    let person = record_ids(&t, "people").await[0].clone();

    // The demo's two threads: one on the first person, one on a sales-pipeline entry.
    let all = listed(&t, &key, "").await;
    assert_eq!(all.len(), 2, "{all:?}");
    let on_record = &all[0];
    let on_entry = &all[1];
    assert_eq!(on_record["comments"][0]["record"]["record_id"], person);
    assert_eq!(on_record["comments"][0]["entry"], Value::Null);
    let times: Vec<&str> = on_record["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["created_at"].as_str().unwrap())
        .collect();
    assert_eq!(times.len(), 2);
    assert!(times[0] <= times[1], "comments by created_at: {times:?}");
    let entry = &on_entry["comments"][0]["entry"];
    let (list_id, entry_id) = (
        entry["list_id"].as_str().expect("a list id"),
        entry["entry_id"].as_str().expect("an entry id"),
    );

    assert_eq!(
        listed(&t, &key, &format!("?object=people&record_id={person}")).await,
        std::slice::from_ref(on_record)
    );
    let people_id = object_id(&t, "people").await;
    assert_eq!(
        listed(&t, &key, &format!("?object={people_id}&record_id={person}")).await,
        std::slice::from_ref(on_record),
        "the object by id"
    );
    for list in [list_id, "sales-pipeline"] {
        assert_eq!(
            listed(&t, &key, &format!("?list={list}&entry_id={entry_id}")).await,
            std::slice::from_ref(on_entry),
            "the list by {list}"
        );
    }
    let nobody = uuid::Uuid::new_v4();
    assert!(
        listed(&t, &key, &format!("?object=people&record_id={nobody}"))
            .await
            .is_empty()
    );

    // A new thread on the same person comes after the seeded one.
    let admin = t.sandbox().admin_member_id();
    let comment = json!({"data": {"format": "plaintext", "content": "A second thread",
        "author": {"type": "workspace-member", "id": admin},
        "record": {"object": "people", "record_id": person}}});
    let (status, created) = t
        .call(Method::POST, "/v2/comments", &key, Some(&comment))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let new_thread = created["data"]["thread_id"].as_str().unwrap();
    let of_person = format!("?object=people&record_id={person}");
    let both = listed(&t, &key, &of_person).await;
    let ids: Vec<&str> = both.iter().map(thread_id).collect();
    assert_eq!(ids, [thread_id(on_record), new_thread]);
    let second = listed(&t, &key, &format!("{of_person}&limit=1&offset=1")).await;
    assert_eq!(second, both[1..]);
    let first = listed(&t, &key, &format!("{of_person}&limit=1")).await;
    assert_eq!(first, both[..1]);
    assert_eq!(
        listed(&t, &key, "?limit=50&offset=3").await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn thread_filters_are_validated_and_each_kind_of_thread_needs_its_scopes() {
    let t = crate::spawn().await;
    let key = t.key();
    let person = record_ids(&t, "people").await[0].clone();
    for bad in [
        format!("?record_id={person}"),
        "?object=people".to_owned(),
        "?list=sales-pipeline".to_owned(),
        format!("?entry_id={person}"),
        "?object=people&record_id=someone".to_owned(),
        "?list=sales-pipeline&entry_id=x".to_owned(),
        format!("?object=people&record_id={person}&list=sales-pipeline&entry_id={person}"),
        "?limit=0".to_owned(),
        "?limit=51".to_owned(),
        "?limit=ten".to_owned(),
        "?offset=-1".to_owned(),
        "?limit=1&limit=2".to_owned(),
    ] {
        let (status, body) = threads(&t, &key, &bad).await;
        assert_flat_error(
            status,
            &body,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let (status, body) = threads(&t, &key, &format!("?object=deals&record_id={person}")).await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    let (status, body) = threads(&t, &key, &format!("?list=nope&entry_id={person}")).await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));

    let scoped = |scopes: &[&str]| {
        t.sandbox()
            .mint_api_key(Some(scopes.iter().map(|s| (*s).to_owned()).collect()))
    };
    let comments_only = scoped(&["comment:read"]);
    let (status, body) = threads(
        &t,
        &comments_only,
        &format!("?object=people&record_id={person}"),
    )
    .await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("record_permission:read"));
    let (status, body) = threads(
        &t,
        &comments_only,
        &format!("?list=sales-pipeline&entry_id={person}"),
    )
    .await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("list_entry:read"));
    assert!(
        listed(&t, &comments_only, "").await.is_empty(),
        "unfiltered: no thread this token may see"
    );
    let with_records = scoped(&[
        "comment:read",
        "object_configuration:read",
        "record_permission:read",
    ]);
    let visible = listed(&t, &with_records, "").await;
    assert_eq!(visible.len(), 1, "only the thread on a record: {visible:?}");
    assert_eq!(visible[0]["comments"][0]["record"]["record_id"], person);
    let no_comments = scoped(&["object_configuration:read", "record_permission:read"]);
    let (status, body) = threads(&t, &no_comments, "").await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
}
