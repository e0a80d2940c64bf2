//! Many workspaces: users who link different Attio workspaces (the sandbox's "Acme Demo" and
//! "Globex") see only their own workspace's tasks, members, activity, live updates and workspace
//! connections; ids of the other workspace answer like unknown ids; a delivery signed for one
//! workspace cannot change another; admin rights do not cross over.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::json;
use taskr::store::WorkspaceId;
use uuid::Uuid;

use crate::helpers::{wait_until, LiveStream, TestApp, TestOptions};

struct Two {
    app: TestApp,
    acme: Uuid,
    globex: Uuid,
    /// Acme's admin.
    alice: Client,
    /// Another Acme member: shares Alice's cache.
    bob: Client,
    /// A Globex member who is not its admin.
    gina: Client,
    /// Globex's admin.
    hank: Client,
}

fn mailer() -> Vec<taskr::connections::Provider> {
    taskr::connections::providers::parse(
        "[[provider]]\nname = \"mailer\"\ndisplay_name = \"Mailer\"\nkind = \"secret\"\nuser = true\nworkspace = true",
        &|_| None,
    )
    .unwrap()
}

async fn two_workspaces(worker: bool) -> Two {
    let app = TestApp::spawn_with(TestOptions {
        worker,
        extra_providers: mailer(),
        sequencer: Some(attio_sandbox::provider::ProviderConfig::default()),
        ..Default::default()
    })
    .await;
    let ids = app.sandbox.sandbox.workspace_ids();
    let (acme, globex) = (ids[0], ids[1]);
    let globex_admin = app.sandbox.sandbox.admin_member_id_in(globex).unwrap();
    let globex_member = app
        .sandbox
        .sandbox
        .member_ids_in(globex)
        .into_iter()
        .find(|m| *m != globex_admin)
        .unwrap()
        .to_string();
    let acme_member = app.sandbox.sandbox.member_ids()[1].to_string();

    let alice = app.user("alice").await;
    app.connect_in(&alice, acme, None).await;
    let bob = app.user("bob").await;
    app.connect_in(&bob, acme, Some(&acme_member)).await;
    let gina = app.user("gina").await;
    app.connect_in(&gina, globex, Some(&globex_member)).await;
    let hank = app.user("hank").await;
    app.connect_in(&hank, globex, None).await;
    Two {
        app,
        acme,
        globex,
        alice,
        bob,
        gina,
        hank,
    }
}

