//! The ids of Globex's things (read or created with a Globex token) that the isolation probes
//! try from Acme.

use reqwest::Method;
use serde_json::{json, Value};

use super::{admin_token, globex};
use crate::TestSandbox;

/// Ids of Globex's things, read or created with a Globex token.
pub struct Foreign {
    pub task: String,
    pub member: String,
    pub member_email: String,
    pub person: String,
    pub person_email: String,
    pub people_object: String,
    pub attribute: String,
    pub list: String,
    pub list_attribute: String,
    pub entry: String,
    pub note: String,
    pub comment: String,
    pub thread: String,
    pub meeting: String,
    pub recording: String,
    pub webhook: String,
}

pub fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, got {value}"))
        .to_owned()
}

pub async fn ok(
    t: &TestSandbox,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let (status, answer) = t.call(method, path, token, body.as_ref()).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer["data"].clone()
}

pub async fn foreign(t: &TestSandbox) -> Foreign {
    let workspace = globex(t);
    let token = admin_token(t, workspace).await;
    let admin = t.sandbox().admin_member_id_in(workspace).expect("Globex");
    let people = ok(
        t,
        Method::POST,
        "/v2/objects/people/records/query",
        &token,
        Some(json!({"limit": 1})),
    )
    .await;
    let person = &people[0];
    let attributes = ok(
        t,
        Method::GET,
        "/v2/objects/people/attributes",
        &token,
        None,
    )
    .await;
    let lists = ok(t, Method::GET, "/v2/lists", &token, None).await;
    let people_list = lists
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["parent_object"][0] == "people" || l["parent_object"] == "people")
        .unwrap_or(&lists[0])
        .clone();
    let list = text(&people_list["id"]["list_id"]);
    let list_attributes = ok(
        t,
        Method::GET,
        &format!("/v2/lists/{list}/attributes"),
        &token,
        None,
    )
    .await;
    let entry = ok(
        t,
        Method::POST,
        &format!("/v2/lists/{list}/entries"),
        &token,
        Some(
            json!({"data": {"parent_record_id": person["id"]["record_id"],
            "parent_object": "people", "entry_values": {}}}),
        ),
    )
    .await;
    let comment = ok(
        t,
        Method::POST,
        "/v2/comments",
        &token,
        Some(
            json!({"data": {"format": "plaintext", "content": "Globex only",
            "author": {"type": "workspace-member", "id": admin},
            "record": {"object": "people", "record_id": person["id"]["record_id"]}}}),
        ),
    )
    .await;
    let notes = ok(t, Method::GET, "/v2/notes", &token, None).await;
    let meetings = ok(t, Method::GET, "/v2/meetings", &token, None).await;
    let meeting = text(&meetings[0]["id"]["meeting_id"]);
    let recording = ok(
        t,
        Method::POST,
        &format!("/v2/meetings/{meeting}/call_recordings"),
        &token,
        Some(json!({"data": {"video_url": "https://media.example.com/globex.mp4"}})),
    )
    .await;
    let webhook = ok(
        t,
        Method::POST,
        "/v2/webhooks",
        &token,
        Some(json!({"data": {"target_url": "https://example.com/globex",
            "subscriptions": [{"event_type": "task.created", "filter": null}]}})),
    )
    .await;
    let member = t.sandbox().member_ids_in(workspace)[1];
    let members = ok(
        t,
        Method::GET,
        &format!("/v2/workspace_members/{member}"),
        &token,
        None,
    )
    .await;
    Foreign {
        task: t.sandbox().task_ids_in(workspace)[0].to_string(),
        member: member.to_string(),
        member_email: text(&members["email_address"]),
        person: text(&person["id"]["record_id"]),
        person_email: text(&person["values"]["email_addresses"][0]["email_address"]),
        people_object: text(&person["id"]["object_id"]),
        attribute: text(&attributes[0]["id"]["attribute_id"]),
        list,
        list_attribute: text(&list_attributes[0]["id"]["attribute_id"]),
        entry: text(&entry["id"]["entry_id"]),
        note: text(&notes[0]["id"]["note_id"]),
        comment: text(&comment["id"]["comment_id"]),
        thread: text(&comment["thread_id"]),
        meeting,
        recording: text(&recording["id"]["call_recording_id"]),
        webhook: text(&webhook["id"]["webhook_id"]),
    }
}
