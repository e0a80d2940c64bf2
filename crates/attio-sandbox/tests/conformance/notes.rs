//! `PATCH /v2/notes/{note_id}` (newer than Attio's OpenAPI copy): a new title, a new body, or
//! both, each with its event; the answer is the note as `GET` shows it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::events::{token_actor, workspace};
use crate::lookup::{object_id, record_ids};
use crate::receiver::Hook;
use crate::{assert_flat_error, TestSandbox};

async fn patch(t: &TestSandbox, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    t.call(Method::PATCH, path, key, Some(&body)).await
}

#[tokio::test]
async fn a_note_update_changes_title_and_body_and_emits_their_events() {
    let t = crate::spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let record = record_ids(&t, "people").await[1].clone();
    let people_id = object_id(&t, "people").await;
    let hook = Hook::new(&t, &["note.updated", "note-content.updated"]).await;
    let body = json!({"data": {"parent_object": "people", "parent_record_id": record,
        "title": "Intro", "format": "plaintext", "content": "First call."}});
    let (status, created) = t.call(Method::POST, "/v2/notes", &key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["data"]["id"]["note_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v2/notes/{id}");

    let (status, titled) = patch(&t, &key, &path, json!({"data": {"title": "Intro call"}})).await;
    assert_eq!(status, StatusCode::OK, "{titled}");
    assert_eq!(titled["data"]["title"], "Intro call");
    assert_eq!(titled["data"]["content_plaintext"], "First call.");
    let (status, rewritten) = patch(
        &t,
        &key,
        &path,
        json!({"data": {"format": "markdown", "content": "# First call\nPricing."}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rewritten}");
    assert_eq!(
        rewritten["data"]["content_markdown"],
        "# First call\nPricing."
    );
    assert_eq!(rewritten["data"]["title"], "Intro call");
    // Changes to nothing emit nothing.
    for unchanged in [
        json!({"data": {}}),
        json!({"data": {"title": "Intro call", "content": "# First call\nPricing."}}),
    ] {
        let (status, same) = patch(&t, &key, &path, unchanged).await;
        assert_eq!(status, StatusCode::OK, "{same}");
        assert_eq!(same, rewritten);
    }
    let (_, read) = t.get(&path, &key).await;
    assert_eq!(read, rewritten, "the answer is the note as GET shows it");

    let event = |event_type: &str| {
        json!({"event_type": event_type,
               "id": {"workspace_id": workspace(&t), "note_id": id},
               "parent_object_id": people_id, "parent_record_id": record, "actor": actor})
    };
    assert_eq!(
        hook.exactly(&t, 2).await,
        [event("note.updated"), event("note-content.updated")]
    );
}

#[tokio::test]
async fn note_updates_are_validated_and_unknown_notes_are_404() {
    let t = crate::spawn().await;
    let key = t.key();
    let (_, notes) = t.get("/v2/notes", &key).await;
    let id = notes["data"][0]["id"]["note_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v2/notes/{id}");
    for bad in [
        json!({"title": "No data wrapper"}),
        json!({"data": {"title": 5}}),
        json!({"data": {"content": null}}),
        json!({"data": {"format": "html", "content": "<p>x</p>"}}),
        json!({"data": {"parent_record_id": id}}),
        json!({"data": "title"}),
    ] {
        let (status, body) = patch(&t, &key, &path, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_flat_error(
            status,
            &body,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let (_, unchanged) = t.get(&path, &key).await;
    assert_eq!(unchanged["data"], notes["data"][0], "nothing changed");
    for missing in [uuid::Uuid::new_v4().to_string(), "not-a-note".to_owned()] {
        let (status, body) = patch(
            &t,
            &key,
            &format!("/v2/notes/{missing}"),
            json!({"data": {"title": "x"}}),
        )
        .await;
        assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    }
    let readers = t.sandbox().mint_api_key(Some(vec![
        "note:read".to_owned(),
        "object_configuration:read".to_owned(),
        "record_permission:read".to_owned(),
    ]));
    let (status, body) = patch(&t, &readers, &path, json!({"data": {"title": "x"}})).await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
}
