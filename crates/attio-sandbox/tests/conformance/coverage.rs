//! Every operation of Attio's OpenAPI document, called once or more against one seeded sandbox:
//! the success answer and the documented error answers, each validated against the document's
//! schema for that operation and status. Prints the coverage line
//! `operations served N of 67, answers valid N of M`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::schema;

/// Operations the walk shows served. It only goes up: an operation that stops answering fails
/// the walk before this is reached.
const SERVED_AT_LEAST: usize = 67;

struct Walk {
    t: crate::TestSandbox,
    key: String,
    /// Statuses seen per operation (`GET /v2/objects/{object}`).
    seen: BTreeMap<String, BTreeSet<u16>>,
    answers: usize,
    valid: usize,
    problems: Vec<String>,
}

impl Walk {
    /// Sends a request without the per-call assertion of `TestSandbox::call`, so that every
    /// problem is collected and reported together.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let mut request = self
            .t
            .http
            .request(method.clone(), self.t.url(path))
            .bearer_auth(&self.key);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (status, answer) =
            crate::read_json(request.send().await.expect("request is sent")).await;
        let status = status.as_u16();
        self.answers += 1;
        let problems = schema::problems(method.as_str(), path, status, &answer);
        if problems.is_empty() {
            self.valid += 1;
        } else {
            self.problems.extend(problems);
        }
        if status != expect {
            self.problems.push(format!(
                "{method} {path}: expected {expect}, got {status}: {answer}"
            ));
        }
        if let Some(operation) = schema::document().and_then(|d| d.operation(method.as_str(), path))
        {
            self.seen
                .entry(operation.name())
                .or_default()
                .insert(status);
        }
        answer
    }

    async fn get(&mut self, path: &str, expect: u16) -> Value {
        self.send(Method::GET, path, None, expect).await
    }
    async fn post(&mut self, path: &str, body: Value, expect: u16) -> Value {
        self.send(Method::POST, path, Some(body), expect).await
    }
    async fn put(&mut self, path: &str, body: Value, expect: u16) -> Value {
        self.send(Method::PUT, path, Some(body), expect).await
    }
    async fn patch(&mut self, path: &str, body: Value, expect: u16) -> Value {
        self.send(Method::PATCH, path, Some(body), expect).await
    }
    async fn delete(&mut self, path: &str, expect: u16) -> Value {
        self.send(Method::DELETE, path, None, expect).await
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, got {value}"))
        .to_owned()
}

