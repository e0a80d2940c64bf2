//! Changing tasks from Taskr: complete, reopen, assignees and deadline go to Attio, the cache
//! takes Attio's answer, the webhook that follows changes nothing more; without the write
//! scope the controls are absent; Attio's failures are told and change nothing.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::forms::form_value;
use crate::helpers::{location, TestApp, TestOptions};

/// An app whose inbox the test drains itself, so that "the cache took Attio's answer" is seen
/// before any webhook is applied.
async fn app_without_worker(scopes: Option<Vec<String>>) -> (TestApp, Client) {
    let mut options = TestOptions {
        worker: false,
        ..Default::default()
    };
    if let Some(scopes) = scopes {
        options.app_scopes = scopes;
    }
    let app = TestApp::spawn_with(options).await;
    let client = app.user("tess").await;
    app.connect(&client).await;
    (app, client)
}

/// Creates a task at the sandbox and brings it into Taskr's cache with "Sync now".
async fn synced_task(app: &TestApp, client: &Client, content: &str) -> String {
    let task = app.create_task(content).await;
    let id = task["data"]["id"]["task_id"]
        .as_str()
        .expect("task id")
        .to_owned();
    let response = app.post_form(client, "/tasks/sync", &[]).await;
    assert_eq!(location(&response), "/tasks?notice=synced");
    id
}

async fn attio_task(app: &TestApp, id: &str) -> Value {
    app.sandbox_get(&format!("/v2/tasks/{id}"), &app.api_key())
        .await["data"]
        .clone()
}

/// The `<tr>` of a task on a page.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"task-{id}\""))
        .unwrap_or_else(|| panic!("task {id} is on the page"));
    let end = html[start..].find("</tr>").expect("row end") + start;
    &html[start..end]
}

fn row_is_done(html: &str, id: &str) -> bool {
    let start = html.find(&format!("id=\"task-{id}\"")).expect("row");
    html[..start]
        .rfind("<tr")
        .map(|open| &html[open..start])
        .unwrap_or_default()
        .contains("class=\"done\"")
}

async fn drain(app: &TestApp) {
    app.settle().await;
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
}

