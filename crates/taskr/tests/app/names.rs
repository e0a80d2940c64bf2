//! Names instead of ids, end to end against the sandbox: linked records by name and linked into
//! Attio, following renames, merges and deletions (live and through reconciliation), and the
//! feed telling each of the 27 event types in words, with its filters.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use taskr::store::WorkspaceId;
use uuid::Uuid;

use crate::helpers::{wait_until, TestApp, TestOptions};

/// A call to the sandbox's API with `key`; the answer must be a success.
async fn call(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = Client::new()
        .request(method.clone(), format!("{}{path}", app.sandbox.base_url()))
        .bearer_auth(key);
    if let Some(body) = &body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A sandbox control (`/_sandbox/...`): no token; the body may name the acting member.
async fn control(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let response = Client::new()
        .request(method.clone(), format!("{}{path}", app.sandbox.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The record id of the company or person called `name` in the sandbox's first workspace.
async fn record_named(app: &TestApp, key: &str, object: &str, name: &str) -> Uuid {
    let found = call(
        app,
        key,
        Method::POST,
        &format!("/v2/objects/{object}/records/query"),
        Some(json!({"filter": {"name": name}})),
    )
    .await;
    found["data"][0]["id"]["record_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {object}: {found}"))
        .parse()
        .unwrap()
}

async fn settle_and_drain(app: &TestApp) {
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
}

/// The linked-record chips of the tasks page, as (text, link) in page order.
fn chips(html: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("class=\"chip record") {
        let start = rest[..at].rfind('<').unwrap();
        let tag_end = at + rest[at..].find('>').unwrap();
        let tag = &rest[start..tag_end];
        let href = tag
            .split("href=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .map(|h| h.replace("&#38;", "&"));
        let close = if tag.starts_with("<a") {
            "</a>"
        } else {
            "</span>"
        };
        let body_end = tag_end + rest[tag_end..].find(close).unwrap();
        out.push((text_of(&rest[tag_end + 1..body_end]), href));
        rest = &rest[body_end..];
    }
    out
}

/// Text without tags, with askama's escapes undone.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// The sentences of a feed page, newest first.
fn sentences(html: &str) -> Vec<String> {
    html.split("<td class=\"sentence\"")
        .skip(1)
        .map(|cell| {
            text_of(
                cell.split_once('>')
                    .unwrap()
                    .1
                    .split("</td>")
                    .next()
                    .unwrap(),
            )
        })
        .collect()
}

async fn connected(options: TestOptions) -> (TestApp, Client) {
    let app = TestApp::spawn_with(options).await;
    let browser = app.user("namer").await;
    app.connect(&browser).await;
    (app, browser)
}

#[tokio::test]
async fn linked_records_show_by_name_and_noun_and_link_to_the_record_in_attio() {
    let (app, browser) = connected(TestOptions::default()).await;
    let key = app.api_key();
    let initech = record_named(&app, &key, "companies", "Initech").await;
    let lucas = record_named(&app, &key, "people", "Lucas Ferreira").await;
    let page = app.page(&browser, "/tasks").await;
    let chips = chips(&page);
    let sandbox = app.sandbox.base_url();
    let initech_link = format!("{sandbox}/acme-demo/companies/{initech}");
    assert!(
        chips.contains(&("Initech · Company".into(), Some(initech_link.clone()))),
        "{chips:?}"
    );
    assert!(
        chips.contains(&(
            "Lucas Ferreira · Person".into(),
            Some(format!("{sandbox}/acme-demo/people/{lucas}"))
        )),
        "{chips:?}"
    );
    assert!(
        chips.iter().all(|(_, href)| href.is_some()),
        "every linked record was read with the backfill: {chips:?}"
    );
    // The link works against the sandbox, as Attio's web app would show the record.
    let record_page = Client::new().get(&initech_link).send().await.unwrap();
    assert_eq!(record_page.status(), StatusCode::OK);
    assert!(record_page.text().await.unwrap().contains("Initech"));
    // Kept with the tasks, for a search by record name: one row per link.
    let workspace = app.sandbox.sandbox.workspace_id();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM task_records l JOIN records r
               ON r.workspace_id = l.workspace_id AND r.record_id = l.record_id
             WHERE l.workspace_id = '{workspace}' AND r.name = 'Initech'"
        ))
        .await,
        chips
            .iter()
            .filter(|(label, _)| label == "Initech · Company")
            .count() as i64
    );
}

#[tokio::test]
async fn a_record_renamed_in_attio_is_renamed_on_an_open_tasks_page() {
    let (app, browser) = connected(TestOptions::default()).await;
    let key = app.api_key();
    let initech = record_named(&app, &key, "companies", "Initech").await;
    // A page view keeps the page in the read model; the rename must drop it.
    assert!(app
        .page(&browser, "/tasks")
        .await
        .contains("Initech · Company"));
    let mut live = crate::helpers::LiveStream::open(&app, &browser).await;
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/objects/companies/records/{initech}"),
        Some(json!({"data": {"values": {"name": "Initrode"}}})),
    )
    .await;
    live.expect("tasks").await;
    wait_until(
        "the new name on the page",
        Duration::from_secs(15),
        || async {
            app.page(&browser, "/tasks")
                .await
                .contains("Initrode · Company")
        },
    )
    .await;
    assert!(!app
        .page(&browser, "/tasks")
        .await
        .contains("Initech · Company"));
}

