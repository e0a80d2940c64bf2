//! Every id-taking route, called with a token of Acme and an id of Globex, answers exactly what it
//! answers for an id that exists nowhere: same status, same body (once the id itself is masked).

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::foreign::{foreign, ok, text, Foreign};
use super::{admin_token, globex, spawn_all_scopes};

/// One probe: a method, a path and a body, each possibly naming Globex's ids.
struct Probe {
    case: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

/// `own` and `own_person` are a member and a person of the caller's workspace, so that a probe
/// fails on the foreign id only.
fn probes(g: &Foreign, own: Uuid, own_person: &str) -> Vec<Probe> {
    let probe = |case, method, path: String, body: Option<Value>| Probe {
        case,
        method,
        path,
        body,
    };
    let task_patch = json!({"data": {"is_completed": true}});
    let values = json!({"data": {"values": {"job_title": "Spy"}}});
    let rename = json!({"data": {"name": "Stolen"}});
    let attr_patch = json!({"data": {"title": "Stolen"}});
    let webhook_patch = json!({"data": {"target_url": "https://example.com/stolen"}});
    let recording = json!({"data": {"video_url": "https://media.example.com/x.mp4"}});
    let comment_reply = json!({"data": {"format": "plaintext", "content": "x",
        "author": {"type": "workspace-member", "id": own}, "thread_id": g.thread}});
    vec![
        probe(
            "show a task",
            Method::GET,
            format!("/v2/tasks/{}", g.task),
            None,
        ),
        probe(
            "update a task",
            Method::PATCH,
            format!("/v2/tasks/{}", g.task),
            Some(task_patch),
        ),
        probe(
            "delete a task",
            Method::DELETE,
            format!("/v2/tasks/{}", g.task),
            None,
        ),
        probe(
            "show a member",
            Method::GET,
            format!("/v2/workspace_members/{}", g.member),
            None,
        ),
        probe(
            "show a person",
            Method::GET,
            format!("/v2/objects/people/records/{}", g.person),
            None,
        ),
        probe(
            "update a person",
            Method::PATCH,
            format!("/v2/objects/people/records/{}", g.person),
            Some(values.clone()),
        ),
        probe(
            "replace a person",
            Method::PUT,
            format!("/v2/objects/people/records/{}", g.person),
            Some(values),
        ),
        probe(
            "delete a person",
            Method::DELETE,
            format!("/v2/objects/people/records/{}", g.person),
            None,
        ),
        probe(
            "records of an object by id",
            Method::POST,
            format!("/v2/objects/{}/records/query", g.people_object),
            Some(json!({})),
        ),
        probe(
            "attributes of an object by id",
            Method::GET,
            format!("/v2/objects/{}/attributes", g.people_object),
            None,
        ),
        probe(
            "show an object attribute",
            Method::GET,
            format!("/v2/objects/people/attributes/{}", g.attribute),
            None,
        ),
        probe(
            "update an object attribute",
            Method::PATCH,
            format!("/v2/objects/people/attributes/{}", g.attribute),
            Some(attr_patch.clone()),
        ),
        probe(
            "show a list",
            Method::GET,
            format!("/v2/lists/{}", g.list),
            None,
        ),
        probe(
            "update a list",
            Method::PATCH,
            format!("/v2/lists/{}", g.list),
            Some(rename),
        ),
        probe(
            "attributes of a list",
            Method::GET,
            format!("/v2/lists/{}/attributes", g.list),
            None,
        ),
        probe(
            "show a list attribute",
            Method::GET,
            format!("/v2/lists/{}/attributes/{}", g.list, g.list_attribute),
            None,
        ),
        probe(
            "update a list attribute",
            Method::PATCH,
            format!("/v2/lists/{}/attributes/{}", g.list, g.list_attribute),
            Some(attr_patch),
        ),
        probe(
            "show an entry",
            Method::GET,
            format!("/v2/lists/{}/entries/{}", g.list, g.entry),
            None,
        ),
        probe(
            "delete an entry",
            Method::DELETE,
            format!("/v2/lists/{}/entries/{}", g.list, g.entry),
            None,
        ),
        probe(
            "an entry under an own list",
            Method::GET,
            format!("/v2/lists/key-contacts/entries/{}", g.entry),
            None,
        ),
        probe(
            "a list attribute under an own list",
            Method::GET,
            format!("/v2/lists/key-contacts/attributes/{}", g.list_attribute),
            None,
        ),
        probe(
            "show a note",
            Method::GET,
            format!("/v2/notes/{}", g.note),
            None,
        ),
        probe(
            "delete a note",
            Method::DELETE,
            format!("/v2/notes/{}", g.note),
            None,
        ),
        probe(
            "show a comment",
            Method::GET,
            format!("/v2/comments/{}", g.comment),
            None,
        ),
        probe(
            "delete a comment",
            Method::DELETE,
            format!("/v2/comments/{}", g.comment),
            None,
        ),
        probe(
            "show a thread",
            Method::GET,
            format!("/v2/threads/{}", g.thread),
            None,
        ),
        probe(
            "reply in a thread",
            Method::POST,
            "/v2/comments".to_owned(),
            Some(comment_reply),
        ),
        probe(
            "show a meeting",
            Method::GET,
            format!("/v2/meetings/{}", g.meeting),
            None,
        ),
        probe(
            "record a meeting",
            Method::POST,
            format!("/v2/meetings/{}/call_recordings", g.meeting),
            Some(recording),
        ),
        probe(
            "show a recording",
            Method::GET,
            format!("/v2/meetings/{}/call_recordings/{}", g.meeting, g.recording),
            None,
        ),
        probe(
            "recordings of a meeting",
            Method::GET,
            format!("/v2/meetings/{}/call_recordings", g.meeting),
            None,
        ),
        probe(
            "a recording's transcript",
            Method::GET,
            format!(
                "/v2/meetings/{}/call_recordings/{}/transcript",
                g.meeting, g.recording
            ),
            None,
        ),
        probe(
            "delete a recording",
            Method::DELETE,
            format!("/v2/meetings/{}/call_recordings/{}", g.meeting, g.recording),
            None,
        ),
        probe(
            "meetings linked to a record",
            Method::GET,
            format!(
                "/v2/meetings?linked_object=people&linked_record_id={}",
                g.person
            ),
            None,
        ),
        probe(
            "a meeting linked to a record",
            Method::POST,
            "/v2/meetings".to_owned(),
            Some(json!({"data": {
            "title": "x", "description": "x", "is_all_day": false,
            "start": {"datetime": "2027-01-01T10:00:00Z"}, "end": {"datetime": "2027-01-01T11:00:00Z"},
            "participants": [{"email_address": "x@example.test", "is_organizer": true, "status": "accepted"}],
            "external_ref": "isolation", "linked_records": [{"object": "people", "record_id": g.person}]}})),
        ),
        probe(
            "threads of a record",
            Method::GET,
            format!("/v2/threads?object=people&record_id={}", g.person),
            None,
        ),
        probe(
            "threads of an entry",
            Method::GET,
            format!("/v2/threads?list=key-contacts&entry_id={}", g.entry),
            None,
        ),
        probe(
            "update a note",
            Method::PATCH,
            format!("/v2/notes/{}", g.note),
            Some(json!({"data": {"title": "Stolen"}})),
        ),
        probe(
            "show a webhook",
            Method::GET,
            format!("/v2/webhooks/{}", g.webhook),
            None,
        ),
        probe(
            "update a webhook",
            Method::PATCH,
            format!("/v2/webhooks/{}", g.webhook),
            Some(webhook_patch),
        ),
        probe(
            "delete a webhook",
            Method::DELETE,
            format!("/v2/webhooks/{}", g.webhook),
            None,
        ),
        probe(
            "tasks filtered by a member",
            Method::GET,
            format!("/v2/tasks?assignee={}", g.member),
            None,
        ),
        probe(
            "tasks filtered by a member's email",
            Method::GET,
            format!("/v2/tasks?assignee={}", g.member_email),
            None,
        ),
        probe(
            "tasks linked to a record",
            Method::GET,
            format!(
                "/v2/tasks?linked_object=people&linked_record_id={}",
                g.person
            ),
            None,
        ),
        probe(
            "a task linked to a record",
            Method::POST,
            "/v2/tasks".to_owned(),
            Some(json!({"data": {
            "content": "x", "format": "plaintext", "deadline_at": null, "is_completed": false,
            "linked_records": [{"target_object": "people", "target_record_id": g.person}], "assignees": []}})),
        ),
        probe(
            "a task linked by email",
            Method::POST,
            "/v2/tasks".to_owned(),
            Some(json!({"data": {
            "content": "x", "format": "plaintext", "deadline_at": null, "is_completed": false,
            "linked_records": [{"target_object": "people", "email_addresses": [{"email_address": g.person_email}]}], "assignees": []}})),
        ),
        probe(
            "a task assigned to a member",
            Method::POST,
            "/v2/tasks".to_owned(),
            Some(json!({"data": {
            "content": "x", "format": "plaintext", "deadline_at": null, "is_completed": false,
            "linked_records": [], "assignees": [{"referenced_actor_type": "workspace-member", "referenced_actor_id": g.member}]}})),
        ),
        probe(
            "a task assigned by email",
            Method::POST,
            "/v2/tasks".to_owned(),
            Some(json!({"data": {
            "content": "x", "format": "plaintext", "deadline_at": null, "is_completed": false,
            "linked_records": [], "assignees": [{"workspace_member_email_address": g.member_email}]}})),
        ),
        probe(
            "a note on a record",
            Method::POST,
            "/v2/notes".to_owned(),
            Some(json!({"data": {
            "parent_object": "people", "parent_record_id": g.person, "title": "x", "format": "plaintext", "content": "x"}})),
        ),
        probe(
            "a comment on a record",
            Method::POST,
            "/v2/comments".to_owned(),
            Some(json!({"data": {
            "format": "plaintext", "content": "x", "author": {"type": "workspace-member", "id": own},
            "record": {"object": "people", "record_id": g.person}}})),
        ),
        probe(
            "a comment by a member",
            Method::POST,
            "/v2/comments".to_owned(),
            Some(json!({"data": {
            "format": "plaintext", "content": "x", "author": {"type": "workspace-member", "id": g.member},
            "record": {"object": "people", "record_id": own_person}}})),
        ),
        probe(
            "merge with a record",
            Method::POST,
            "/v2/objects/people/records/merge".to_owned(),
            Some(json!({"data": {
            "primary_record_id": own_person, "secondary_record_id": g.person}})),
        ),
        probe(
            "an entry of a record",
            Method::POST,
            "/v2/lists/key-contacts/entries".to_owned(),
            Some(json!({"data": {
            "parent_record_id": g.person, "parent_object": "people", "entry_values": {}}})),
        ),
    ]
}

/// Replaces every Globex id (and its unknown stand-in) with a fixed mark.
fn mask(text: &str, swaps: &[(String, String)]) -> String {
    swaps
        .iter()
        .fold(text.to_owned(), |text, (foreign, unknown)| {
            text.replace(foreign, "<id>").replace(unknown, "<id>")
        })
}

#[tokio::test]
async fn ids_of_another_workspace_answer_exactly_as_unknown_ids() {
    let t = spawn_all_scopes().await;
    let g = foreign(&t).await;
    let acme = admin_token(&t, t.sandbox().workspace_id()).await;
    // Each Globex id gets a stand-in that exists nowhere (emails: an unknown address).
    let swaps: Vec<(String, String)> = [
        &g.task,
        &g.member,
        &g.person,
        &g.people_object,
        &g.attribute,
        &g.list,
        &g.list_attribute,
        &g.entry,
        &g.note,
        &g.comment,
        &g.thread,
        &g.meeting,
        &g.recording,
        &g.webhook,
    ]
    .into_iter()
    .map(|id| (id.clone(), Uuid::new_v4().to_string()))
    .chain([
        (g.member_email.clone(), "nobody@nowhere.test".to_owned()),
        (g.person_email.clone(), "nobody@elsewhere.test".to_owned()),
    ])
    .collect();
    let unknown = |text: &str| {
        swaps
            .iter()
            .fold(text.to_owned(), |text, (foreign, unknown)| {
                text.replace(foreign, unknown)
            })
    };
    let own_person = ok(
        &t,
        Method::POST,
        "/v2/objects/people/records/query",
        &acme,
        Some(json!({"limit": 1})),
    )
    .await;
    let own_person = text(&own_person[0]["id"]["record_id"]);
    for probe in probes(&g, t.sandbox().admin_member_id(), &own_person) {
        let (status, answer) = t
            .call(
                probe.method.clone(),
                &probe.path,
                &acme,
                probe.body.as_ref(),
            )
            .await;
        let body = probe
            .body
            .as_ref()
            .map(|b| serde_json::from_str::<Value>(&unknown(&b.to_string())).expect("JSON"));
        let (expected_status, expected) = t
            .call(
                probe.method.clone(),
                &unknown(&probe.path),
                &acme,
                body.as_ref(),
            )
            .await;
        assert_eq!(status, expected_status, "{}: {answer}", probe.case);
        assert_eq!(
            mask(&answer.to_string(), &swaps),
            mask(&expected.to_string(), &swaps),
            "{}",
            probe.case
        );
        assert!(
            !answer.to_string().contains("Globex only") && !answer.to_string().contains("Hank"),
            "{} leaks Globex data: {answer}",
            probe.case
        );
    }
    // Nothing of Globex changed: its webhook, person, task and list are as they were.
    let globex_token = admin_token(&t, globex(&t)).await;
    for path in [
        format!("/v2/tasks/{}", g.task),
        format!("/v2/objects/people/records/{}", g.person),
        format!("/v2/webhooks/{}", g.webhook),
        format!("/v2/lists/{}/entries/{}", g.list, g.entry),
        format!("/v2/notes/{}", g.note),
        format!("/v2/comments/{}", g.comment),
    ] {
        let (status, answer) = t.get(&path, &globex_token).await;
        assert!(
            status.is_success(),
            "{path} still exists in Globex: {answer}"
        );
    }
    let (_, list) = t.get(&format!("/v2/lists/{}", g.list), &globex_token).await;
    assert_ne!(list["data"]["name"], "Stolen");
}
