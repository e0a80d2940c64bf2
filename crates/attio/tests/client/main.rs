//! The Attio client against the sandbox: the OAuth flow, typed reads, paging and error mapping.

use attio::{AccessToken, AttioError, AuthorizeRequest, Client, OAuthApp, SelfInfo};
use attio_sandbox::{Sandbox, SpawnedSandbox};
use url::Url;

const REDIRECT: &str = "http://localhost:3050/integrations/attio/callback";

async fn sandbox() -> SpawnedSandbox {
    Sandbox::new(attio_sandbox::Config {
        apps: vec![attio_sandbox::OAuthApp {
            name: "Client tests".into(),
            client_id: "client-tests".into(),
            client_secret: "client-secret".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec![
                "task:read".into(),
                "user_management:read".into(),
                "object_configuration:read".into(),
                "record_permission:read".into(),
            ],
        }],
        ..Default::default()
    })
    .spawn()
    .await
    .unwrap()
}

fn app(sandbox: &SpawnedSandbox, secret: &str) -> OAuthApp {
    OAuthApp::new(
        Url::parse(&sandbox.base_url()).unwrap(),
        "client-tests",
        secret,
        attio::http_client().unwrap(),
    )
}

fn client(sandbox: &SpawnedSandbox, token: &str) -> Client {
    Client::new(
        Url::parse(&sandbox.base_url()).unwrap(),
        AccessToken::new(token),
        attio::http_client().unwrap(),
    )
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Walks the consent page as a person approving would; returns the authorization code.
async fn approve(sandbox: &SpawnedSandbox, app: &OAuthApp) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = app.authorize_url(&AuthorizeRequest {
        redirect_uri: REDIRECT,
        state: "s1",
    });
    let html = http.get(url).send().await.unwrap().text().await.unwrap();
    let member = sandbox.sandbox.admin_member_id().to_string();
    let response = http
        .post(format!("{}/authorize", sandbox.base_url()))
        .form(&[
            ("request_id", field(&html, "request_id").as_str()),
            ("decision", "approve"),
            ("member_id", member.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "s1");
    pairs["code"].clone()
}

#[tokio::test]
async fn the_oauth_flow_yields_a_token_that_identifies_the_workspace() {
    let sandbox = sandbox().await;
    let app = app(&sandbox, "client-secret");
    let code = approve(&sandbox, &app).await;
    let token = app.exchange_code(&code, REDIRECT).await.unwrap();
    assert!(!format!("{token:?}").contains(token.expose()));

    let info = match client(&sandbox, token.expose()).self_info().await.unwrap() {
        SelfInfo::Active(info) => info,
        SelfInfo::Inactive => panic!("a new token is active"),
    };
    assert_eq!(info.workspace_id, sandbox.sandbox.workspace_id());
    assert_eq!(info.workspace_name, sandbox.sandbox.workspace_name());
    assert_eq!(
        info.authorized_by_workspace_member_id,
        Some(sandbox.sandbox.admin_member_id())
    );
    assert!(info.has_scope("task:read"));
    assert!(!info.has_scope("webhook:read"));

    // The code is single-use.
    let again = app.exchange_code(&code, REDIRECT).await;
    assert!(matches!(again, Err(AttioError::OAuth(_))), "{again:?}");

    app.revoke(&token).await.unwrap();
    assert_eq!(
        client(&sandbox, token.expose()).self_info().await.unwrap(),
        SelfInfo::Inactive
    );
}

#[tokio::test]
async fn a_wrong_client_secret_or_redirect_uri_is_an_oauth_error() {
    let sandbox = sandbox().await;
    let good = app(&sandbox, "client-secret");
    let code = approve(&sandbox, &good).await;
    let bad = app(&sandbox, "wrong-secret");
    assert!(matches!(
        bad.exchange_code(&code, REDIRECT).await,
        Err(AttioError::OAuth(_))
    ));
    assert!(matches!(
        good.exchange_code(&code, "http://localhost:9999/other")
            .await,
        Err(AttioError::OAuth(_))
    ));
}

#[tokio::test]
async fn paging_through_tasks_returns_each_task_once() {
    let sandbox = sandbox().await;
    let api = client(&sandbox, &sandbox.sandbox.mint_api_key(None));
    let everything = api.all_tasks().await.unwrap();
    assert!(everything.len() >= 40);
    let paged = api.all_tasks_paged(7).await.unwrap();
    assert_eq!(
        paged, everything,
        "pages of 7 add up to the same list, in order"
    );
    let first = api.get_task(everything[0].id.task_id).await.unwrap();
    assert_eq!(first, everything[0]);
    let members = api.list_members().await.unwrap();
    assert!(members.len() >= 8);
    assert_eq!(
        members.iter().filter(|m| m.access_level == "admin").count(),
        1
    );
}

#[tokio::test]
async fn http_failures_map_to_typed_errors() {
    let sandbox = sandbox().await;
    let dead = client(&sandbox, "not-a-token");
    assert!(matches!(
        dead.list_members().await,
        Err(AttioError::Unauthorized(_))
    ));
    assert_eq!(dead.self_info().await.unwrap(), SelfInfo::Inactive);

    let narrow = client(
        &sandbox,
        &sandbox
            .sandbox
            .mint_api_key(Some(vec!["user_management:read".into()])),
    );
    let error = narrow.all_tasks().await.unwrap_err();
    assert!(matches!(error, AttioError::Forbidden(_)), "{error:?}");
    assert!(error.is_auth_failure());

    let full = client(&sandbox, &sandbox.sandbox.mint_api_key(None));
    assert!(matches!(
        full.get_task(uuid::Uuid::new_v4()).await,
        Err(AttioError::NotFound(_))
    ));

    // Nothing listens here: a transport error, which is worth retrying.
    let unreachable = Client::new(
        Url::parse("http://127.0.0.1:9").unwrap(),
        AccessToken::new("t"),
        attio::http_client().unwrap(),
    );
    let error = unreachable.self_info().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn the_shared_http_client_shows_redirects_instead_of_following_them() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let followed = Arc::new(AtomicUsize::new(0));
    let counter = followed.clone();
    let app = axum::Router::new()
        .route(
            "/start",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::FOUND,
                    [(axum::http::header::LOCATION, "/target")],
                )
            }),
        )
        .route(
            "/target",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { format!("{:?}", headers.get("user-agent")) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = attio::http_client().expect("the client builds");
    let response = http.get(format!("{base}/start")).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::FOUND);
    assert_eq!(
        followed.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    let agent = http
        .get(format!("{base}/target"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(agent.contains("taskr/"), "{agent}");
}

/// A receiver on port 0 that keeps each delivery's raw body and signature.
async fn receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(Vec<u8>, String)>,
) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let (sender, received) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sender = sender.clone();
            async move {
                let signature = headers
                    .get("attio-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let _ = sender.send((body.to_vec(), signature));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn webhooks_are_managed_and_their_deliveries_verify_and_parse() {
    use attio::{EventType, Subscription, WebhookPayload};
    let sandbox = sandbox().await;
    let api = client(&sandbox, &sandbox.sandbox.mint_api_key(None));
    let (url, mut received) = receiver().await;
    let created = api
        .create_webhook(&url, &Subscription::all_events())
        .await
        .unwrap();
    assert_eq!(created.secret.expose().len(), 64);
    assert!(!format!("{created:?}").contains(created.secret.expose()));
    let id = created.webhook.id.webhook_id;
    assert_eq!(created.webhook.subscriptions.len(), 27);
    assert_eq!(api.get_webhook(id).await.unwrap().status, "active");
    assert!(api
        .list_webhooks(10, 0)
        .await
        .unwrap()
        .iter()
        .any(|w| w.id.webhook_id == id));

    // A real change is delivered, signed over the exact bytes, and parses into a typed event.
    let task = sandbox.sandbox.create_task_as_member("Typed delivery");
    let (body, signature) =
        tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
            .await
            .expect("a delivery")
            .unwrap();
    assert!(created.secret.verify(&body, &signature));
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert!(!created.secret.verify(&tampered, &signature));
    let payload: WebhookPayload = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload.webhook_id, Some(id));
    assert_eq!(payload.events[0].event_type, EventType::TaskCreated);
    assert_eq!(
        payload.events[0].subject(),
        Some(attio::webhooks::Subject::Task(task))
    );

    let only_tasks = vec![Subscription {
        event_type: "task.deleted".into(),
        filter: None,
    }];
    let updated = api
        .update_webhook(id, None, Some(&only_tasks))
        .await
        .unwrap();
    assert_eq!(updated.subscriptions.len(), 1);
    api.delete_webhook(id).await.unwrap();
    assert!(matches!(
        api.get_webhook(id).await,
        Err(AttioError::NotFound(_))
    ));
}