#[tokio::test]
async fn a_record_deleted_in_attio_is_shown_as_deleted_without_a_link() {
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let key = app.api_key();
    let initech = record_named(&app, &key, "companies", "Initech").await;
    call(
        &app,
        &key,
        Method::DELETE,
        &format!("/v2/objects/companies/records/{initech}"),
        None,
    )
    .await;
    settle_and_drain(&app).await;
    let chips = chips(&app.page(&browser, "/tasks").await);
    assert!(
        chips.contains(&("Initech · Company (deleted in Attio)".into(), None)),
        "{chips:?}"
    );
    assert!(chips
        .iter()
        .all(|(label, href)| !label.starts_with("Initech") || href.is_none()));
    let feed = sentences(&app.page(&browser, "/activity?family=record").await);
    assert_eq!(feed[0], "An API token deleted Initech · Company");
}

#[tokio::test]
async fn a_merge_points_cached_tasks_at_the_surviving_record() {
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let key = app.api_key();
    let workspace = WorkspaceId(app.sandbox.sandbox.workspace_id());
    let lucas = record_named(&app, &key, "people", "Lucas Ferreira").await;
    let tom = record_named(&app, &key, "people", "Tom Becker").await;
    let linking = |record: Uuid| {
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT COUNT(*) FROM task_records WHERE workspace_id = '{workspace}' AND record_id = '{record}'"
            ))
            .await
        }
    };
    let (with_lucas, with_tom) = (linking(lucas).await, linking(tom).await);
    assert!(with_lucas > 0 && with_tom > 0, "the seed links both");
    let merged = control(
        &app,
        Method::POST,
        "/_sandbox/records/merge",
        json!({"object": "people", "record_id": lucas, "duplicate_record_id": tom}),
    )
    .await;
    let survivor: Uuid = merged["data"]["id"]["record_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    settle_and_drain(&app).await;
    // The sandbox re-points its tasks without task events: Taskr's cache follows the merge.
    assert_eq!(linking(lucas).await, 0);
    assert_eq!(linking(tom).await, 0);
    assert_eq!(linking(survivor).await, with_lucas + with_tom);
    let tasks = app
        .state
        .store
        .tasks(
            workspace,
            &taskr::store::TaskQuery {
                filter: taskr::store::TaskFilter::All,
                search: None,
                sort: Default::default(),
                limit: 100,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .tasks;
    let links: Vec<Uuid> = tasks
        .iter()
        .flat_map(|t| t.linked_records.iter().map(|l| l.target_record_id))
        .collect();
    assert!(!links.contains(&lucas) && !links.contains(&tom));
    assert_eq!(
        links.iter().filter(|id| **id == survivor).count() as i64,
        with_lucas + with_tom
    );
    let sandbox = app.sandbox.base_url();
    let chips = chips(&app.page(&browser, "/tasks").await);
    let survivor_link = Some(format!("{sandbox}/acme-demo/people/{survivor}"));
    assert_eq!(
        chips
            .iter()
            .filter(|(_, href)| *href == survivor_link)
            .count() as i64,
        with_lucas + with_tom,
        "{chips:?}"
    );
    assert!(chips
        .iter()
        .any(|c| *c == ("Lucas Ferreira · Person".to_owned(), survivor_link.clone())));
    let feed = sentences(&app.page(&browser, "/activity?type=record.merged").await);
    assert_eq!(
        feed,
        vec![
            "Attio merged Tom Becker · Person into Lucas Ferreira · Person",
            "Attio merged Lucas Ferreira · Person into Lucas Ferreira · Person",
        ]
    );
}

#[tokio::test]
async fn reconciliation_catches_a_rename_made_while_webhooks_were_off() {
    let (app, browser) = connected(TestOptions::default()).await;
    let workspace = WorkspaceId(app.sandbox.sandbox.workspace_id());
    let webhook = app
        .state
        .store
        .webhook_for_workspace(workspace)
        .await
        .unwrap()
        .unwrap();
    let link = app
        .state
        .store
        .active_links(workspace)
        .await
        .unwrap()
        .remove(0);
    app.state
        .sync
        .attio
        .client(taskr::attio_gateway::open_token(&app.state.cipher, &link).unwrap())
        .delete_webhook(webhook.webhook_id)
        .await
        .unwrap();
    let key = app.api_key();
    let initech = record_named(&app, &key, "companies", "Initech").await;
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/objects/companies/records/{initech}"),
        Some(json!({"data": {"values": {"name": "Initrode"}}})),
    )
    .await;
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    assert!(
        app.page(&browser, "/tasks")
            .await
            .contains("Initech · Company"),
        "not delivered: no webhook"
    );
    taskr::sync::reconcile_all(&app.state.sync).await.unwrap();
    let page = app.page(&browser, "/tasks").await;
    assert!(page.contains("Initrode · Company"), "{page}");
    assert!(!page.contains("Initech · Company"));
}

/// One change in the sandbox and the sentence the feed must say for its newest event of
/// `event_type`.
struct Step {
    event_type: &'static str,
    sentence: String,
}

#[tokio::test]
async fn each_of_the_27_event_types_is_told_in_its_own_sentence_with_names() {
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    settle_and_drain(&app).await;
    let key = app.api_key();
    let alice = app.sandbox.sandbox.admin_member_id();
    let mut told = std::collections::BTreeSet::new();
    let check = |step: Step| {
        let (app, browser) = (&app, &browser);
        async move {
            settle_and_drain(app).await;
            let feed = app
                .page(browser, &format!("/activity?type={}", step.event_type))
                .await;
            let said = sentences(&feed);
            assert_eq!(
                said.first().map(String::as_str),
                Some(step.sentence.as_str()),
                "{}: {said:?}",
                step.event_type
            );
            step.event_type
        }
    };
    let step = |event_type, sentence: &str| Step {
        event_type,
        sentence: sentence.to_owned(),
    };
    let person = |first: &str, last: &str, email: &str| {
        json!({"data": {"values": {
            "name": [{"first_name": first, "last_name": last, "full_name": format!("{first} {last}")}],
            "email_addresses": [email]
        }}})
    };
    let post = |path: &'static str, body: Value| {
        let (app, key) = (&app, &key);
        async move { call(app, key, Method::POST, path, Some(body)).await }
    };
    let id_of = |value: &Value, key: &str| value["data"]["id"][key].as_str().unwrap().to_owned();

    // Records.
    let ada = post(
        "/v2/objects/people/records",
        person("Ada", "Lovelace", "ada@walk.test"),
    )
    .await;
    let ada = id_of(&ada, "record_id");
    told.insert(
        check(step(
            "record.created",
            "An API token created Ada Lovelace · Person",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/objects/people/records/{ada}"),
        Some(json!({"data": {"values": {"job_title": "Analyst"}}})),
    )
    .await;
    told.insert(
        check(step(
            "record.updated",
            "An API token updated Ada Lovelace · Person",
        ))
        .await,
    );
    let grace = post(
        "/v2/objects/people/records",
        person("Grace", "Hopper", "grace@walk.test"),
    )
    .await;
    settle_and_drain(&app).await;
    call(
        &app,
        &key,
        Method::DELETE,
        &format!("/v2/objects/people/records/{}", id_of(&grace, "record_id")),
        None,
    )
    .await;
    told.insert(
        check(step(
            "record.deleted",
            "An API token deleted Grace Hopper · Person",
        ))
        .await,
    );
    let second = post(
        "/v2/objects/people/records",
        person("Ada", "L.", "ada.l@walk.test"),
    )
    .await;
    settle_and_drain(&app).await;
    let merged = post(
        "/v2/objects/people/records/merge",
        json!({"data": {
        "primary_record_id": ada, "secondary_record_id": id_of(&second, "record_id")}}),
    )
    .await;
    let ada = merged["data"]["new_record_id"].as_str().unwrap().to_owned();
    told.insert(
        check(step(
            "record.merged",
            "An API token merged Ada L. · Person into Ada Lovelace · Person",
        ))
        .await,
    );

    // Notes.
    let note = post(
        "/v2/notes",
        json!({"data": {"parent_object": "people", "parent_record_id": ada,
        "title": "Kick-off", "format": "plaintext", "content": "Agenda"}}),
    )
    .await;
    let note = id_of(&note, "note_id");
    told.insert(
        check(step(
            "note.created",
            "An API token created note “Kick-off” on Ada Lovelace",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/notes/{note}"),
        Some(json!({"data": {"title": "Kick-off call"}})),
    )
    .await;
    told.insert(
        check(step(
            "note.updated",
            "An API token retitled note “Kick-off call” on Ada Lovelace",
        ))
        .await,
    );
    control(
        &app,
        Method::PATCH,
        &format!("/_sandbox/notes/{note}"),
        json!({"content": "New agenda", "actor_member_id": alice}),
    )
    .await;
    told.insert(
        check(step(
            "note-content.updated",
            "Alice Moreau edited note “Kick-off call” on Ada Lovelace",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::DELETE,
        &format!("/v2/notes/{note}"),
        None,
    )
    .await;
    told.insert(
        check(step(
            "note.deleted",
            "An API token deleted note “Kick-off call” from Ada Lovelace",
        ))
        .await,
    );

    // Comments.
    let comment = post(
        "/v2/comments",
        json!({"data": {"format": "plaintext", "content": "Nice",
        "author": {"type": "workspace-member", "id": alice},
        "record": {"object": "people", "record_id": ada}}}),
    )
    .await;
    let comment = id_of(&comment, "comment_id");
    told.insert(
        check(step(
            "comment.created",
            "An API token commented on Ada Lovelace",
        ))
        .await,
    );
    for (action, event_type, verb) in [
        ("resolve", "comment.resolved", "resolved"),
        ("unresolve", "comment.unresolved", "reopened"),
    ] {
        control(
            &app,
            Method::POST,
            &format!("/_sandbox/comments/{comment}/{action}"),
            json!({"actor_member_id": alice}),
        )
        .await;
        told.insert(
            check(step(
                event_type,
                &format!("Alice Moreau {verb} a comment on Ada Lovelace"),
            ))
            .await,
        );
    }
    call(
        &app,
        &key,
        Method::DELETE,
        &format!("/v2/comments/{comment}"),
        None,
    )
    .await;
    told.insert(
        check(step(
            "comment.deleted",
            "An API token deleted a comment on Ada Lovelace",
        ))
        .await,
    );

    // Lists, their attributes and entries.
    post(
        "/v2/lists",
        json!({"data": {"name": "Q3 pipeline", "api_slug": "q3_pipeline",
        "parent_object": "people", "workspace_access": "full-access",
        "workspace_member_access": []}}),
    )
    .await;
    told.insert(
        check(step(
            "list.created",
            "An API token created list “Q3 pipeline”",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::PATCH,
        "/v2/lists/q3_pipeline",
        Some(json!({"data": {"name": "Q3 pipeline (EMEA)"}})),
    )
    .await;
    told.insert(
        check(step(
            "list.updated",
            "An API token updated list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );
    let attribute = |title: &str| {
        json!({"data": {"title": title, "description": null,
        "api_slug": "stage_note", "type": "text", "is_required": false, "is_unique": false,
        "is_multiselect": false, "config": {}}})
    };
    post("/v2/lists/q3_pipeline/attributes", attribute("Stage note")).await;
    told.insert(
        check(step(
            "list-attribute.created",
            "An API token added attribute “Stage note” to list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::PATCH,
        "/v2/lists/q3_pipeline/attributes/stage_note",
        Some(json!({"data": {"title": "Stage notes"}})),
    )
    .await;
    told.insert(
        check(step(
            "list-attribute.updated",
            "An API token updated attribute “Stage notes” of list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );
    let entry = post(
        "/v2/lists/q3_pipeline/entries",
        json!({"data": {"parent_record_id": ada,
        "parent_object": "people", "entry_values": {}}}),
    )
    .await;
    let entry = id_of(&entry, "entry_id");
    told.insert(
        check(step(
            "list-entry.created",
            "An API token added Ada Lovelace to list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/lists/q3_pipeline/entries/{entry}"),
        Some(json!({"data": {"entry_values": {"stage_note": "hot"}}})),
    )
    .await;
    told.insert(
        check(step(
            "list-entry.updated",
            "An API token updated Ada Lovelace in list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::DELETE,
        &format!("/v2/lists/q3_pipeline/entries/{entry}"),
        None,
    )
    .await;
    told.insert(
        check(step(
            "list-entry.deleted",
            "An API token removed Ada Lovelace from list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );
    control(
        &app,
        Method::DELETE,
        "/_sandbox/lists/q3_pipeline",
        json!({"actor_member_id": alice}),
    )
    .await;
    told.insert(
        check(step(
            "list.deleted",
            "Alice Moreau deleted list “Q3 pipeline (EMEA)”",
        ))
        .await,
    );

    // Object attributes.
    let attribute = json!({"data": {"title": "Favourite colour", "description": null,
        "api_slug": "favourite_colour", "type": "text", "is_required": false, "is_unique": false,
        "is_multiselect": false, "config": {}}});
    post("/v2/objects/people/attributes", attribute).await;
    told.insert(
        check(step(
            "object-attribute.created",
            "An API token added attribute “Favourite colour” to People",
        ))
        .await,
    );
    call(
        &app,
        &key,
        Method::PATCH,
        "/v2/objects/people/attributes/favourite_colour",
        Some(json!({"data": {"title": "Favourite color"}})),
    )
    .await;
    told.insert(
        check(step(
            "object-attribute.updated",
            "An API token updated attribute “Favourite color” of People",
        ))
        .await,
    );

    // Tasks.
    let task = post(
        "/v2/tasks",
        json!({"data": {"content": "Call Ada", "format": "plaintext",
        "deadline_at": null, "is_completed": false, "linked_records": [], "assignees": []}}),
    )
    .await;
    let task = id_of(&task, "task_id");
    told.insert(check(step("task.created", "An API token created task “Call Ada”")).await);
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/tasks/{task}"),
        Some(json!({"data": {"is_completed": true}})),
    )
    .await;
    told.insert(check(step("task.updated", "An API token updated task “Call Ada”")).await);
    call(
        &app,
        &key,
        Method::DELETE,
        &format!("/v2/tasks/{task}"),
        None,
    )
    .await;
    told.insert(check(step("task.deleted", "An API token deleted task “Call Ada”")).await);

    // Members and call recordings.
    control(
        &app,
        Method::POST,
        "/_sandbox/members",
        json!({"first_name": "Sam",
        "last_name": "Walker", "email_address": "sam.walker@acme-demo.test",
        "actor_member_id": alice}),
    )
    .await;
    told.insert(
        check(step(
            "workspace-member.created",
            "Alice Moreau added Sam Walker to the workspace",
        ))
        .await,
    );
    let meetings = call(&app, &key, Method::GET, "/v2/meetings?limit=1", None).await;
    let meeting = &meetings["data"][0];
    control(
        &app,
        Method::POST,
        "/_sandbox/call-recordings",
        json!({
        "meeting_id": meeting["id"]["meeting_id"], "actor_member_id": alice}),
    )
    .await;
    told.insert(
        check(step(
            "call-recording.created",
            &format!(
                "Call recording of “{}” is ready",
                meeting["title"].as_str().unwrap()
            ),
        ))
        .await,
    );

    let every: std::collections::BTreeSet<&str> =
        attio::EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        told.iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        every
    );

    // Names are resolved when the feed is shown: the note's creation now says it is deleted.
    let notes = sentences(&app.page(&browser, "/activity?type=note.created").await);
    assert_eq!(
        notes[0],
        "An API token created note “Kick-off call” (deleted) on Ada Lovelace"
    );
}

#[tokio::test]
async fn the_feed_filters_by_family_and_by_member_and_keeps_them_in_the_url() {
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let alice = app.sandbox.sandbox.admin_member_id();
    for event_type in [
        "note.created",
        "task.created",
        "list.created",
        "note.updated",
    ] {
        app.sandbox.sandbox.trigger(event_type).unwrap();
    }
    app.create_task("Made with a token").await;
    settle_and_drain(&app).await;

    let notes = sentences(&app.page(&browser, "/activity?family=note").await);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.iter().all(|s| s.contains(" note ")), "{notes:?}");
    let by_alice = sentences(
        &app.page(&browser, &format!("/activity?member={alice}"))
            .await,
    );
    assert_eq!(by_alice.len(), 4, "{by_alice:?}");
    assert!(by_alice.iter().all(|s| s.starts_with("Alice Moreau ")));
    let both = app
        .page(&browser, &format!("/activity?family=task&member={alice}"))
        .await;
    let tasks = sentences(&both);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert!(tasks[0].starts_with("Alice Moreau created task “Sandbox task"));
    // The form shows the filters it was given.
    assert!(both.contains("<option value=\"task\" selected>"), "{both}");
    assert!(both.contains(&format!("<option value=\"{alice}\" selected>Alice Moreau")));
    // Links from before the families still filter by one type.
    let old = sentences(&app.page(&browser, "/activity?type=note.updated").await);
    assert_eq!(old.len(), 1);
    for bad in ["/activity?family=notes", "/activity?member=alice"] {
        let response = app.get(&browser, bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_link_without_the_new_scopes_still_shows_the_feed_without_those_names() {
    let old_scopes = [
        "task:read",
        "user_management:read",
        "object_configuration:read",
        "record_permission:read",
        "webhook:read-write",
    ];
    let (app, browser) = connected(TestOptions {
        worker: false,
        app_scopes: old_scopes.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    })
    .await;
    let key = app.api_key();
    let lucas = record_named(&app, &key, "people", "Lucas Ferreira").await;
    let note = call(
        &app,
        &key,
        Method::POST,
        "/v2/notes",
        Some(json!({"data": {"parent_object": "people",
        "parent_record_id": lucas, "title": "Private", "format": "plaintext", "content": "x"}})),
    )
    .await;
    let note = note["data"]["id"]["note_id"].as_str().unwrap().to_owned();
    app.sandbox.sandbox.trigger("list.created").unwrap();
    settle_and_drain(&app).await;
    let lists = call(&app, &key, Method::GET, "/v2/lists", None).await;
    let list = lists["data"].as_array().unwrap().last().unwrap()["id"]["list_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed = sentences(&app.page(&browser, "/activity").await);
    assert!(
        feed.contains(&"Alice Moreau created a list".to_owned()),
        "{feed:?}"
    );
    assert!(
        feed.contains(&"An API token created a note on Lucas Ferreira".to_owned()),
        "{feed:?}"
    );
    assert_eq!(
        app.sandbox_requests_for(&format!("/v2/notes/{note}")).await
            + app.sandbox_requests_for(&format!("/v2/lists/{list}")).await,
        0,
        "nothing is asked that the link may not read"
    );
}

#[tokio::test]
async fn names_from_attio_are_escaped_on_the_tasks_page_and_in_the_feed() {
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let key = app.api_key();
    let initech = record_named(&app, &key, "companies", "Initech").await;
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/v2/objects/companies/records/{initech}"),
        Some(json!({"data": {"values": {"name": "<img src=x onerror=alert(1)>"}}})),
    )
    .await;
    settle_and_drain(&app).await;
    for path in ["/tasks", "/activity"] {
        let html = app.page(&browser, path).await;
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{path}: {html}"
        );
        assert!(!html.contains("<img src=x"), "{path}");
    }
}