#[tokio::test]
async fn completing_and_reopening_goes_to_attio_and_the_following_webhook_changes_nothing() {
    let (app, client) = app_without_worker(None).await;
    let id = synced_task(&app, &client, "Send the Initech proposal").await;
    let page = app.page(&client, "/tasks?filter=open").await;
    assert!(!row_is_done(&page, &id));
    assert!(row(&page, &id).contains(&format!("formaction=\"/tasks/{id}/complete\"")));

    let response = app
        .post_form(
            &client,
            &format!("/tasks/{id}/complete"),
            &[("return_to", "/tasks?filter=all&q=initech")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/tasks?filter=all&q=initech&notice=task-completed",
        "back to the same view"
    );
    assert_eq!(
        attio_task(&app, &id).await["is_completed"],
        true,
        "Attio has it"
    );
    // No webhook applied yet: the page already shows Attio's answer.
    let page = app
        .page(&client, "/tasks?q=initech&notice=task-completed")
        .await;
    assert!(
        row_is_done(&page, &id),
        "struck through from Attio's answer"
    );
    assert!(page.contains("The task is completed in Attio."));
    assert!(row(&page, &id).contains(&format!("formaction=\"/tasks/{id}/reopen\"")));

    // The task.updated webhook that follows is applied without changing anything more.
    let cached = app
        .state
        .store
        .task(workspace_of(&app).await, id.parse().unwrap())
        .await
        .unwrap();
    drain(&app).await;
    let after = app
        .state
        .store
        .task(workspace_of(&app).await, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(cached, after, "the webhook's refetch is the same task");
    let pending: i64 = app
        .count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
        .await;
    assert_eq!(pending, 0, "the webhook was applied");

    let response = app
        .post_form(
            &client,
            &format!("/tasks/{id}/reopen"),
            &[("return_to", "/tasks")],
        )
        .await;
    assert_eq!(location(&response), "/tasks?notice=task-reopened");
    assert_eq!(attio_task(&app, &id).await["is_completed"], false);
    let page = app.page(&client, "/tasks").await;
    assert!(!row_is_done(&page, &id));

    // A return address elsewhere is not followed.
    let response = app
        .post_form(
            &client,
            &format!("/tasks/{id}/complete"),
            &[("return_to", "https://evil.example/tasks")],
        )
        .await;
    assert_eq!(location(&response), "/tasks?notice=task-completed");
}

async fn workspace_of(app: &TestApp) -> taskr::store::WorkspaceId {
    taskr::store::WorkspaceId(app.sandbox.sandbox.workspace_id())
}

#[tokio::test]
async fn the_edit_page_changes_assignees_and_deadline_in_the_users_time_zone() {
    let (app, client) = app_without_worker(None).await;
    let id = synced_task(&app, &client, "Call Lucas about the renewal").await;
    let response = app
        .post_form(&client, "/settings", &[("time_zone", "Asia/Tokyo")])
        .await;
    assert_eq!(location(&response), "/settings?notice=settings-saved");

    let edit = app
        .page(
            &client,
            &format!("/tasks/{id}/edit?return_to=%2Ftasks%3Fsort%3Ddeadline"),
        )
        .await;
    assert!(edit.contains("Call Lucas about the renewal"));
    assert!(edit.contains("in Asia/Tokyo"));
    assert_eq!(
        form_value(&edit, "return_to").as_deref(),
        Some("/tasks?sort=deadline")
    );
    let members = app
        .sandbox_get("/v2/workspace_members", &app.api_key())
        .await["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["access_level"] != "suspended")
        .map(|m| m["id"]["workspace_member_id"].as_str().unwrap().to_owned())
        .take(2)
        .collect::<Vec<_>>();
    assert_eq!(members.len(), 2, "the seed has two active members");
    for member in &members {
        assert!(
            edit.contains(&format!("value=\"{member}\"")),
            "member {member} offered"
        );
    }

    let mut fields = vec![
        ("return_to", "/tasks?sort=deadline"),
        ("orig_completed", "false"),
        ("orig_deadline", ""),
        ("orig_assignees", ""),
        ("deadline", "2031-03-15"),
    ];
    for member in &members {
        fields.push(("assignee", member));
    }
    let response = app
        .post_form(&client, &format!("/tasks/{id}/edit"), &fields)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/tasks?sort=deadline&notice=task-saved"
    );
    let task = attio_task(&app, &id).await;
    // Midnight in Tokyo on March 15 is 15:00 UTC on March 14.
    assert!(
        task["deadline_at"]
            .as_str()
            .unwrap()
            .starts_with("2031-03-14T15:00:00"),
        "{task}"
    );
    let mut assigned: Vec<String> = task["assignees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["referenced_actor_id"].as_str().unwrap().to_owned())
        .collect();
    assigned.sort();
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(assigned, expected);
    assert_eq!(
        task["is_completed"], false,
        "an unchanged field is not sent"
    );

    let page = app.page(&client, "/tasks?sort=deadline").await;
    let shown = row(&page, &id);
    assert!(shown.contains("datetime=\"2031-03-14T15:00:00"), "{shown}");
    assert!(shown.contains("on Mar 15, 2031"), "{shown}");

    // Only what changed is sent: someone else's completion in Attio meanwhile survives a
    // deadline change made from a form shown before it.
    reqwest::Client::new()
        .patch(format!("{}/v2/tasks/{id}", app.sandbox.base_url()))
        .bearer_auth(app.api_key())
        .json(&json!({"data": {"is_completed": true}}))
        .send()
        .await
        .unwrap();
    let assignees = members.join(",");
    let response = app
        .post_form(
            &client,
            &format!("/tasks/{id}/edit"),
            &[
                ("orig_completed", "false"),
                ("orig_deadline", "2031-03-15"),
                ("orig_assignees", &assignees),
                ("deadline", ""),
                ("assignee", &members[0]),
                ("assignee", &members[1]),
            ],
        )
        .await;
    assert_eq!(location(&response), "/tasks?notice=task-saved");
    let task = attio_task(&app, &id).await;
    assert_eq!(task["deadline_at"], Value::Null, "deadline cleared");
    assert_eq!(task["is_completed"], true, "the other change survives");

    // A bad date comes back on the form with the user's input, and nothing is sent.
    let response = app
        .post_form(
            &client,
            &format!("/tasks/{id}/edit"),
            &[("orig_completed", "true"), ("deadline", "next tuesday")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("is not a date"), "{html}");
    assert!(html.contains("value=\"next tuesday\""));
    assert_eq!(attio_task(&app, &id).await["is_completed"], true);
}

#[tokio::test]
async fn without_the_write_scope_there_are_no_controls_and_the_page_says_why() {
    let scopes: Vec<String> = taskr::app::ATTIO_SCOPES
        .iter()
        .map(|s| {
            if *s == "task:read-write" {
                "task:read"
            } else {
                s
            }
            .to_owned()
        })
        .collect();
    let (app, client) = app_without_worker(Some(scopes)).await;
    let id = synced_task(&app, &client, "Read-only task").await;
    let page = app.page(&client, "/tasks").await;
    assert!(
        page.contains("Tasks are read-only here"),
        "the page says why"
    );
    assert!(page.contains("task:read-write"));
    assert!(!page.contains("formaction="), "no buttons");
    assert!(!page.contains("/edit"), "no edit links");

    let response = app
        .post_form(&client, &format!("/tasks/{id}/complete"), &[])
        .await;
    assert_eq!(location(&response), "/tasks?notice=task-read-only");
    assert_eq!(attio_task(&app, &id).await["is_completed"], false);
    assert_eq!(
        app.get(&client, &format!("/tasks/{id}/edit"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let html = app.page(&client, "/tasks?notice=task-read-only").await;
    assert!(html.contains("lacks the task:read-write scope"));
}

#[tokio::test]
async fn attio_failures_are_told_in_words_and_change_nothing() {
    let (app, client) = app_without_worker(None).await;
    let id = synced_task(&app, &client, "Fragile task").await;
    let path = format!("/v2/tasks/{id}");
    let cases = [
        (
            json!({"error_rate": 1.0, "error_status": 403}),
            "task-denied",
            "403 Forbidden",
        ),
        (
            json!({"rate_limit_rate": 1.0, "retry_after_secs": 30}),
            "task-rate-limited",
            "429",
        ),
        (
            json!({"error_rate": 1.0, "error_status": 503}),
            "task-attio-error",
            "5xx",
        ),
        (
            json!({"drop_connection_rate": 1.0}),
            "task-unreachable",
            "could not be reached",
        ),
    ];
    for (mut rule, code, words) in cases {
        rule["path_prefix"] = json!(path);
        rule["times"] = json!(1);
        app.add_fault(rule).await;
        let response = app
            .post_form(
                &client,
                &format!("/tasks/{id}/complete"),
                &[("return_to", "/tasks")],
            )
            .await;
        assert_eq!(location(&response), format!("/tasks?notice={code}"));
        let page = app.page(&client, &format!("/tasks?notice={code}")).await;
        assert!(page.contains(words), "{code}: the page says {words}");
        assert!(!row_is_done(&page, &id), "{code}: the cache is unchanged");
        assert_eq!(
            attio_task(&app, &id).await["is_completed"],
            false,
            "{code}: Attio is unchanged"
        );
    }

    // On the edit page the failure comes back on the form, in words, with the input kept.
    app.add_fault(json!({"path_prefix": path, "error_rate": 1.0, "error_status": 502, "times": 1}))
        .await;
    let response = app
        .post_form(
            &client,
            &format!("/tasks/{id}/edit"),
            &[("orig_completed", "false"), ("deadline", "2030-01-02")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Attio had a problem (HTTP 502)"), "{html}");
    assert!(html.contains("value=\"2030-01-02\""));
    assert_eq!(attio_task(&app, &id).await["deadline_at"], Value::Null);

    // A task deleted in Attio meanwhile: the change says so and the task leaves the list.
    reqwest::Client::new()
        .delete(format!("{}{path}", app.sandbox.base_url()))
        .bearer_auth(app.api_key())
        .send()
        .await
        .unwrap();
    let response = app
        .post_form(&client, &format!("/tasks/{id}/complete"), &[])
        .await;
    assert_eq!(location(&response), "/tasks?notice=task-gone");
    let page = app.page(&client, "/tasks?notice=task-gone").await;
    assert!(page.contains("no longer exists in Attio"));
    assert!(
        !page.contains(&format!("task-{id}")),
        "removed from the cache"
    );
}

#[tokio::test]
async fn changing_someone_elses_task_ids_is_refused_cleanly() {
    let (app, client) = app_without_worker(None).await;
    for path in ["/tasks/not-a-uuid/complete", "/tasks/not-a-uuid/edit"] {
        let response = app.post_form(&client, path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // A well-formed id Taskr does not have cached: the edit page is a 404, not a call.
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        app.get(&client, &format!("/tasks/{unknown}/edit"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Signed out: sent to log in, nothing sent to Attio.
    let stranger = crate::helpers::browser();
    let response = app
        .post_form(&stranger, &format!("/tasks/{unknown}/complete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
}
