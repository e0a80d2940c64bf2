//! Connections end to end against the sandbox's OAuth provider and sequencer API: the prompt
//! and the return, PKCE and state, refresh (before expiry, single-flight, rotation, missing
//! refresh token, revoked grant, forced by a 401), admin-only workspace connections,
//! disconnect, secrets, and no plaintext in the database.

use std::sync::Arc;
use std::time::Duration;

use attio_sandbox::provider::ProviderConfig;
use reqwest::{Client, StatusCode};
use taskr::connections::{ConnectionError, Ctx};
use taskr::store::{OwnerKind, TaskFilter, TaskQuery};

use crate::helpers::{browser, form_value, location, TestApp, TestOptions, MAILER, SEQUENCER};

pub(crate) async fn app_with(config: ProviderConfig) -> TestApp {
    TestApp::spawn_with(TestOptions {
        sequencer: Some(config),
        ..Default::default()
    })
    .await
}

fn provider(app: &TestApp) -> &attio_sandbox::provider::Provider {
    &app.provider.as_ref().expect("a provider").0
}

pub(crate) async fn ctx(app: &TestApp, username: &str) -> Ctx {
    let user = app
        .state
        .store
        .user_by_username_key(username)
        .await
        .unwrap()
        .unwrap()
        .user;
    let link = app.state.store.link(user.id).await.unwrap();
    let admin = app.sandbox.sandbox.admin_member_id();
    Ctx {
        user: user.id,
        workspace: link.as_ref().map(|l| l.workspace_id),
        is_admin: link.and_then(|l| l.member_id) == Some(admin),
    }
}

/// A cached task linked to a person, for "Add to sequence".
async fn person_task(app: &TestApp, username: &str) -> uuid::Uuid {
    let user = app
        .state
        .store
        .user_by_username_key(username)
        .await
        .unwrap()
        .unwrap()
        .user;
    let workspace = app
        .state
        .store
        .link(user.id)
        .await
        .unwrap()
        .expect("a linked user")
        .workspace_id;
    let list = app
        .state
        .store
        .tasks(
            workspace,
            &TaskQuery {
                filter: TaskFilter::All,
                search: None,
                sort: Default::default(),
                limit: 500,
                offset: 0,
            },
        )
        .await
        .unwrap();
    list.tasks
        .iter()
        .find(|t| {
            t.linked_records
                .iter()
                .any(|r| r.target_object_id == "people")
        })
        .expect("a seeded task links a person")
        .id
        .task_id
}

