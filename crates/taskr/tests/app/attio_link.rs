//! Connecting, refusing, disconnecting and the checks on Attio's OAuth answer.

use reqwest::{Client, StatusCode};
use taskr::store::{LinkStatus, OAuthState, WorkspaceId};

use crate::helpers::{browser, location, TestApp, TestOptions};

async fn user_id(app: &TestApp, username: &str) -> taskr::store::UserId {
    app.state
        .store
        .user_by_username_key(username)
        .await
        .unwrap()
        .expect("user exists")
        .user
        .id
}

/// Starts "Connect Attio" and returns the `state` Taskr sent to Attio.
async fn start_flow(app: &TestApp, client: &Client) -> String {
    let response = app.get(client, "/integrations/attio/connect").await;
    url::Url::parse(&location(&response))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .expect("a state parameter")
        .1
        .into_owned()
}

async fn token_is_active(app: &TestApp, token: &str) -> bool {
    let body = app.sandbox_get("/v2/self", token).await;
    body["active"].as_bool().expect("active flag")
}

#[tokio::test]
async fn connecting_shows_the_workspace_tasks_with_assignee_names() {
    let app = TestApp::spawn().await;
    let client = app.user("alice").await;
    let (consent, authorize) = app.open_consent(&client).await;
    // The authorize request carries exactly what Attio documents.
    let url = url::Url::parse(&authorize).unwrap();
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], "taskr-test");
    assert_eq!(params["response_type"], "code");
    assert_eq!(
        params["redirect_uri"],
        app.url("/integrations/attio/callback")
    );
    assert!(params["state"].len() >= 32);
    // The consent page names the app, the workspace and the scopes.
    assert!(consent.contains("Taskr"));
    assert!(consent.contains(&app.sandbox.sandbox.workspace_name()));
    assert!(consent.contains("task:read"));

    let callback = app.decide(&client, &consent, "approve", None).await;
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["referrer-policy"].to_str().unwrap(),
        "no-referrer"
    );
    assert_eq!(location(&response), "/?notice=connected");

    let html = app.page(&client, "/?notice=connected").await;
    assert!(html.contains("Attio is connected"));
    assert!(html.contains(&app.sandbox.sandbox.workspace_name()));
    assert!(html.contains("Last synced"));
    // Every seeded task is in the cache, and assignees show by name.
    let members = app
        .state
        .store
        .members(WorkspaceId(app.sandbox.sandbox.workspace_id()))
        .await
        .unwrap();
    assert!(members.len() >= 8);
    let assigned_names: Vec<String> = members.iter().map(|m| m.display_name()).collect();
    assert!(
        assigned_names
            .iter()
            .any(|name| html.contains(&format!("<span class=\"chip\">{name}</span>"))),
        "no assignee shown by name"
    );
    assert!(!html.contains("Unknown member"));
}

#[tokio::test]
async fn denying_at_attio_stores_nothing_and_says_so() {
    let app = TestApp::spawn().await;
    let client = app.user("bob").await;
    let (consent, _) = app.open_consent(&client).await;
    let callback = app.decide(&client, &consent, "deny", None).await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(location(&response), "/?notice=denied");
    let html = app.page(&client, "/?notice=denied").await;
    assert!(html.contains("You cancelled the connection at Attio"));
    assert!(html.contains("Connect Attio"));
    assert!(app
        .state
        .store
        .link(user_id(&app, "bob").await)
        .await
        .unwrap()
        .is_none());
    assert!(app.sandbox.sandbox.issued_access_tokens().is_empty());
}

#[tokio::test]
async fn disconnecting_revokes_the_token_at_attio_and_forgets_it() {
    let app = TestApp::spawn().await;
    let client = app.user("carol").await;
    app.connect(&client).await;
    let tokens = app.sandbox.sandbox.issued_access_tokens();
    assert_eq!(tokens.len(), 1);
    assert!(token_is_active(&app, &tokens[0]).await);

    let response = app
        .post_form(&client, "/integrations/attio/disconnect", &[])
        .await;
    assert_eq!(location(&response), "/?notice=disconnected");
    assert!(
        !token_is_active(&app, &tokens[0]).await,
        "token revoked at Attio"
    );
    let user = user_id(&app, "carol").await;
    assert!(app.state.store.link(user).await.unwrap().is_none());
    assert!(
        app.state
            .store
            .members(WorkspaceId(app.sandbox.sandbox.workspace_id()))
            .await
            .unwrap()
            .is_empty(),
        "the last unlink drops the workspace's cache"
    );
    let html = app.page(&client, "/?notice=disconnected").await;
    assert!(html.contains("Connect Attio"));
    assert!(html.contains("Attio is disconnected"));
}

