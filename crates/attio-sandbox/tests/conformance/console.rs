//! The console page: what it shows, its forms (which fire webhooks), escaping, and its refusal of
//! posts from other origins.

use reqwest::StatusCode;
use serde_json::json;

use crate::events::member;
use crate::receiver::{Hook, DEADLINE};
use crate::{spawn, TestSandbox};

async fn post_form(t: &TestSandbox, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    t.http
        .post(t.url(path))
        .form(form)
        .send()
        .await
        .expect("the console answers")
}

async fn page(t: &TestSandbox) -> String {
    let response = t.http.get(t.url("/")).send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("html")
}

#[tokio::test]
async fn console_forms_change_tasks_and_fire_webhooks_as_the_admin() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created", "task.updated", "task.deleted"]).await;
    let assignee = t.sandbox().member_ids()[1].to_string();
    let response = post_form(
        &t,
        "/_sandbox/console/tasks",
        &[("content", "Console task"), ("assignee", &assignee)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(crate::location(&response).starts_with("/?notice="));
    let created = hook.events(1).await.remove(0);
    let (_, task) = t
        .get(
            &format!(
                "/v2/tasks/{}",
                created["id"]["task_id"].as_str().unwrap_or("")
            ),
            &t.key(),
        )
        .await;
    assert_eq!(
        task["data"]["assignees"][0]["referenced_actor_id"],
        assignee.as_str()
    );
    let task = created["id"]["task_id"].as_str().expect("id").to_owned();
    for action in ["complete", "assign", "delete"] {
        let response = post_form(
            &t,
            &format!("/_sandbox/console/tasks/{task}/{action}"),
            &[("member_id", "")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let events = hook.exactly(&t, 4).await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "task.created",
            "task.updated",
            "task.updated",
            "task.deleted"
        ],
        "created already assigned, completed, unassigned, deleted"
    );
    let admin = member(t.sandbox().admin_member_id());
    assert!(events.iter().all(|e| e["actor"] == admin));

    let response = post_form(&t, &format!("/_sandbox/console/tasks/{task}/complete"), &[]).await;
    assert!(
        crate::location(&response).starts_with("/?error="),
        "an unknown task is reported"
    );
}

#[tokio::test]
async fn the_console_adds_members_and_triggers_any_event() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["workspace-member.created", "note.created"]).await;
    let form = [
        ("first_name", "Ola"),
        ("last_name", "Berg"),
        ("email_address", "ola.berg@acme-demo.test"),
    ];
    post_form(&t, "/_sandbox/console/members", &form).await;
    post_form(
        &t,
        "/_sandbox/console/trigger",
        &[("event_type", "note.created")],
    )
    .await;
    let response = post_form(
        &t,
        "/_sandbox/console/trigger",
        &[("event_type", "nonsense")],
    )
    .await;
    assert!(crate::location(&response).starts_with("/?error="));
    let events = hook.exactly(&t, 2).await;
    assert_eq!(events[0]["event_type"], "workspace-member.created");
    assert_eq!(events[1]["event_type"], "note.created");
    assert!(page(&t).await.contains("Ola Berg"));
}

#[tokio::test]
async fn the_console_shows_webhooks_and_recent_deliveries() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created"]).await;
    t.sandbox().create_task_as_member("Watched");
    hook.receiver.wait_for(1).await;
    assert!(t.sandbox().wait_for_idle(DEADLINE).await);
    let html = page(&t).await;
    for expected in [
        hook.id.as_str(),
        hook.receiver.url.as_str(),
        "active",
        "task.created",
        "Watched",
        "Trigger",
    ] {
        assert!(html.contains(expected), "the console shows {expected}");
    }
    assert!(!html.contains(&hook.secret), "never the secret");
}

#[tokio::test]
async fn console_text_is_escaped() {
    let t = spawn().await;
    post_form(
        &t,
        "/_sandbox/console/tasks",
        &[("content", "<script>alert(1)</script>")],
    )
    .await;
    let response = t
        .http
        .get(t.url("/?notice=<b>hi</b>"))
        .send()
        .await
        .expect("answers");
    let html = response.text().await.expect("html");
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)"),
        "the task is shown, escaped"
    );
    assert!(!html.contains("<b>hi</b>"));
}

#[tokio::test]
async fn console_posts_from_another_origin_are_refused() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["task.created"]).await;
    for (header, value) in [
        ("origin", "http://evil.test"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = t
            .http
            .post(t.url("/_sandbox/console/tasks"))
            .header(header, value)
            .form(&[("content", "Forged")])
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header}");
    }
    let same = t
        .http
        .post(t.url("/_sandbox/console/tasks"))
        .header("origin", t.spawned.base_url())
        .form(&[("content", "Genuine")])
        .send()
        .await
        .expect("answers");
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    let events = hook.exactly(&t, 1).await;
    assert_eq!(
        events[0]["id"]["workspace_id"],
        json!(t.sandbox().workspace_id().to_string())
    );
}
