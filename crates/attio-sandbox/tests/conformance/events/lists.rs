//! `list.*`, `list-attribute.*` and `list-entry.*` (one `list-entry.updated` per changed
//! attribute).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{control, object_id, record_ids, system, token_actor, workspace};
use crate::receiver::Hook;
use crate::{assert_flat_error, spawn};

#[tokio::test]
async fn creating_updating_and_deleting_a_list_emits_list_events() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let hook = Hook::new(&t, &["list.created", "list.updated", "list.deleted"]).await;
    let body = json!({"data": {"name": "Partners", "api_slug": "partners", "parent_object": "companies",
        "workspace_access": "read-and-write", "workspace_member_access": []}});
    let (status, created) = t.call(Method::POST, "/v2/lists", &key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["parent_object"], json!(["companies"]));
    let list_id = created["data"]["id"]["list_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, error) = t.call(Method::POST, "/v2/lists", &key, Some(&body)).await;
    assert_flat_error(
        status,
        &error,
        (409, "invalid_request_error", "slug_conflict"),
    );
    let patch = json!({"data": {"name": "Channel partners"}});
    let (status, _) = t
        .call(Method::PATCH, "/v2/lists/partners", &key, Some(&patch))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = control(&t, Method::DELETE, "/_sandbox/lists/partners", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        t.get("/v2/lists/partners", &key).await.0,
        StatusCode::NOT_FOUND
    );

    let id = json!({"workspace_id": workspace(&t), "list_id": list_id});
    assert_eq!(
        hook.exactly(&t, 3).await,
        [
            json!({"event_type": "list.created", "id": id, "actor": actor}),
            json!({"event_type": "list.updated", "id": id, "actor": actor}),
            json!({"event_type": "list.deleted", "id": id, "actor": system()}),
        ]
    );
}

#[tokio::test]
async fn list_attributes_emit_created_and_updated() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let hook = Hook::new(&t, &["list-attribute.created", "list-attribute.updated"]).await;
    let body = json!({"data": {"title": "Deal size", "description": null, "api_slug": "deal_size",
        "type": "number", "is_required": false, "is_unique": false, "is_multiselect": false, "config": {}}});
    let (status, created) = t
        .call(
            Method::POST,
            "/v2/lists/sales-pipeline/attributes",
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let attribute = created["data"]["id"].clone();
    let patch = json!({"data": {"title": "Deal value"}});
    let path = "/v2/lists/sales-pipeline/attributes/deal_size";
    let (status, updated) = t.call(Method::PATCH, path, &key, Some(&patch)).await;
    assert_eq!(
        (status, updated["data"]["title"].clone()),
        (StatusCode::OK, json!("Deal value"))
    );
    // The REST id names the list `object_id` (Attio's attribute schema); the event names it
    // `list_id`.
    let id = json!({"workspace_id": workspace(&t), "list_id": attribute["object_id"], "attribute_id": attribute["attribute_id"]});
    assert_eq!(
        hook.exactly(&t, 2).await,
        [
            json!({"event_type": "list-attribute.created", "id": id, "actor": actor}),
            json!({"event_type": "list-attribute.updated", "id": id, "actor": actor}),
        ]
    );
}

#[tokio::test]
async fn list_entries_emit_created_one_updated_per_attribute_and_deleted() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let company = record_ids(&t, "companies").await[5].clone();
    let hook = Hook::new(
        &t,
        &[
            "list-entry.created",
            "list-entry.updated",
            "list-entry.deleted",
        ],
    )
    .await;
    let body = json!({"data": {"parent_record_id": company, "parent_object": "companies",
        "entry_values": {"stage": "Qualified"}}});
    let (status, created) = t
        .call(
            Method::POST,
            "/v2/lists/sales-pipeline/entries",
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(
        created["data"]["entry_values"]["stage"][0]["value"],
        "Qualified"
    );
    let entry = created["data"]["id"].clone();
    let path = format!(
        "/v2/lists/sales-pipeline/entries/{}",
        entry["entry_id"].as_str().unwrap_or("")
    );
    let patch = json!({"data": {"entry_values": {"stage": "Proposal", "next_step": "Send quote"}}});
    assert_eq!(
        t.call(Method::PATCH, &path, &key, Some(&patch)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        t.call(Method::DELETE, &path, &key, None).await.0,
        StatusCode::OK
    );

    let companies_id = object_id(&t, "companies").await;
    let event = |event_type: &str, attribute: Option<String>| {
        let mut id = entry.clone();
        if let Some(attribute) = attribute {
            id["attribute_id"] = Value::String(attribute);
        }
        json!({"event_type": event_type, "id": id, "parent_object_id": companies_id,
               "parent_record_id": company, "actor": actor})
    };
    let stage = super::attribute_id(&t, "lists/sales-pipeline", "stage").await;
    let next_step = super::attribute_id(&t, "lists/sales-pipeline", "next_step").await;
    assert_eq!(
        hook.exactly(&t, 4).await,
        [
            event("list-entry.created", None),
            event("list-entry.updated", Some(next_step)),
            event("list-entry.updated", Some(stage)),
            event("list-entry.deleted", None),
        ]
    );
}

#[tokio::test]
async fn entries_must_match_the_lists_object_and_attributes() {
    let t = spawn().await;
    let key = t.key();
    let person = record_ids(&t, "people").await[0].clone();
    let company = record_ids(&t, "companies").await[0].clone();
    let cases = [
        json!({"data": {"parent_record_id": person, "parent_object": "people", "entry_values": {}}}),
        json!({"data": {"parent_record_id": company, "parent_object": "companies", "entry_values": {"colour": "red"}}}),
        json!({"data": {"parent_record_id": uuid::Uuid::new_v4(), "parent_object": "companies", "entry_values": {}}}),
        json!({"data": {"parent_record_id": company, "parent_object": "companies"}}),
    ];
    for body in cases {
        let (status, error) = t
            .call(
                Method::POST,
                "/v2/lists/sales-pipeline/entries",
                &key,
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let reader = t.sandbox().mint_api_key(Some(vec![
        "list_entry:read".to_owned(),
        "list_configuration:read".to_owned(),
    ]));
    let body = json!({"data": {"parent_record_id": company, "parent_object": "companies", "entry_values": {}}});
    let (status, error) = t
        .call(
            Method::POST,
            "/v2/lists/sales-pipeline/entries",
            &reader,
            Some(&body),
        )
        .await;
    assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
}