#[tokio::test]
async fn a_callback_cannot_be_replayed() {
    let app = TestApp::spawn().await;
    let client = app.user("dan").await;
    let (consent, _) = app.open_consent(&client).await;
    let callback = app.decide(&client, &consent, "approve", None).await;
    assert_eq!(
        client.get(&callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn a_state_from_another_session_is_refused() {
    let app = TestApp::spawn().await;
    let victim = app.user("erin").await;
    let attacker = app.user("mallory").await;
    // The attacker starts a flow and tricks the victim into finishing it.
    let (consent, _) = app.open_consent(&attacker).await;
    let callback = app.decide(&attacker, &consent, "approve", None).await;
    let response = victim.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(app
        .state
        .store
        .link(user_id(&app, "erin").await)
        .await
        .unwrap()
        .is_none());
    // A made-up state is refused the same way, and so is none at all.
    for path in [
        "/integrations/attio/callback?code=abc&state=made-up",
        "/integrations/attio/callback?code=abc",
    ] {
        let response = app.get(&victim, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    app.sign_up(&client, "frank").await;
    // The session's hash is what the state is bound to; start a real flow to learn it, then
    // plant an expired state for the same session.
    let real_state = start_flow(&app, &client).await;
    let stored = app
        .state
        .store
        .take_oauth_state(&app.state.cipher.mac("oauth-state", real_state.as_bytes()))
        .await
        .unwrap()
        .expect("state stored");
    app.state
        .store
        .put_oauth_state(&OAuthState {
            expires_at: taskr::now() - 1,
            ..stored
        })
        .await
        .unwrap();
    let response = app
        .get(
            &client,
            &format!("/integrations/attio/callback?code=abc&state={real_state}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn other_errors_from_attio_and_missing_codes_are_explained() {
    let app = TestApp::spawn().await;
    let client = app.user("gail").await;
    for (answer, expected) in [
        (
            "error=server_error&error_description=boom",
            "Attio did not connect your workspace (boom)",
        ),
        ("", "had no authorization code"),
        ("code=not-a-real-code", "Attio refused the authorization"),
    ] {
        let state = start_flow(&app, &client).await;
        let response = app
            .get(
                &client,
                &format!("/integrations/attio/callback?state={state}&{answer}"),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{answer}");
        let html = response.text().await.unwrap();
        assert!(html.contains(expected), "{answer}: {html}");
    }
}

#[tokio::test]
async fn a_token_that_attio_reports_inactive_asks_the_user_to_reconnect() {
    let app = TestApp::spawn().await;
    let client = app.user("hana").await;
    app.connect(&client).await;
    app.sandbox.sandbox.revoke_all_tokens();
    let response = app.post_form(&client, "/tasks/sync", &[]).await;
    assert_eq!(location(&response), "/tasks?notice=broken");
    let link = app
        .state
        .store
        .link(user_id(&app, "hana").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.status, LinkStatus::Broken);
    let html = app.page(&client, "/").await;
    assert!(html.contains("Your Attio connection stopped working"));
    assert!(html.contains("Reconnect Attio"));
    // Reconnecting repairs the link.
    assert_eq!(app.connect(&client).await, "/?notice=connected");
    assert!(app.page(&client, "/").await.contains("Sync now"));
}

#[tokio::test]
async fn a_token_without_the_task_scope_marks_the_link_broken() {
    let app = TestApp::spawn_with(TestOptions {
        app_scopes: vec!["user_management:read".into()],
        ..Default::default()
    })
    .await;
    let client = app.user("ivan").await;
    assert_eq!(app.connect(&client).await, "/?notice=broken");
    let link = app
        .state
        .store
        .link(user_id(&app, "ivan").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.status, LinkStatus::Broken);
    assert!(link.broken_reason.unwrap().contains("refused"));
    assert!(app.page(&client, "/").await.contains("Reconnect Attio"));
}

#[tokio::test]
async fn connecting_requires_a_logged_in_user() {
    let app = TestApp::spawn().await;
    let client = browser();
    let response = app.get(&client, "/integrations/attio/connect").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login?next="));
}
