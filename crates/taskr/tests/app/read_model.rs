//! The read model (`taskr::read_model`): page views are served from memory, and every change
//! Taskr applies is on the very next view. Each test first loads the page twice (so that it is
//! served from a copy), makes one change through the path it names, waits until the change is
//! in the database (never for the page itself), and then loads the page once: a copy that was
//! not dropped would show the old page.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{browser, location, wait_until, LiveStream, TestApp, TestOptions};

async fn warmed(app: &TestApp, browser: &Client, path: &str) -> String {
    app.page(browser, path).await;
    app.page(browser, path).await
}

/// Waits until `sql` (a count) answers `expected` in Taskr's database.
async fn in_database(app: &TestApp, sql: &str, expected: i64) {
    wait_until(sql, Duration::from_secs(10), || async {
        app.count(sql).await == expected
    })
    .await;
}

fn tasks_like(content: &str) -> String {
    format!("SELECT COUNT(*) FROM tasks WHERE data LIKE '%{content}%'")
}

async fn connected(options: TestOptions) -> (TestApp, Client) {
    let app = TestApp::spawn_with(options).await;
    let browser = app.user("reader").await;
    app.connect(&browser).await;
    app.settle().await;
    (app, browser)
}

async fn patch_task(app: &TestApp, task_id: &str, data: serde_json::Value) {
    let response = Client::new()
        .patch(format!("{}/v2/tasks/{task_id}", app.sandbox.base_url()))
        .bearer_auth(app.api_key())
        .json(&json!({ "data": data }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "patch task in sandbox");
}

#[tokio::test]
async fn tasks_created_completed_and_deleted_at_attio_are_on_the_next_view_once_applied() {
    let (app, browser) = connected(TestOptions::default()).await;
    let before = warmed(&app, &browser, "/tasks?filter=open").await;
    assert!(!before.contains("Read model probe"));

    let task = app.create_task("Read model probe").await;
    let id = task["data"]["id"]["task_id"].as_str().unwrap().to_owned();
    in_database(&app, &tasks_like("Read model probe"), 1).await;
    assert!(
        app.page(&browser, "/tasks?filter=open")
            .await
            .contains("Read model probe"),
        "a created task is listed on the next view"
    );

    warmed(&app, &browser, "/tasks?filter=open").await;
    patch_task(&app, &id, json!({"is_completed": true})).await;
    in_database(
        &app,
        &format!(
            "SELECT COUNT(*) FROM tasks WHERE task_id = '{id}' AND is_completed = {}",
            if crate::database::is_postgres() {
                "TRUE"
            } else {
                "1"
            }
        ),
        1,
    )
    .await;
    assert!(
        !app.page(&browser, "/tasks?filter=open")
            .await
            .contains("Read model probe"),
        "a completed task leaves the open tasks on the next view"
    );

    warmed(&app, &browser, "/tasks").await;
    let response = Client::new()
        .delete(format!("{}/v2/tasks/{id}", app.sandbox.base_url()))
        .bearer_auth(app.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "delete task in sandbox");
    in_database(&app, &tasks_like("Read model probe"), 0).await;
    assert!(
        !app.page(&browser, "/tasks")
            .await
            .contains("Read model probe"),
        "a deleted task is gone on the next view"
    );
}

#[tokio::test]
async fn a_new_member_assigned_at_attio_is_named_on_the_next_view_once_applied() {
    let (app, browser) = connected(TestOptions::default()).await;
    let task = app.create_task("Handed to a newcomer").await;
    let id = task["data"]["id"]["task_id"].as_str().unwrap().to_owned();
    in_database(&app, &tasks_like("Handed to a newcomer"), 1).await;
    warmed(&app, &browser, "/tasks").await;

    let member = app
        .sandbox
        .sandbox
        .add_member("Zoë", "Newcomer", "zoe.newcomer@example.test")
        .unwrap();
    in_database(
        &app,
        &format!("SELECT COUNT(*) FROM members WHERE member_id = '{member}'"),
        1,
    )
    .await;
    patch_task(
        &app,
        &id,
        json!({"assignees": [{"referenced_actor_type": "workspace-member",
                              "referenced_actor_id": member}]}),
    )
    .await;
    in_database(&app, &tasks_like(&member.to_string()), 1).await;
    let page = app.page(&browser, "/tasks").await;
    assert!(page.contains("Zoë Newcomer"), "{page}");
}

#[tokio::test]
async fn a_sync_now_shows_what_it_fetched_on_the_page_it_redirects_to() {
    // Without the worker, only the sync can bring the task in.
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    warmed(&app, &browser, "/tasks").await;
    app.create_task("Fetched by Sync now").await;
    let response = app.post_form(&browser, "/tasks/sync", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.page(&browser, &location(&response)).await;
    assert!(page.contains("Tasks are up to date."), "{page}");
    assert!(page.contains("Fetched by Sync now"), "{page}");
}

#[tokio::test]
async fn the_feed_shows_a_stored_delivery_at_once_and_its_entry_once_applied() {
    let (app, browser) = connected(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let before = warmed(&app, &browser, "/activity").await;
    assert!(!before.contains("waiting to be applied"), "{before}");

    app.create_task("Told in the feed").await;
    in_database(
        &app,
        "SELECT COUNT(*) FROM inbox WHERE status = 'pending'",
        1,
    )
    .await;
    let page = app.page(&browser, "/activity").await;
    assert!(
        page.contains("1 delivery is waiting to be applied"),
        "a stored delivery is counted on the next view: {page}"
    );

    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    in_database(
        &app,
        "SELECT COUNT(*) FROM inbox WHERE status = 'pending'",
        0,
    )
    .await;
    let page = app.page(&browser, "/activity").await;
    assert!(page.contains("created task “Told in the feed”"), "{page}");
    assert!(!page.contains("waiting to be applied"), "{page}");
}

#[tokio::test]
async fn a_link_attio_stops_accepting_shows_the_reconnect_prompt_on_the_next_view() {
    let (app, browser) = connected(TestOptions::default()).await;
    assert!(warmed(&app, &browser, "/").await.contains("Sync now"));
    app.sandbox.sandbox.revoke_all_tokens();
    // The worker meets the refused token while applying a change, and marks the link broken.
    app.sandbox
        .sandbox
        .create_task_as_member("Nobody can fetch this");
    in_database(
        &app,
        "SELECT COUNT(*) FROM attio_links WHERE status = 'broken'",
        1,
    )
    .await;
    let page = app.page(&browser, "/").await;
    assert!(page.contains("Reconnect Attio"), "{page}");
}

#[tokio::test]
async fn a_disconnect_shows_the_connect_prompt_on_the_next_view() {
    let (app, browser) = connected(TestOptions::default()).await;
    assert!(warmed(&app, &browser, "/").await.contains("Sync now"));
    let response = app
        .post_form(&browser, "/integrations/attio/disconnect", &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.page(&browser, "/").await;
    assert!(!page.contains("Sync now"), "{page}");
    assert!(page.contains("/integrations/attio/connect"), "{page}");
}

#[tokio::test]
async fn a_logged_out_session_cookie_replayed_later_is_not_logged_in() {
    let app = TestApp::spawn().await;
    let browser = browser();
    let response = app.sign_up(&browser, "leaver").await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("taskr_session="))
        .expect("the signed-in session's cookie");
    let replay = || async {
        Client::new()
            .get(app.url("/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(replay().await.contains("Signed in as"));
    assert!(
        replay().await.contains("Signed in as"),
        "served from a copy"
    );
    let response = app.post_form(&browser, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!replay().await.contains("Signed in as"));
}

#[tokio::test]
async fn a_change_applied_by_one_instance_is_on_the_next_view_of_another_once_it_hears() {
    if crate::instances::skipped(
        "a_change_applied_by_one_instance_is_on_the_next_view_of_another_once_it_hears",
    ) {
        return;
    }
    let a = TestApp::spawn().await;
    // B applies nothing: what it shows comes from A's work, told through the database.
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("pia").await;
    a.connect(&browser).await;
    a.settle().await;
    let before = browser.get(b.url("/tasks")).send().await.unwrap();
    assert!(before.text().await.unwrap().contains("Sync now"));
    let mut live = LiveStream::open_at(&b.url("/live"), &browser).await;
    // What earlier work published is heard and served first.
    live.skip_until_quiet(Duration::from_millis(300)).await;
    browser.get(b.url("/tasks")).send().await.unwrap();

    a.sandbox.sandbox.create_task_as_member("Applied by A");
    live.expect("tasks").await;
    let page = browser.get(b.url("/tasks")).send().await.unwrap();
    assert!(
        page.text().await.unwrap().contains("Applied by A"),
        "B's next view after hearing of the change"
    );
}

#[tokio::test]
async fn a_disconnect_on_one_instance_holds_on_the_next_request_to_another() {
    if crate::instances::skipped(
        "a_disconnect_on_one_instance_holds_on_the_next_request_to_another",
    ) {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = a.user("quin").await;
    a.connect(&browser).await;
    a.settle().await;
    for _ in 0..2 {
        let page = browser.get(b.url("/")).send().await.unwrap();
        assert!(page.text().await.unwrap().contains("Sync now"));
    }
    let response = a
        .post_form(&browser, "/integrations/attio/disconnect", &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // No waiting for a message: links are read from the database on every view.
    let page = browser.get(b.url("/")).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("Sync now"));
}