#[tokio::test]
async fn every_operation_of_the_document_answers_as_the_document_says() {
    let Some(document) = schema::document() else {
        return;
    };
    let t = crate::spawn().await;
    let key = t.key();
    let mut w = Walk {
        t,
        key,
        seen: BTreeMap::new(),
        answers: 0,
        valid: 0,
        problems: Vec::new(),
    };
    let missing = uuid::Uuid::new_v4();

    // Objects.
    w.get("/v2/objects", 200).await;
    w.get("/v2/objects/people", 200).await;
    w.get("/v2/objects/deals", 404).await;
    let object = |slug: &str, singular: &str, plural: &str| json!({"data": {"api_slug": slug, "singular_noun": singular, "plural_noun": plural}});
    w.post(
        "/v2/objects",
        object("projects", "Project", "Projects"),
        200,
    )
    .await;
    w.post("/v2/objects", object("projects", "Scheme", "Schemes"), 409)
        .await;
    w.patch(
        "/v2/objects/projects",
        json!({"data": {"plural_noun": "Projects!"}}),
        200,
    )
    .await;
    w.patch("/v2/objects/projects", json!({"data": {}}), 400)
        .await;
    w.patch(
        "/v2/objects/deals",
        json!({"data": {"plural_noun": "Deals"}}),
        404,
    )
    .await;
    w.patch(
        "/v2/objects/projects",
        json!({"data": {"api_slug": "companies"}}),
        409,
    )
    .await;

    // Attributes, select options and statuses.
    w.get("/v2/objects/people/attributes", 200).await;
    let attribute = |slug: &str, kind: &str| {
        json!({"data": {"title": slug, "description": null, "api_slug": slug, "type": kind,
                        "is_required": false, "is_unique": false, "is_multiselect": false,
                        "config": {}}})
    };
    w.post(
        "/v2/objects/people/attributes",
        attribute("tier", "select"),
        200,
    )
    .await;
    w.post(
        "/v2/objects/people/attributes",
        attribute("tier", "select"),
        409,
    )
    .await;
    w.post(
        "/v2/objects/people/attributes",
        attribute("x", "nonsense"),
        400,
    )
    .await;
    w.post("/v2/objects/deals/attributes", attribute("x", "text"), 404)
        .await;
    w.get("/v2/objects/people/attributes/tier", 200).await;
    w.get("/v2/objects/people/attributes/nope", 404).await;
    w.patch(
        "/v2/objects/people/attributes/tier",
        json!({"data": {"title": "Tier"}}),
        200,
    )
    .await;
    w.patch(
        "/v2/objects/people/attributes/name",
        json!({"data": {"api_slug": "nom"}}),
        400,
    )
    .await;
    w.patch(
        "/v2/objects/people/attributes/nope",
        json!({"data": {"title": "x"}}),
        404,
    )
    .await;
    let options = "/v2/objects/people/attributes/tier/options";
    w.post(options, json!({"data": {"title": "Gold"}}), 200)
        .await;
    w.post(options, json!({"data": {"title": "Silver"}}), 200)
        .await;
    w.post(options, json!({"data": {"title": "Gold"}}), 409)
        .await;
    w.post(
        "/v2/objects/people/attributes/job_title/options",
        json!({"data": {"title": "A"}}),
        400,
    )
    .await;
    w.post(
        "/v2/objects/people/attributes/nope/options",
        json!({"data": {"title": "A"}}),
        404,
    )
    .await;
    w.get(options, 200).await;
    w.get("/v2/objects/people/attributes/nope/options", 404)
        .await;
    w.patch(
        &format!("{options}/Silver"),
        json!({"data": {"is_archived": true}}),
        200,
    )
    .await;
    w.patch(
        &format!("{options}/Bronze"),
        json!({"data": {"title": "B"}}),
        400,
    )
    .await;
    w.patch(
        &format!("{options}/Silver"),
        json!({"data": {"title": "Gold"}}),
        409,
    )
    .await;
    w.patch(
        "/v2/objects/people/attributes/nope/options/Gold",
        json!({"data": {"title": "B"}}),
        404,
    )
    .await;
    let lists = w.get("/v2/lists", 200).await;
    let list_of = |object: &str| {
        lists["data"]
            .as_array()
            .and_then(|all| {
                all.iter()
                    .find(|l| l["parent_object"][0] == object || l["parent_object"] == object)
            })
            .map(|l| text(&l["api_slug"]))
            .unwrap_or_else(|| panic!("a seeded list of {object}: {lists}"))
    };
    let company_list = list_of("companies");
    let stages = format!("/v2/lists/{company_list}/attributes/phase/statuses");
    w.post(
        &format!("/v2/lists/{company_list}/attributes"),
        attribute("phase", "status"),
        200,
    )
    .await;
    w.post(
        &stages,
        json!({"data": {"title": "Lead", "target_time_in_status": "P0Y0M1DT0H0M0S"}}),
        200,
    )
    .await;
    w.post(
        &stages,
        json!({"data": {"title": "Won", "celebration_enabled": true}}),
        200,
    )
    .await;
    w.post(&stages, json!({"data": {"title": "Won"}}), 409)
        .await;
    w.post(
        &format!("/v2/lists/{company_list}/attributes/nope/statuses"),
        json!({"data": {"title": "A"}}),
        404,
    )
    .await;
    w.post(
        "/v2/objects/people/attributes/tier/statuses",
        json!({"data": {"title": "A"}}),
        400,
    )
    .await;
    w.get(&stages, 200).await;
    w.get(
        &format!("/v2/lists/{company_list}/attributes/nope/statuses"),
        404,
    )
    .await;
    w.patch(
        &format!("{stages}/Lead"),
        json!({"data": {"title": "Qualified"}}),
        200,
    )
    .await;
    w.patch(
        &format!("{stages}/Lost"),
        json!({"data": {"title": "x"}}),
        400,
    )
    .await;
    w.patch(
        &format!("{stages}/Qualified"),
        json!({"data": {"title": "Won"}}),
        409,
    )
    .await;
    w.patch(
        &format!("/v2/lists/{company_list}/attributes/nope/statuses/Won"),
        json!({"data": {"title": "x"}}),
        404,
    )
    .await;

    // Records.
    w.post("/v2/objects/people/records/query", json!({"limit": 2}), 200)
        .await;
    w.post("/v2/objects/deals/records/query", json!({}), 404)
        .await;
    w.post(
        "/v2/objects/people/records/query",
        json!({"filter": {"name": {"first_name": {"$starts_with": "A"}}},
               "sorts": [{"direction": "desc", "attribute": "name", "field": "last_name"}]}),
        200,
    )
    .await;
    w.post(
        "/v2/objects/people/records/query",
        json!({"filter": {"nope": "x"}}),
        400,
    )
    .await;
    let search = |objects: Value| json!({"query": "a", "objects": objects, "request_as": {"type": "workspace"}});
    w.post(
        "/v2/objects/records/search",
        search(json!(["people", "companies"])),
        200,
    )
    .await;
    w.post("/v2/objects/records/search", search(json!(["deals"])), 400)
        .await;
    let ada = w
        .post(
            "/v2/objects/people/records",
            json!({"data": {"values": {"name": "Ada Lovelace", "email_addresses": ["ada@example.com"], "tier": "Gold"}}}),
            200,
        )
        .await;
    let ada_id = text(&ada["data"]["id"]["record_id"]);
    w.post(
        "/v2/objects/people/records",
        json!({"data": {"values": {"nope": 1}}}),
        400,
    )
    .await;
    w.post(
        "/v2/objects/deals/records",
        json!({"data": {"values": {}}}),
        404,
    )
    .await;
    let assert = "/v2/objects/people/records?matching_attribute=email_addresses";
    let asserted = w
        .put(assert, json!({"data": {"values": {"email_addresses": ["ada@example.com"], "job_title": "Countess"}}}), 200)
        .await;
    assert_eq!(
        text(&asserted["data"]["id"]["record_id"]),
        ada_id,
        "assert found Ada"
    );
    w.put(assert, json!({"data": {"values": {"email_addresses": ["grace@example.com"], "name": "Grace Hopper"}}}), 200).await;
    w.put(
        "/v2/objects/people/records?matching_attribute=nope",
        json!({"data": {"values": {"nope": "x"}}}),
        400,
    )
    .await;
    w.put(
        "/v2/objects/deals/records?matching_attribute=name",
        json!({"data": {"values": {}}}),
        404,
    )
    .await;
    let ada_path = format!("/v2/objects/people/records/{ada_id}");
    w.get(&ada_path, 200).await;
    w.get(&format!("/v2/objects/people/records/{missing}"), 404)
        .await;
    w.patch(
        &ada_path,
        json!({"data": {"values": {"job_title": "Analyst"}}}),
        200,
    )
    .await;
    w.patch(
        &format!("/v2/objects/people/records/{missing}"),
        json!({"data": {"values": {}}}),
        404,
    )
    .await;
    w.put(
        &ada_path,
        json!({"data": {"values": {"job_title": "Mathematician"}}}),
        200,
    )
    .await;
    w.put(
        &format!("/v2/objects/people/records/{missing}"),
        json!({"data": {"values": {}}}),
        404,
    )
    .await;
    w.patch(
        &ada_path,
        json!({"data": {"values": {"tier": "Platinum"}}}),
        400,
    )
    .await;
    w.put(&ada_path, json!({"data": {"values": {"nope": "x"}}}), 400)
        .await;
    w.patch(
        "/v2/objects/people/attributes/job_title",
        json!({"data": {"is_required": true}}),
        200,
    )
    .await;
    w.patch(
        &ada_path,
        json!({"data": {"values": {"job_title": null}}}),
        400,
    )
    .await;
    w.put(
        &ada_path,
        json!({"data": {"values": {"job_title": []}}}),
        400,
    )
    .await;
    w.patch(
        "/v2/objects/people/attributes/job_title",
        json!({"data": {"is_required": false}}),
        200,
    )
    .await;
    let history = w
        .get(
            &format!("{ada_path}/attributes/job_title/values?show_historic=true"),
            200,
        )
        .await;
    assert_eq!(
        history["data"].as_array().map(Vec::len),
        Some(3),
        "{history}"
    );
    w.get(
        &format!("{ada_path}/attributes/job_title/values?show_historic=maybe"),
        400,
    )
    .await;
    w.get(&format!("{ada_path}/attributes/nope/values"), 404)
        .await;
    let people = w
        .post("/v2/objects/people/records/query", json!({}), 200)
        .await;
    let person = text(&people["data"][0]["id"]["record_id"]);
    w.get(&format!("/v2/objects/people/records/{person}/entries"), 200)
        .await;

    // Lists and entries.
    let list_body = |slug: &str| {
        json!({"data": {"name": slug, "api_slug": slug, "parent_object": "people",
                        "workspace_access": "full-access", "workspace_member_access": []}})
    };
    w.post("/v2/lists", list_body("walk"), 200).await;
    w.post("/v2/lists", list_body("walk"), 409).await;
    w.post(
        "/v2/lists",
        json!({"data": {"name": "x", "api_slug": "x", "parent_object": "deals",
        "workspace_access": "full-access", "workspace_member_access": []}}),
        404,
    )
    .await;
    w.post("/v2/lists", json!({"data": {"name": "x", "api_slug": "y", "parent_object": "people",
        "workspace_access": "full-access", "workspace_member_access": [{"workspace_member_id": missing, "level": "read-and-write"}]}}), 400).await;
    w.patch("/v2/lists/walk", json!({"data": {"workspace_member_access": [{"workspace_member_id": missing, "level": "read-and-write"}]}}), 400).await;
    w.get("/v2/lists/walk", 200).await;
    w.get("/v2/lists/nope", 404).await;
    w.patch("/v2/lists/walk", json!({"data": {"name": "Walk"}}), 200)
        .await;
    w.patch("/v2/lists/nope", json!({"data": {"name": "x"}}), 404)
        .await;
    w.post("/v2/lists/walk/attributes", attribute("note", "text"), 200)
        .await;
    let entry_body = |record: &str, note: &str| json!({"data": {"parent_record_id": record, "parent_object": "people", "entry_values": {"note": note}}});
    let entry = w
        .post("/v2/lists/walk/entries", entry_body(&ada_id, "first"), 200)
        .await;
    let entry_id = text(&entry["data"]["id"]["entry_id"]);
    w.post(
        "/v2/lists/walk/entries",
        entry_body(&missing.to_string(), "x"),
        400,
    )
    .await;
    w.post("/v2/lists/nope/entries", entry_body(&ada_id, "x"), 404)
        .await;
    let asserted = w
        .put("/v2/lists/walk/entries", entry_body(&ada_id, "second"), 200)
        .await;
    assert_eq!(
        text(&asserted["data"]["id"]["entry_id"]),
        entry_id,
        "assert found the entry"
    );
    w.post("/v2/lists/walk/entries", entry_body(&ada_id, "again"), 200)
        .await;
    w.put("/v2/lists/walk/entries", entry_body(&ada_id, "third"), 400)
        .await;
    w.put("/v2/lists/nope/entries", entry_body(&ada_id, "x"), 404)
        .await;
    w.post(
        "/v2/lists/walk/entries/query",
        json!({"filter": {"note": "second"}, "sorts": [{"direction": "asc", "attribute": "note"}]}),
        200,
    )
    .await;
    w.post("/v2/lists/nope/entries/query", json!({}), 404).await;
    let entry_path = format!("/v2/lists/walk/entries/{entry_id}");
    w.get(&entry_path, 200).await;
    w.get(&format!("/v2/lists/walk/entries/{missing}"), 404)
        .await;
    w.patch(
        &entry_path,
        json!({"data": {"entry_values": {"note": "patched"}}}),
        200,
    )
    .await;
    w.patch(
        &format!("/v2/lists/walk/entries/{missing}"),
        json!({"data": {"entry_values": {}}}),
        404,
    )
    .await;
    w.patch(
        &entry_path,
        json!({"data": {"entry_values": {"nope": "x"}}}),
        400,
    )
    .await;
    w.put(
        &entry_path,
        json!({"data": {"entry_values": {"nope": "x"}}}),
        400,
    )
    .await;
    w.patch(
        &entry_path,
        json!({"data": {"parent_record_id": person, "entry_values": {}}}),
        400,
    )
    .await;
    w.put(
        &entry_path,
        json!({"data": {"parent_object": "companies", "entry_values": {}}}),
        400,
    )
    .await;
    w.put(
        &entry_path,
        json!({"data": {"entry_values": {"note": "put"}}}),
        200,
    )
    .await;
    w.put(
        &format!("/v2/lists/walk/entries/{missing}"),
        json!({"data": {"entry_values": {}}}),
        404,
    )
    .await;
    let values = w
        .get(
            &format!("{entry_path}/attributes/note/values?show_historic=true"),
            200,
        )
        .await;
    assert_eq!(values["data"].as_array().map(Vec::len), Some(4), "{values}");
    w.get(&format!("{entry_path}/attributes/nope/values"), 404)
        .await;
    w.get(&format!("{ada_path}/entries"), 200).await;
    w.delete(&entry_path, 200).await;
    w.delete(&entry_path, 404).await;

    // Workspace members.
    let members = w.get("/v2/workspace_members", 200).await;
    let member = text(&members["data"][0]["id"]["workspace_member_id"]);
    w.get(&format!("/v2/workspace_members/{member}"), 200).await;
    w.get(&format!("/v2/workspace_members/{missing}"), 404)
        .await;

    // Notes.
    w.get("/v2/notes", 200).await;
    w.get(
        "/v2/notes?parent_object=deals&parent_record_id=00000000-0000-0000-0000-000000000000",
        404,
    )
    .await;
    let note = w
        .post(
            "/v2/notes",
            json!({"data": {"parent_object": "people", "parent_record_id": ada_id,
            "title": "Met", "format": "plaintext", "content": "Hello"}}),
            200,
        )
        .await;
    w.post(
        "/v2/notes",
        json!({"data": {"parent_object": "deals", "parent_record_id": ada_id,
        "title": "x", "format": "plaintext", "content": "x"}}),
        404,
    )
    .await;
    let note_path = format!("/v2/notes/{}", text(&note["data"]["id"]["note_id"]));
    w.get(&note_path, 200).await;
    w.get(&format!("/v2/notes/{missing}"), 404).await;

    // Tasks.
    w.get("/v2/tasks", 200).await;
    let task = w
        .post(
            "/v2/tasks",
            json!({"data": {"content": "Call Ada", "format": "plaintext",
            "deadline_at": null, "is_completed": false, "linked_records": [], "assignees": []}}),
            200,
        )
        .await;
    w.post("/v2/tasks", json!({"data": {"content": "x", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [{"target_object": "people", "target_record_id": missing}], "assignees": []}}), 400).await;
    w.post("/v2/tasks", json!({"data": {"content": "x", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [{"target_object": "deals", "target_record_id": missing}], "assignees": []}}), 404).await;
    let task_path = format!("/v2/tasks/{}", text(&task["data"]["id"]["task_id"]));
    w.get(&task_path, 200).await;
    w.get(&format!("/v2/tasks/{missing}"), 404).await;
    w.patch(&task_path, json!({"data": {"is_completed": true}}), 200)
        .await;
    w.patch(&task_path, json!({"data": {"is_completed": "yes"}}), 400)
        .await;
    w.patch(
        &format!("/v2/tasks/{missing}"),
        json!({"data": {"is_completed": true}}),
        404,
    )
    .await;
    w.delete(&task_path, 200).await;
    w.delete(&task_path, 404).await;

    // Comments and threads.
    let author = json!({"type": "workspace-member", "id": member});
    let comment = w
        .post(
            "/v2/comments",
            json!({"data": {"format": "plaintext", "content": "Nice",
            "author": author, "record": {"object": "people", "record_id": ada_id}}}),
            200,
        )
        .await;
    w.post(
        "/v2/comments",
        json!({"data": {"format": "plaintext", "content": "x",
        "author": author, "thread_id": missing}}),
        400,
    )
    .await;
    let thread = text(&comment["data"]["thread_id"]);
    w.get(&format!("/v2/threads/{thread}"), 200).await;
    w.get(&format!("/v2/threads/{missing}"), 404).await;
    w.get(
        &format!("/v2/threads?object=people&record_id={ada_id}"),
        200,
    )
    .await;
    w.get("/v2/threads?list=sales-pipeline&limit=5&offset=0", 400)
        .await;
    let comment_path = format!(
        "/v2/comments/{}",
        text(&comment["data"]["id"]["comment_id"])
    );
    w.get(&comment_path, 200).await;
    w.get(&format!("/v2/comments/{missing}"), 404).await;
    w.delete(&comment_path, 200).await;
    w.delete(&comment_path, 404).await;

    // Meetings and call recordings.
    let meetings = w.get("/v2/meetings", 200).await;
    let meeting = text(&meetings["data"][0]["id"]["meeting_id"]);
    w.get(&format!("/v2/meetings/{meeting}"), 200).await;
    w.get(&format!("/v2/meetings/{missing}"), 404).await;
    let recordings = format!("/v2/meetings/{meeting}/call_recordings");
    let recording = w
        .post(
            &recordings,
            json!({"data": {"video_url": "https://example.com/call.mp4"}}),
            200,
        )
        .await;
    w.post(&recordings, json!({"data": {"video_url": 5}}), 400)
        .await;
    w.post(
        &format!("/v2/meetings/{missing}/call_recordings"),
        json!({"data": {"video_url": "https://example.com/a.mp4"}}),
        404,
    )
    .await;
    let recording_id = text(&recording["data"]["id"]["call_recording_id"]);
    w.get(&format!("{recordings}/{recording_id}"), 200).await;
    w.get(&format!("{recordings}/{missing}"), 404).await;
    w.get(&format!("{recordings}?limit=1"), 200).await;
    w.get(&format!("{recordings}/{recording_id}/transcript"), 200)
        .await;
    w.delete(&format!("{recordings}/{recording_id}"), 204).await;
    w.delete(&format!("{recordings}/{recording_id}"), 404).await;
    let meeting_body = json!({"data": {"title": "Walk", "description": "",
        "start": {"datetime": "2027-01-01T10:00:00Z", "timezone": null},
        "end": {"datetime": "2027-01-01T11:00:00Z", "timezone": null}, "is_all_day": false,
        "participants": [{"email_address": "walk@example.test", "is_organizer": true,
                          "status": "accepted"}],
        "external_ref": "walk"}});
    w.post("/v2/meetings", meeting_body, 200).await;
    w.post("/v2/meetings", json!({"data": {"title": "No more"}}), 400)
        .await;

    // SCIM.
    w.get("/scim/v2/Schemas", 200).await;

    // Webhooks.
    w.get("/v2/webhooks", 200).await;
    let webhook = w
        .post(
            "/v2/webhooks",
            json!({"data": {"target_url": "https://example.com/hook",
            "subscriptions": [{"event_type": "task.created", "filter": null}]}}),
            200,
        )
        .await;
    w.post(
        "/v2/webhooks",
        json!({"data": {"target_url": "https://example.com/hook",
        "subscriptions": [{"event_type": "nonsense", "filter": null}]}}),
        400,
    )
    .await;
    let webhook_path = format!(
        "/v2/webhooks/{}",
        text(&webhook["data"]["id"]["webhook_id"])
    );
    w.get(&webhook_path, 200).await;
    w.get(&format!("/v2/webhooks/{missing}"), 404).await;
    w.patch(
        &webhook_path,
        json!({"data": {"target_url": "https://example.com/other"}}),
        200,
    )
    .await;
    w.patch(
        &format!("/v2/webhooks/{missing}"),
        json!({"data": {"target_url": "https://example.com/x"}}),
        404,
    )
    .await;
    w.delete(&webhook_path, 200).await;
    w.delete(&webhook_path, 404).await;

    // Deleting what the walk made.
    w.delete(&note_path, 200).await;
    w.delete(&note_path, 404).await;
    w.delete(&ada_path, 200).await;
    w.delete(&ada_path, 404).await;

    // Meta.
    w.get("/v2/self", 200).await;

    let served: Vec<&schema::Operation> = document
        .operations
        .iter()
        .filter(|op| {
            w.seen
                .get(&op.name())
                .is_some_and(|statuses| statuses.iter().any(|s| (200..300).contains(s)))
        })
        .collect();
    println!(
        "operations served {} of {}, answers valid {} of {}",
        served.len(),
        document.operations.len(),
        w.valid,
        w.answers
    );
    for op in &document.operations {
        let seen = w.seen.get(&op.name()).cloned().unwrap_or_default();
        let untried: Vec<u16> = op.statuses().filter(|s| !seen.contains(s)).collect();
        if !untried.is_empty() {
            println!(
                "  {}: documented answers not exercised: {untried:?}",
                op.name()
            );
        }
    }
    assert!(
        w.problems.is_empty(),
        "{} problems:\n{}",
        w.problems.len(),
        w.problems.join("\n")
    );
    assert!(
        served.len() >= SERVED_AT_LEAST,
        "only {} operations served",
        served.len()
    );
}
