//! `note.created`, `note.updated` (title), `note-content.updated` (body) and `note.deleted`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{control, member, object_id, people, token_actor, workspace};
use crate::receiver::Hook;
use crate::{assert_flat_error, spawn};

#[tokio::test]
async fn note_changes_emit_their_events_with_the_parent_record() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let record = people(&t).await[3].clone();
    let people_id = object_id(&t, "people").await;
    let hook = Hook::new(
        &t,
        &[
            "note.created",
            "note.updated",
            "note-content.updated",
            "note.deleted",
        ],
    )
    .await;
    let body = json!({"data": {"parent_object": "people", "parent_record_id": record,
        "title": "Kick-off", "format": "plaintext", "content": "Agenda: pricing."}});
    let (status, created) = t.call(Method::POST, "/v2/notes", &key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["content_plaintext"], "Agenda: pricing.");
    let note_id = created["data"]["id"]["note_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let admin = t.sandbox().admin_member_id();
    let edit = format!("/_sandbox/notes/{note_id}");
    for body in [
        json!({"title": "Kick-off call", "actor_member_id": admin}),
        json!({"content": "Agenda: pricing, SSO.", "actor_member_id": admin}),
        json!({"title": "Kick-off call", "content": "Agenda: pricing, SSO."}),
    ] {
        let (status, answer) = control(&t, Method::PATCH, &edit, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, read) = t.get(&format!("/v2/notes/{note_id}"), &key).await;
    assert_eq!(read["data"]["title"], "Kick-off call");
    let (status, _) = t
        .call(Method::DELETE, &format!("/v2/notes/{note_id}"), &key, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let id = json!({"workspace_id": workspace(&t), "note_id": note_id});
    let event = |event_type: &str, actor: &serde_json::Value| {
        json!({"event_type": event_type, "id": id, "parent_object_id": people_id,
               "parent_record_id": record, "actor": actor})
    };
    let events = hook.exactly(&t, 4).await;
    assert_eq!(
        events,
        [
            event("note.created", &actor),
            event("note.updated", &member(admin)),
            event("note-content.updated", &member(admin)),
            event("note.deleted", &actor),
        ],
        "an edit that changes nothing emits nothing"
    );
}

#[tokio::test]
async fn notes_are_validated_and_unknown_notes_are_404() {
    let t = spawn().await;
    let key = t.key();
    let record = people(&t).await[0].clone();
    let good = json!({"parent_object": "people", "parent_record_id": record,
        "title": "T", "format": "plaintext", "content": "C"});
    let with = |key: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[key] = value;
        json!({ "data": body })
    };
    for body in [
        with("format", json!("html")),
        with("parent_record_id", json!("not-a-uuid")),
        with("created_at", json!("yesterday")),
        with("unknown", json!(1)),
        json!({"data": {"title": "only a title"}}),
    ] {
        let (status, error) = t.call(Method::POST, "/v2/notes", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let missing = with("parent_record_id", json!(uuid::Uuid::new_v4().to_string()));
    let (status, error) = t
        .call(Method::POST, "/v2/notes", &key, Some(&missing))
        .await;
    assert_flat_error(
        status,
        &error,
        (400, "invalid_request_error", "value_not_found"),
    );
    let (status, error) = t
        .get(&format!("/v2/notes/{}", uuid::Uuid::new_v4()), &key)
        .await;
    assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    let (_, listed) = t.get("/v2/notes?limit=50", &key).await;
    assert_eq!(
        listed["data"].as_array().map(Vec::len),
        Some(3),
        "the seeded notes"
    );
}
