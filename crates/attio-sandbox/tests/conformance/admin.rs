//! Loopback-only sandbox controls (`/_sandbox/api-keys`, `/`), static assets, and determinism.

use attio_sandbox::{Config, Sandbox, ALL_SCOPES};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{assert_flat_error, read_json, spawn};

#[tokio::test]
async fn the_api_keys_endpoint_mints_keys_with_the_requested_scopes() {
    let t = spawn().await;
    let response = t
        .http
        .post(t.url("/_sandbox/api-keys"))
        .json(&json!({"scopes": ["task:read", "user_management:read"]}))
        .send()
        .await
        .expect("answers");
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["workspace_id"], t.sandbox().workspace_id().to_string());
    let token = body["token"].as_str().expect("token");
    let (_, me) = t.get("/v2/self", token).await;
    assert_eq!(me["active"], true);
    assert_eq!(me["scope"], "task:read user_management:read");
    assert_eq!(me["client_id"], "sandbox-api-key");
    assert_eq!(me["token_level"], "workspace");
    assert_eq!(me["aud"], "sandbox-api-key");
    assert_eq!(
        me["authorized_by_workspace_member_id"],
        t.sandbox().admin_member_id().to_string()
    );
    assert!(
        !t.sandbox()
            .issued_access_tokens()
            .contains(&token.to_owned()),
        "API keys are not OAuth tokens"
    );
}

#[tokio::test]
async fn an_api_key_request_without_scopes_gets_every_scope() {
    let t = spawn().await;
    let all = ALL_SCOPES.join(" ");
    for body in ["{}", "", "{\"scopes\": null}"] {
        let response = t
            .http
            .post(t.url("/_sandbox/api-keys"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("answers");
        let (status, minted) = read_json(response).await;
        assert_eq!(status, StatusCode::OK, "{body:?}");
        let (_, me) = t
            .get("/v2/self", minted["token"].as_str().expect("token"))
            .await;
        assert_eq!(me["scope"], all.as_str(), "{body:?}");
    }
}

#[tokio::test]
async fn bad_api_key_requests_are_rejected() {
    let t = spawn().await;
    let cases = [
        ("unknown scope", "{\"scopes\": [\"task:write\"]}"),
        ("scope not a string", "{\"scopes\": [1]}"),
        ("scopes not a list", "{\"scopes\": \"task:read\"}"),
        ("misspelt field", "{\"scope\": [\"task:read\"]}"),
        ("not JSON", "scopes=task:read"),
        ("not an object", "[]"),
    ];
    for (case, body) in cases {
        let response = t
            .http
            .post(t.url("/_sandbox/api-keys"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("answers");
        let (status, error) = read_json(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}");
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
    }
}

#[tokio::test]
async fn sandbox_controls_refuse_peers_that_are_not_loopback() {
    // Served without connect info the sandbox cannot see the peer, and must fail closed.
    let sandbox = Sandbox::new(Config::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        sandbox.router(),
    )));
    let http = reqwest::Client::new();
    for (method, path) in [
        ("POST", "/_sandbox/api-keys"),
        ("GET", "/"),
        ("GET", "/_sandbox/anything"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = http
            .request(method, format!("http://{addr}{path}"))
            .send()
            .await
            .expect("answers");
        let (status, body) = read_json(response).await;
        assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
    }
    // The API itself does not depend on the peer.
    let key = sandbox.mint_api_key(None);
    let response = http
        .get(format!("http://{addr}/v2/workspace_members"))
        .bearer_auth(key)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_sandbox_controls_are_404_for_local_callers() {
    let t = spawn().await;
    let response = t
        .http
        .get(t.url("/_sandbox/nothing"))
        .send()
        .await
        .expect("answers");
    let (status, body) = read_json(response).await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
}

#[tokio::test]
async fn the_overview_page_names_the_workspace_members_and_task_count() {
    let t = spawn().await;
    let response = t.http.get(t.url("/")).send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    let page = response.text().await.expect("page");
    for expected in [
        "Acme Demo",
        "Alice Moreau",
        "alice.moreau@acme-demo.test",
        "suspended",
        "<strong>48</strong> tasks",
    ] {
        assert!(page.contains(expected), "page lacks {expected}");
    }
    assert!(page.contains("Chloé Martin"), "names keep their accents");
}

#[tokio::test]
async fn the_stylesheet_is_served_as_css() {
    let t = spawn().await;
    let response = t
        .http
        .get(t.url("/static/sandbox.css"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert!(response.text().await.expect("css").contains(".card"));
}

#[tokio::test]
async fn two_sandboxes_serve_identical_seed_data() {
    let (a, b) = (spawn().await, spawn().await);
    assert_eq!(a.sandbox().workspace_id(), b.sandbox().workspace_id());
    assert_eq!(a.sandbox().member_ids(), b.sandbox().member_ids());
    for path in ["/v2/tasks", "/v2/workspace_members"] {
        let (_, from_a): (_, Value) = a.get(path, &a.key()).await;
        let (_, from_b): (_, Value) = b.get(path, &b.key()).await;
        assert_eq!(from_a, from_b, "{path}");
    }
}