impl Two {
    /// Task contents of a workspace, read from the sandbox with that workspace's API key.
    async fn sandbox_tasks(&self, workspace: Uuid) -> Vec<(String, String)> {
        let key = self
            .app
            .sandbox
            .sandbox
            .mint_api_key_in(workspace, None)
            .unwrap();
        let list = self.app.sandbox_get("/v2/tasks", &key).await;
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"]["task_id"].as_str().unwrap().to_owned(),
                    t["content_plaintext"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn create_task_in(&self, workspace: Uuid, content: &str) -> Uuid {
        let key = self
            .app
            .sandbox
            .sandbox
            .mint_api_key_in(workspace, None)
            .unwrap();
        let response = Client::new()
            .post(format!("{}/v2/tasks", self.app.sandbox.base_url()))
            .bearer_auth(key)
            .json(&json!({"data": {
                "content": content, "format": "plaintext", "deadline_at": null,
                "is_completed": false, "linked_records": [], "assignees": []
            }}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        body["data"]["id"]["task_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    async fn all_tasks_page(&self, client: &Client) -> String {
        // Both seeded workspaces fit on one page of 50.
        self.app.page(client, "/tasks").await
    }
}

#[tokio::test]
async fn each_user_sees_only_their_own_workspaces_tasks_members_and_activity() {
    let w = two_workspaces(true).await;
    let acme_tasks = w.sandbox_tasks(w.acme).await;
    let globex_tasks = w.sandbox_tasks(w.globex).await;
    assert!(!acme_tasks.is_empty() && !globex_tasks.is_empty());

    let alice_page = w.all_tasks_page(&w.alice).await;
    let gina_page = w.all_tasks_page(&w.gina).await;
    assert!(alice_page.contains("<h1>Acme Demo</h1>"));
    assert!(gina_page.contains("<h1>Globex</h1>") && !gina_page.contains("Acme Demo"));
    // Contents that need no escaping compare as they are (Globex's 12 tasks fit on one page).
    // Both seeds share a few unlinked task texts; only texts of one workspace alone can tell.
    let plain = |c: &str| {
        c.chars()
            .all(|ch| ch.is_alphanumeric() || " .,-".contains(ch))
    };
    let only = |mine: &[(String, String)], theirs: &[(String, String)]| -> Vec<String> {
        mine.iter()
            .filter(|(_, c)| plain(c) && !theirs.iter().any(|(_, t)| t == c))
            .map(|(_, c)| c.clone())
            .collect()
    };
    let acme_only = only(&acme_tasks, &globex_tasks);
    let globex_only = only(&globex_tasks, &acme_tasks);
    assert!(acme_only.len() >= 5 && globex_only.len() >= 5);
    for content in &acme_only {
        assert!(
            !gina_page.contains(content.as_str()),
            "Globex user sees Acme's {content:?}"
        );
    }
    for content in &globex_only {
        assert!(gina_page.contains(content.as_str()), "{content:?}");
        assert!(
            !alice_page.contains(content.as_str()),
            "Acme user sees Globex's {content:?}"
        );
    }
    // Acme's member names never reach a Globex page.
    for name in ["Alice Moreau", "Emma Larsen"] {
        assert!(alice_page.contains(name));
        assert!(!gina_page.contains(name), "{name}");
    }

    // A change in Acme reaches both Acme users (one shared cache) and nobody in Globex.
    w.create_task_in(w.acme, "Only for Acme eyes").await;
    wait_until("Acme's change applied", Duration::from_secs(20), || async {
        w.app
            .page(&w.bob, "/tasks?filter=open")
            .await
            .contains("Only for Acme eyes")
    })
    .await;
    assert!(w
        .app
        .page(&w.alice, "/tasks?filter=open")
        .await
        .contains("Only for Acme eyes"));
    wait_until("Acme's activity", Duration::from_secs(20), || async {
        w.app
            .page(&w.alice, "/activity")
            .await
            .contains("Only for Acme eyes")
    })
    .await;
    for page in [
        "/tasks",
        "/tasks?filter=open",
        "/activity",
        "/activity?type=task.created",
    ] {
        for client in [&w.gina, &w.hank] {
            let html = w.app.page(client, page).await;
            assert!(!html.contains("Only for Acme eyes"), "{page}");
        }
    }
}

#[tokio::test]
async fn live_updates_of_one_workspace_never_reach_another() {
    let w = two_workspaces(true).await;
    let mut alice_live = LiveStream::open(&w.app, &w.alice).await;
    let mut gina_live = LiveStream::open(&w.app, &w.gina).await;
    w.create_task_in(w.acme, "Acme live change").await;
    alice_live.expect("tasks").await;
    gina_live
        .expect_nothing_within(
            Duration::from_millis(500),
            "a Globex page heard of an Acme change",
        )
        .await;
    w.create_task_in(w.globex, "Globex live change").await;
    gina_live.expect("tasks").await;
}

#[tokio::test]
async fn ids_of_another_workspace_answer_exactly_like_unknown_ids() {
    let w = two_workspaces(true).await;
    // An Acme task linked to a person (it offers "Add to sequence" to Acme users).
    let alice_page = w.all_tasks_page(&w.alice).await;
    let acme_task = alice_page
        .split("/sequence\"")
        .next()
        .and_then(|before| before.rsplit("/tasks/").next())
        .filter(|id| Uuid::parse_str(id).is_ok())
        .expect("an Acme task with Add to sequence")
        .to_owned();
    assert_ne!(
        w.app
            .get(&w.alice, &format!("/tasks/{acme_task}/sequence"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "the route finds the task in its own workspace"
    );
    let unknown = Uuid::new_v4().to_string();
    let globex_task = w.sandbox_tasks(w.globex).await[0].0.clone();
    let gina_csrf = w.app.csrf(&w.gina).await;
    let alice_csrf = w.app.csrf(&w.alice).await;
    // (who, method, path template with {id}, foreign id, what it is)
    let probes: Vec<(&Client, &str, &str, &str, &str, &str)> = vec![
        (
            &w.gina,
            gina_csrf.as_str(),
            "GET",
            "/tasks/{id}/sequence",
            acme_task.as_str(),
            "Acme task from Globex",
        ),
        (
            &w.gina,
            gina_csrf.as_str(),
            "POST",
            "/tasks/{id}/sequence",
            acme_task.as_str(),
            "enrol from an Acme task",
        ),
        (
            &w.alice,
            alice_csrf.as_str(),
            "GET",
            "/tasks/{id}/sequence",
            globex_task.as_str(),
            "Globex task from Acme",
        ),
        (
            &w.alice,
            alice_csrf.as_str(),
            "POST",
            "/tasks/{id}/sequence",
            globex_task.as_str(),
            "enrol from a Globex task",
        ),
    ];
    for (client, csrf, method, template, foreign, what) in probes {
        let send = |id: &str| {
            let url = w.app.url(&template.replace("{id}", id));
            let request = if method == "POST" {
                client.post(url).form(&[
                    ("csrf_token", csrf),
                    ("sequence", "x"),
                    ("email", "a@b.test"),
                ])
            } else {
                client.get(url)
            };
            async move { request.send().await.unwrap() }
        };
        let foreign_answer = send(foreign).await;
        let unknown_answer = send(&unknown).await;
        assert_eq!(foreign_answer.status(), StatusCode::NOT_FOUND, "{what}");
        assert_eq!(
            unknown_answer.status(),
            StatusCode::NOT_FOUND,
            "{what} (unknown)"
        );
        let foreign_body = foreign_answer.text().await.unwrap();
        let unknown_body = unknown_answer.text().await.unwrap();
        assert_eq!(
            foreign_body, unknown_body,
            "{what}: the answer tells the two apart"
        );
    }
}

#[tokio::test]
async fn workspace_connections_and_admin_rights_stay_in_their_workspace() {
    let w = two_workspaces(false).await;
    let save = |client: &Client, value: &'static str| {
        let app = &w.app;
        let client = client.clone();
        async move {
            app.post_form(
                &client,
                "/connections/mailer/workspace/secret",
                &[("value", value)],
            )
            .await
        }
    };
    // Acme's admin sets Acme's workspace connection.
    let response = save(&w.alice, "acme-mailer-key-0001").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // A Globex member is no admin in Globex, whatever Alice is in Acme.
    let response = save(&w.gina, "gina-mailer-key-0002").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Globex sees none of Acme's connection, and server code reading it for Globex gets nothing.
    for client in [&w.gina, &w.hank] {
        let page = w.app.page(client, "/connections").await;
        assert!(!page.contains("0001"), "Acme's hint on a Globex page");
        assert!(
            !page.contains("alice"),
            "Acme's admin named on a Globex page"
        );
    }
    let gina_ctx = taskr::web::connections::ctx_for(
        &w.app.state,
        &w.app
            .state
            .store
            .user_by_username_key("gina")
            .await
            .unwrap()
            .unwrap()
            .user,
    )
    .await
    .unwrap();
    assert_eq!(gina_ctx.workspace, Some(WorkspaceId(w.globex)));
    assert!(!gina_ctx.is_admin);
    assert!(matches!(
        w.app.state.connections.workspace(&gina_ctx, "mailer").await,
        Err(taskr::connections::ConnectionError::Required(_))
    ));
    // Globex's own admin sets Globex's, and each workspace reads its own value.
    let response = save(&w.hank, "globex-mailer-key-0003").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let value = w
        .app
        .state
        .connections
        .workspace(&gina_ctx, "mailer")
        .await
        .unwrap()
        .value;
    assert_eq!(value.expose(), "globex-mailer-key-0003");
    let alice_page = w.app.page(&w.alice, "/connections").await;
    assert!(alice_page.contains("0001") && !alice_page.contains("0003"));
    // Testing "the workspace connection" tests one's own workspace's.
    let response = w
        .app
        .post_form(&w.bob, "/connections/mailer/workspace/test", &[])
        .await;
    assert!(response.status().is_redirection(), "{}", response.status());
}

#[tokio::test]
async fn a_delivery_signed_for_one_workspace_cannot_change_another() {
    let w = two_workspaces(false).await;
    w.app.settle().await;
    taskr::sync::worker::drain(&w.app.state.sync).await.unwrap();
    let (acme_webhook, acme_secret) = w.app.webhook().await;
    let (globex_task, shown) = w
        .sandbox_tasks(w.globex)
        .await
        .into_iter()
        .find(|(_, c)| c.chars().all(|ch| ch.is_alphanumeric() || ch == ' '))
        .expect("a Globex task with a plain content");
    let globex_task: Uuid = globex_task.parse().unwrap();
    assert!(w.all_tasks_page(&w.gina).await.contains(&shown));
    let globex_webhook = w
        .app
        .state
        .store
        .webhook_for_workspace(WorkspaceId(w.globex))
        .await
        .unwrap()
        .map(|h| h.webhook_id);

    let forged = |webhook: Uuid, workspace: Uuid, event: &str| {
        serde_json::to_vec(&json!({
            "webhook_id": webhook,
            "events": [{"event_type": event,
                        "id": {"workspace_id": workspace, "task_id": globex_task},
                        "actor": {"type": "system", "id": null}}]
        }))
        .unwrap()
    };
    let url = w.app.url("/webhooks/attio");
    let post = |body: Vec<u8>, signature: String| {
        let url = url.clone();
        async move {
            Client::new()
                .post(url)
                .header("content-type", "application/json")
                .header("attio-signature", signature)
                .header("idempotency-key", Uuid::new_v4().to_string())
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Signed with Acme's secret, naming Globex's workspace and task: accepted (the signature is
    // Acme's), but inert.
    let body = forged(acme_webhook, w.globex, "task.deleted");
    assert_eq!(
        post(body.clone(), acme_secret.sign(&body)).await,
        StatusCode::OK
    );
    // Naming Acme's workspace but Globex's task: Acme's token cannot read it.
    let body = forged(acme_webhook, w.acme, "task.deleted");
    assert_eq!(
        post(body.clone(), acme_secret.sign(&body)).await,
        StatusCode::OK
    );
    let body = forged(acme_webhook, w.acme, "task.updated");
    assert_eq!(
        post(body.clone(), acme_secret.sign(&body)).await,
        StatusCode::OK
    );
    // Claiming Globex's webhook with Acme's secret: refused.
    if let Some(globex_webhook) = globex_webhook {
        let body = forged(globex_webhook, w.globex, "task.deleted");
        assert_eq!(
            post(body.clone(), acme_secret.sign(&body)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    taskr::sync::worker::drain(&w.app.state.sync).await.unwrap();
    assert!(
        w.all_tasks_page(&w.gina).await.contains(&shown),
        "Globex's task survived a delivery signed for Acme"
    );
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM tasks WHERE workspace_id = '{}' AND task_id = '{globex_task}'",
                w.acme
            ))
            .await,
        0,
        "Globex's task was not copied into Acme's cache"
    );
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM activity WHERE workspace_id = '{}'",
                w.globex
            ))
            .await,
        0,
        "nothing was written to Globex's feed"
    );
    // The event that named Globex is not even shown in Acme's feed; the two that named Acme
    // (signed with Acme's secret, about an id Acme cannot read) are.
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM activity WHERE workspace_id = '{}' AND subject_id = '{globex_task}'",
                w.acme
            ))
            .await,
        2
    );
}