/// Walks "Connect Sequencer" from a URL on Taskr to the provider's consent page and back;
/// returns where Taskr finally sends the browser.
async fn approve_at_provider(
    app: &TestApp,
    client: &Client,
    connect_path: &str,
    decision: &str,
) -> reqwest::Response {
    let response = app.get(client, connect_path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{connect_path}");
    let authorize = location(&response);
    let consent = client.get(&authorize).send().await.unwrap();
    assert_eq!(consent.status(), StatusCode::OK, "provider consent page");
    let html = consent.text().await.unwrap();
    let base = &app.provider.as_ref().unwrap().1;
    let answer = client
        .post(format!("{base}/provider/authorize"))
        .form(&[
            (
                "request_id",
                form_value(&html, "request_id").unwrap().as_str(),
            ),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap();
    let callback = location(&answer);
    assert!(
        callback.starts_with(&app.url("/connections/sequencer/callback")),
        "{callback}"
    );
    client.get(&callback).send().await.unwrap()
}

pub(crate) async fn connected_user(app: &TestApp, username: &str) -> Client {
    let client = app.user(username).await;
    app.connect(&client).await;
    let response = approve_at_provider(
        app,
        &client,
        "/connections/sequencer/user/connect",
        "approve",
    )
    .await;
    assert_eq!(location(&response), "/connections");
    client
}

#[tokio::test]
async fn add_to_sequence_prompts_to_connect_and_returns_to_finish_the_job() {
    let app = app_with(ProviderConfig::default()).await;
    let client = app.user("alice").await;
    app.connect(&client).await;
    let task = person_task(&app, "alice").await;
    let tasks_page = app.page(&client, "/tasks").await;
    assert!(
        tasks_page.contains(&format!("/tasks/{task}/sequence")),
        "the action is offered"
    );

    let path = format!("/tasks/{task}/sequence");
    let prompt = app.get(&client, &path).await;
    assert_eq!(prompt.status(), StatusCode::PRECONDITION_REQUIRED);
    let html = prompt.text().await.unwrap();
    assert!(html.contains("Connect Sequencer"));
    let connect = format!(
        "/connections/sequencer/user/connect?return_to={}",
        form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
    );
    assert!(
        html.contains(&connect.replace('&', "&amp;")) || html.contains(&connect),
        "{html}"
    );

    // Approving at the provider brings the user back to the page that asked.
    let response = approve_at_provider(&app, &client, &connect, "approve").await;
    assert_eq!(location(&response), path);
    let page = app.page(&client, &path).await;
    assert!(page.contains("Enroll"));
    let email = form_value(
        &page.replace("<option value", "name=\"email\" value"),
        "email",
    )
    .expect("a person's email");
    let sequence = "seq_onboarding";
    let response = app
        .post_form(&client, &path, &[("email", &email), ("sequence", sequence)])
        .await;
    assert_eq!(location(&response), "/tasks?notice=enrolled");
    assert_eq!(provider(&app).enrollments(sequence), vec![email.clone()]);

    // An email not linked to the task is refused.
    let response = app
        .post_form(
            &client,
            &path,
            &[("email", "someone@else.test"), ("sequence", sequence)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_authorize_request_carries_pkce_s256_state_scopes_and_extra_parameters() {
    let app = app_with(ProviderConfig::default()).await;
    let client = app.user("bob").await;
    let response = app
        .get(&client, "/connections/sequencer/user/connect")
        .await;
    let url = url::Url::parse(&location(&response)).unwrap();
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43);
    assert_eq!(
        params["redirect_uri"],
        app.url("/connections/sequencer/callback")
    );
    assert_eq!(params["scope"], "sequences:read enrollments:write");
    assert_eq!(params["prompt"], "consent");
    assert!(params["state"].len() >= 32);

    let without = TestApp::spawn_with(TestOptions {
        sequencer: Some(ProviderConfig::default()),
        pkce: false,
        ..Default::default()
    })
    .await;
    let client = without.user("bob").await;
    let response = without
        .get(&client, "/connections/sequencer/user/connect")
        .await;
    assert!(!location(&response).contains("code_challenge"));
    let response = approve_at_provider(
        &without,
        &client,
        "/connections/sequencer/user/connect",
        "approve",
    )
    .await;
    assert_eq!(
        location(&response),
        "/connections",
        "a provider without PKCE still connects"
    );
}

#[tokio::test]
async fn a_callback_state_is_single_use_and_bound_to_the_session() {
    let app = app_with(ProviderConfig::default()).await;
    let victim = app.user("carol").await;
    let attacker = app.user("mallory").await;
    // The attacker's approved callback, opened in the victim's session, is refused.
    let response = app
        .get(&attacker, "/connections/sequencer/user/connect")
        .await;
    let consent = attacker
        .get(location(&response))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let base = &app.provider.as_ref().unwrap().1;
    let answer = attacker
        .post(format!("{base}/provider/authorize"))
        .form(&[
            (
                "request_id",
                form_value(&consent, "request_id").unwrap().as_str(),
            ),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    let callback = location(&answer);
    assert_eq!(
        victim.get(&callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // And the state is spent: the attacker cannot use it any more either.
    assert_eq!(
        attacker.get(&callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let victim_ctx = ctx(&app, "carol").await;
    assert!(matches!(
        app.state.connections.user(&victim_ctx, &SEQUENCER).await,
        Err(ConnectionError::Required(_))
    ));
    // Denying says so and stores nothing.
    let response =
        approve_at_provider(&app, &victim, "/connections/sequencer/user/connect", "deny").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("You cancelled at Sequencer"));
}

#[tokio::test]
async fn only_a_workspace_admin_manages_workspace_connections() {
    let app = app_with(ProviderConfig::default()).await;
    let admin = app.user("admin").await;
    app.connect(&admin).await;
    let member = app.user("member").await;
    let member_id = app.sandbox.sandbox.member_ids()[1].to_string();
    app.connect_as(&member, Some(&member_id)).await;

    // A non-admin is refused, and the page says why.
    let response = app
        .get(&member, "/connections/sequencer/workspace/connect")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(app
        .page(&member, "/connections")
        .await
        .contains("Only workspace admins manage this."));
    let member_ctx = ctx(&app, "member").await;
    match app
        .state
        .connections
        .workspace(&member_ctx, &SEQUENCER)
        .await
    {
        Err(ConnectionError::Required(required)) => {
            assert_eq!(required.scope, OwnerKind::Workspace);
            assert!(!required.can_connect, "a non-admin is told to ask an admin");
        }
        other => panic!("expected ConnectionRequired, got {other:?}"),
    }

    // The admin connects it; every member then reads the same shared value.
    let response = approve_at_provider(
        &app,
        &admin,
        "/connections/sequencer/workspace/connect",
        "approve",
    )
    .await;
    assert_eq!(location(&response), "/connections");
    let admin_ctx = ctx(&app, "admin").await;
    let for_admin = app
        .state
        .connections
        .workspace(&admin_ctx, &SEQUENCER)
        .await
        .unwrap();
    let for_member = app
        .state
        .connections
        .workspace(&member_ctx, &SEQUENCER)
        .await
        .unwrap();
    assert_eq!(for_admin.value, for_member.value);
    assert_eq!(for_member.created_by, admin_ctx.user);
    // The member may not remove it.
    let response = app
        .post_form(&member, "/connections/sequencer/workspace/disconnect", &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_connection_is_refreshed_before_it_expires() {
    let app = app_with(ProviderConfig {
        access_token_ttl: Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    connected_user(&app, "dan").await;
    let ctx = ctx(&app, "dan").await;
    let before = provider(&app).refresh_requests();
    let first = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    assert_eq!(
        provider(&app).refresh_requests(),
        before + 1,
        "60 s left is inside the 5 minute margin"
    );
    // The refreshed token lasts 60 s too, so the next read refreshes again (with the rotated
    // refresh token, which the provider checks).
    let second = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    assert_eq!(provider(&app).refresh_requests(), before + 2);
    assert_ne!(first.value, second.value);
}

#[tokio::test]
async fn fifty_concurrent_reads_of_an_expiring_connection_cause_one_refresh() {
    let app = app_with(ProviderConfig::default()).await;
    connected_user(&app, "erin").await;
    let ctx = Arc::new(ctx(&app, "erin").await);
    let original = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    // Now make the stored token due: one minute left.
    app.execute(&format!(
        "UPDATE connections SET expires_at = {}",
        taskr::now() + 60
    ))
    .await;
    app.state.connections.forget_cached();
    let before = provider(&app).refresh_requests();
    let mut reads = Vec::new();
    for _ in 0..50 {
        let (state, ctx) = (app.state.clone(), ctx.clone());
        reads.push(tokio::spawn(async move {
            state.connections.user(&ctx, &SEQUENCER).await
        }));
    }
    let mut values = std::collections::HashSet::new();
    for read in reads {
        values.insert(read.await.unwrap().unwrap().value.expose().to_owned());
    }
    assert_eq!(
        provider(&app).refresh_requests() - before,
        1,
        "exactly one refresh request"
    );
    assert_eq!(values.len(), 1, "every reader got the new token");
    assert!(!values.contains(original.value.expose()));
}

#[tokio::test]
async fn a_refresh_answer_without_a_refresh_token_keeps_the_old_one() {
    let app = app_with(ProviderConfig {
        access_token_ttl: Duration::from_secs(60),
        rotate_refresh_tokens: false,
        omit_refresh_token_on_refresh: true,
        ..Default::default()
    })
    .await;
    connected_user(&app, "fay").await;
    let ctx = ctx(&app, "fay").await;
    for _ in 0..3 {
        app.state
            .connections
            .user(&ctx, &SEQUENCER)
            .await
            .expect("refresh with the kept token");
    }
    assert!(provider(&app).refresh_requests() >= 3);
}

#[tokio::test]
async fn a_revoked_grant_leads_to_needs_reconnect() {
    let app = app_with(ProviderConfig::default()).await;
    let client = connected_user(&app, "gus").await;
    let ctx = ctx(&app, "gus").await;
    provider(&app).revoke_all();
    app.execute(&format!(
        "UPDATE connections SET expires_at = {}",
        taskr::now() + 10
    ))
    .await;
    app.state.connections.forget_cached();
    match app.state.connections.user(&ctx, &SEQUENCER).await {
        Err(ConnectionError::Required(required)) => {
            assert!(required.reason.unwrap().contains("refused to renew access"));
        }
        other => panic!("expected ConnectionRequired, got {other:?}"),
    }
    let page = app.page(&client, "/connections").await;
    assert!(page.contains("Needs reconnect"));
    // Later reads do not hammer the provider: the connection stays broken until reconnected.
    let before = provider(&app).refresh_requests();
    assert!(app.state.connections.user(&ctx, &SEQUENCER).await.is_err());
    assert_eq!(provider(&app).refresh_requests(), before);
    let response = approve_at_provider(
        &app,
        &client,
        "/connections/sequencer/user/connect",
        "approve",
    )
    .await;
    assert_eq!(location(&response), "/connections");
    assert!(app.state.connections.user(&ctx, &SEQUENCER).await.is_ok());
}

#[tokio::test]
async fn a_401_from_the_provider_forces_one_refresh_and_one_retry() {
    let app = app_with(ProviderConfig::default()).await;
    let client = connected_user(&app, "hal").await;
    app.connect(&client).await;
    let ctx = ctx(&app, "hal").await;
    // The provider considers the token expired although Taskr does not know it yet.
    provider(&app).expire_access_tokens();
    let before = provider(&app).refresh_requests();
    let task = person_task(&app, "hal").await;
    let page = app.page(&client, &format!("/tasks/{task}/sequence")).await;
    assert!(
        page.contains("Enroll"),
        "the retry after the refresh succeeded"
    );
    assert_eq!(provider(&app).refresh_requests() - before, 1);
    assert!(app.state.connections.user(&ctx, &SEQUENCER).await.is_ok());
}

#[tokio::test]
async fn disconnecting_revokes_at_the_provider_then_deletes() {
    let app = app_with(ProviderConfig::default()).await;
    let client = connected_user(&app, "ivy").await;
    let ctx = ctx(&app, "ivy").await;
    let connection = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    let response = app
        .post_form(&client, "/connections/sequencer/user/disconnect", &[])
        .await;
    assert_eq!(
        location(&response),
        "/connections?notice=connection-removed"
    );
    assert!(provider(&app).revoked_tokens() >= 1);
    // The revoked token no longer works at the provider's API.
    let base = &app.provider.as_ref().unwrap().1;
    let api = Client::new()
        .get(format!("{base}/sequencer/v1/sequences"))
        .bearer_auth(connection.value.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(matches!(
        app.state.connections.user(&ctx, &SEQUENCER).await,
        Err(ConnectionError::Required(_))
    ));
}

#[tokio::test]
async fn secrets_are_validated_shown_only_by_their_last_four_characters_and_never_stored_in_plaintext(
) {
    use taskr::connections::providers::parse;
    let mailer = parse(
        "[[provider]]\nname = \"mailer\"\ndisplay_name = \"Mailer\"\nkind = \"secret\"\nuser = true\npattern = \"key-[a-z0-9]{16}\"\nhelp = \"Settings, API keys\"",
        &|_| None,
    )
    .unwrap();
    let app = TestApp::spawn_with(TestOptions {
        sequencer: Some(ProviderConfig::default()),
        extra_providers: mailer,
        ..Default::default()
    })
    .await;
    let client = connected_user(&app, "jolene").await;
    let form = app.page(&client, "/connections/mailer/user/connect").await;
    assert!(form.contains("Settings, API keys"));
    let response = app
        .post_form(
            &client,
            "/connections/mailer/user/secret",
            &[("value", "not-a-key")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("does not look like a Mailer secret"));
    let secret = "key-0123456789abwxyz";
    let response = app
        .post_form(
            &client,
            "/connections/mailer/user/secret",
            &[("value", secret)],
        )
        .await;
    assert_eq!(location(&response), "/connections");
    let page = app.page(&client, "/connections").await;
    assert!(page.contains("…wxyz"));
    assert!(!page.contains(secret));

    let ctx = ctx(&app, "jolene").await;
    let mailer = app.state.connections.user(&ctx, &MAILER).await.unwrap();
    assert_eq!(mailer.value.expose(), secret);
    assert!(
        !format!("{mailer:?}").contains(secret),
        "Debug hides the value"
    );
    let sequencer = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    let bytes = app.database_bytes().await;
    for plain in [secret, sequencer.value.expose()] {
        assert!(
            !bytes.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "plaintext in the database"
        );
    }
}

#[tokio::test]
async fn key_rotation_reseals_everything_and_reads_still_work() {
    use taskr::crypto::{Cipher, KeyMaterial};
    let app = app_with(ProviderConfig::default()).await;
    let client = connected_user(&app, "kim").await;
    app.connect(&client).await;
    let ctx = ctx(&app, "kim").await;
    let before = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();

    let new_key = KeyMaterial::generate();
    let old_key_id = app.state.cipher.key_id().to_owned();
    // The old key stays readable through the app's cipher: rotate with [new, old].
    let rotated = rotation_cipher(&app, &new_key);
    let report = taskr::keys::rotate(app.state.store.as_ref(), &rotated, false)
        .await
        .unwrap();
    // The Attio token, the webhook secret, and the connection's access and refresh tokens.
    assert!(report.resealed >= 3, "{report:?}");
    assert_eq!(report.unreadable, 0);
    let again = taskr::keys::rotate(app.state.store.as_ref(), &rotated, false)
        .await
        .unwrap();
    assert_eq!(again.resealed, 0, "a second run finds nothing to do");
    for (table, column) in [
        ("attio_links", "token_key_id"),
        ("connections", "value_key_id"),
        ("connections", "refresh_key_id"),
        ("webhooks", "secret_key_id"),
    ] {
        let stale = app
            .count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {column} = '{old_key_id}'"
            ))
            .await;
        assert_eq!(stale, 0, "{table}.{column} still under the old key");
    }
    // With only the new key, everything still opens.
    let fresh = taskr::connections::Connections::new(
        app.state.connections.providers().to_vec(),
        app.state.store.clone(),
        Cipher::new(&new_key),
        reqwest::Client::new(),
    );
    assert_eq!(
        fresh.user(&ctx, &SEQUENCER).await.unwrap().value,
        before.value
    );
    let link = app.state.store.link(ctx.user).await.unwrap().unwrap();
    assert!(Cipher::new(&new_key)
        .open(
            &link.token,
            &taskr::store::contexts::attio_token(ctx.user.0)
        )
        .is_ok());
}

/// A cipher sealing with `new` that still opens the app's current key.
fn rotation_cipher(app: &TestApp, new: &taskr::crypto::KeyMaterial) -> taskr::crypto::Cipher {
    app.state.cipher.rotated_to(new)
}

#[tokio::test]
async fn the_connections_page_lists_every_provider_with_its_state() {
    let app = app_with(ProviderConfig::default()).await;
    let client = connected_user(&app, "lee").await;
    let page = app.page(&client, "/connections").await;
    assert!(page.contains("Sequencer"));
    assert!(page.contains("Connected</span> by you"));
    assert!(page.contains("Access expires"));
    let response = app
        .post_form(&client, "/connections/sequencer/user/test", &[])
        .await;
    assert_eq!(location(&response), "/connections?notice=connection-ok");
    // Bad input gets a clear 4xx.
    for path in [
        "/connections/nope/user/connect",
        "/connections/sequencer/galaxy/connect",
    ] {
        assert_eq!(
            app.get(&client, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let anonymous = browser();
    assert_eq!(
        app.get(&anonymous, "/connections").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_provider_in_a_url_gets_a_404_page_never_a_500() {
    let app = app_with(ProviderConfig::default()).await;
    let client = connected_user(&app, "ursula").await;
    let too_long = "a".repeat(41);
    // Each segment reaches the handler as its decoded text.
    let providers = [
        ("nope", "unknown but well formed"),
        ("Sequencer", "upper case"),
        ("seq%20uencer", "a space"),
        ("seq%2Fuencer", "an encoded slash"),
        ("s%C3%A9quencer", "not ASCII"),
        ("%00", "a control character"),
        (too_long.as_str(), "too long"),
    ];
    for (provider, why) in providers {
        let mut answers = vec![
            (
                "GET connect",
                app.get(&client, &format!("/connections/{provider}/user/connect"))
                    .await,
            ),
            (
                "GET callback",
                app.get(
                    &client,
                    &format!("/connections/{provider}/callback?state=s&code=c"),
                )
                .await,
            ),
        ];
        for action in ["secret", "disconnect", "test"] {
            let path = format!("/connections/{provider}/user/{action}");
            answers.push((
                action,
                app.post_form(&client, &path, &[("value", "key-0123456789abcdef")])
                    .await,
            ));
        }
        for (what, response) in answers {
            let status = response.status();
            let body = response.text().await.unwrap();
            // An unknown provider's callback is judged by its state (which is not valid):
            // 400, as before; a name that cannot be a provider's stops at the edge with a 404.
            let expected = if what == "GET callback" && provider == "nope" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, expected, "{what} with {why} ({provider:?}): {body}");
            let message = if expected == StatusCode::NOT_FOUND {
                "That page does not exist."
            } else {
                "This connection attempt is not valid"
            };
            assert!(body.contains(message), "{what} with {why}: {body}");
        }
    }
    // Nothing was connected, disconnected or broken along the way.
    let ctx = ctx(&app, "ursula").await;
    assert!(app.state.connections.user(&ctx, &SEQUENCER).await.is_ok());
}

#[tokio::test]
async fn the_keys_rotate_command_reseals_a_live_database_and_can_run_again() {
    let old_key = "11".repeat(32);
    let new_key = "22".repeat(32);
    let app = TestApp::spawn_with(TestOptions {
        sequencer: Some(ProviderConfig::default()),
        key: Some(old_key.clone()),
        ..Default::default()
    })
    .await;
    connected_user(&app, "rotor").await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_taskr"))
            .arg("--data-dir")
            .arg(app.data_dir.path())
            .arg("--database-url")
            .arg(app.database.url().expose())
            .args(["keys", "rotate"])
            .env("TASKR_ENCRYPTION_KEY", &new_key)
            .env("TASKR_OLD_ENCRYPTION_KEYS", &old_key)
            .env_remove("ATTIO_CLIENT_ID")
            .env_remove("ATTIO_CLIENT_SECRET")
            .output()
            .expect("taskr keys rotate runs")
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    let resealed: u64 = out
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output {out:?}"));
    assert!(resealed >= 3, "{out}");
    let old_id = taskr::crypto::KeyMaterial::parse(&old_key).unwrap().id();
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM connections WHERE value_key_id = '{old_id}' OR refresh_key_id = '{old_id}'")).await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM attio_links WHERE token_key_id = '{old_id}'"
        ))
        .await,
        0
    );
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("keys rotate: 0 re-sealed"));
    // Without the old key configured, a value still under it would be reported, not skipped.
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_taskr"))
        .arg("--data-dir")
        .arg(app.data_dir.path())
        .arg("--database-url")
        .arg(app.database.url().expose())
        .args(["keys", "rotate"])
        .env("TASKR_ENCRYPTION_KEY", "33".repeat(32))
        .output()
        .unwrap();
    assert!(
        !missing.status.success(),
        "values under an unconfigured key are an error"
    );
}

#[tokio::test]
async fn a_short_secret_is_never_hinted_at_and_a_long_one_only_by_its_last_four() {
    use taskr::connections::providers::parse;
    let mailer = parse(
        "[[provider]]\nname = \"mailer\"\ndisplay_name = \"Mailer\"\nkind = \"secret\"\nuser = true",
        &|_| None,
    )
    .unwrap();
    let app = TestApp::spawn_with(TestOptions {
        extra_providers: mailer,
        ..Default::default()
    })
    .await;
    let client = app.user("shorty").await;
    app.connect(&client).await;
    for (secret, shown, hidden) in [
        ("k9x2q", "value hidden", "9x2q"),
        ("abcdefghijk", "value hidden", "hijk"),
        ("abcdefghijkl", "value …ijkl", "value hidden"),
    ] {
        let response = app
            .post_form(
                &client,
                "/connections/mailer/user/secret",
                &[("value", secret)],
            )
            .await;
        assert_eq!(location(&response), "/connections", "{secret}");
        let page = app.page(&client, "/connections").await;
        assert!(page.contains(shown), "{secret}: {shown}");
        assert!(!page.contains(hidden), "{secret}: {hidden}");
    }
}
