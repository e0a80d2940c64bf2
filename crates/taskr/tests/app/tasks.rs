//! The tasks page: filters, the shared cache, "Sync now", escaping, and bad input.

use reqwest::StatusCode;

use crate::helpers::{location, TestApp};

/// The "of N." total in the page's paging line.
fn total(html: &str) -> usize {
    let start = html.find(" of ").expect("paging line") + 4;
    let end = html[start..].find('.').unwrap() + start;
    html[start..end].trim().parse().expect("a number")
}

async fn sandbox_count(app: &TestApp, query: &str) -> usize {
    let body = app
        .sandbox_get(&format!("/v2/tasks?{query}"), &app.api_key())
        .await;
    body["data"].as_array().expect("data array").len()
}

#[tokio::test]
async fn the_filters_match_what_attio_reports() {
    let app = TestApp::spawn().await;
    let client = app.user("alice").await;
    app.connect(&client).await;
    let admin = app.sandbox.sandbox.admin_member_id();
    let cases = [
        ("all", String::new()),
        ("open", "is_completed=false".to_owned()),
        ("completed", "is_completed=true".to_owned()),
        ("mine", format!("assignee={admin}")),
    ];
    for (filter, query) in cases {
        let expected = sandbox_count(&app, &query).await;
        let html = app.page(&client, &format!("/tasks?filter={filter}")).await;
        assert_eq!(total(&html), expected, "filter {filter}");
        assert!(expected > 0, "the seed has tasks for filter {filter}");
    }
    let all = sandbox_count(&app, "").await;
    assert!(all >= 40);
    let open_page = app.page(&client, "/tasks?filter=open").await;
    assert!(
        !open_page.contains("badge done"),
        "an open filter shows no completed task"
    );
}

#[tokio::test]
async fn the_page_is_served_from_the_cache_when_attio_is_unreachable() {
    let mut app = TestApp::spawn().await;
    let client = app.user("bob").await;
    app.connect(&client).await;
    let before = app.page(&client, "/tasks").await;
    // Stop the sandbox entirely: a page view must not need Attio.
    let replacement = attio_sandbox::Sandbox::new(Default::default())
        .spawn()
        .await
        .unwrap();
    drop(std::mem::replace(&mut app.sandbox, replacement));
    let after = app.page(&client, "/tasks").await;
    assert_eq!(total(&before), total(&after));
    assert!(total(&after) >= 40);
}

#[tokio::test]
async fn sync_now_picks_up_new_tasks_and_escapes_their_content() {
    let app = TestApp::spawn().await;
    let client = app.user("carol").await;
    app.connect(&client).await;
    app.create_task("<script>alert(1)</script>").await;
    let before = app.page(&client, "/tasks").await;
    assert!(
        !before.contains("alert(1)"),
        "not synced yet: served from the cache"
    );

    let response = app.post_form(&client, "/tasks/sync", &[]).await;
    assert_eq!(location(&response), "/tasks?notice=synced");
    let html = app.page(&client, "/tasks?notice=synced").await;
    assert!(html.contains("Tasks are up to date."));
    let escaped = [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
    ];
    assert!(
        escaped.iter().any(|e| html.contains(e)),
        "the content is shown as escaped text"
    );
    assert!(!html.contains("<script>alert"), "never as markup");
}

#[tokio::test]
async fn users_linking_the_same_workspace_share_its_cache() {
    let app = TestApp::spawn().await;
    let first = app.user("dora").await;
    let second = app.user("eli").await;
    app.connect(&first).await;
    let member = app.sandbox.sandbox.member_ids()[1].to_string();
    app.connect_as(&second, Some(&member)).await;
    let first_page = app.page(&first, "/tasks").await;
    let second_page = app.page(&second, "/tasks").await;
    assert_eq!(total(&first_page), total(&second_page));
    // "Assigned to me" is per user: each sees their own member's tasks.
    let admin = app.sandbox.sandbox.admin_member_id();
    let mine_first = total(&app.page(&first, "/tasks?filter=mine").await);
    let mine_second = total(&app.page(&second, "/tasks?filter=mine").await);
    assert_eq!(
        mine_first,
        sandbox_count(&app, &format!("assignee={admin}")).await
    );
    assert_eq!(
        mine_second,
        sandbox_count(&app, &format!("assignee={member}")).await
    );

    // One user leaving does not take the cache from the other.
    app.post_form(&first, "/integrations/attio/disconnect", &[])
        .await;
    assert_eq!(
        total(&app.page(&second, "/tasks").await),
        total(&second_page)
    );
}

#[tokio::test]
async fn bad_page_parameters_get_a_clear_400() {
    let app = TestApp::spawn().await;
    let client = app.user("fay").await;
    app.connect(&client).await;
    for (path, message) in [
        ("/tasks?filter=everything", "Unknown filter"),
        ("/tasks?page=0", "positive whole number"),
        ("/tasks?page=abc", "positive whole number"),
        ("/tasks?page=99999999999", "positive whole number"),
    ] {
        let response = app.get(&client, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(response.text().await.unwrap().contains(message), "{path}");
    }
    let html = app.page(&client, "/tasks?page=2").await;
    assert!(html.contains("No tasks") || html.contains("no tasks") || total(&html) > 50);
}
