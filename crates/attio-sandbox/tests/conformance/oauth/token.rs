//! `POST /oauth/token`: the code exchange, client authentication and its RFC 6749 errors.

use std::time::Duration;

use attio_sandbox::{Config, OAuthApp, DEFAULT_REDIRECT_URI};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::app;
use crate::{location, query_value, read_json, spawn, spawn_with};

#[tokio::test]
async fn the_full_flow_yields_a_token_that_v2_self_describes_at_the_top_level() {
    let t = spawn().await;
    let member = t.sandbox().member_ids()[3];
    let request_id = t.open_consent(Some("xyz 123")).await;
    let response = t
        .answer(&[
            ("request_id", &request_id),
            ("decision", "approve"),
            ("member_id", &member.to_string()),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let redirect = Url::parse(location(&response)).expect("absolute redirect");
    assert!(redirect.as_str().starts_with(DEFAULT_REDIRECT_URI));
    assert_eq!(query_value(&redirect, "state").as_deref(), Some("xyz 123"));
    let code = query_value(&redirect, "code").expect("code");

    let response = t
        .http
        .post(t.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("client_id", "sandbox-client"),
            ("client_secret", "sandbox-secret"),
        ])
        .send()
        .await
        .expect("token response");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().expect("access_token");
    assert!(token.len() >= 43, "{token}");
    assert_eq!(t.sandbox().issued_access_tokens(), vec![token.to_owned()]);

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (status, me) = t.get("/v2/self", token).await;
    assert_eq!(status, StatusCode::OK);
    let workspace_id = t.sandbox().workspace_id().to_string();
    assert!(me.get("data").is_none(), "not wrapped: {me}");
    assert_eq!(me["active"], true);
    assert_eq!(
        me["scope"],
        "task:read user_management:read object_configuration:read record_permission:read webhook:read-write"
    );
    assert_eq!(me["client_id"], "sandbox-client");
    assert_eq!(me["token_type"], "Bearer");
    assert_eq!(me["exp"], Value::Null);
    let iat = me["iat"].as_i64().expect("iat is a number");
    assert!((now - 60..=now + 60).contains(&iat), "iat {iat} near {now}");
    assert_eq!(me["sub"], workspace_id);
    assert_eq!(me["aud"], "sandbox-client");
    assert_eq!(me["iss"], "attio.com");
    assert_eq!(me["authorized_by_workspace_member_id"], member.to_string());
    assert_eq!(me["token_level"], "workspace");
    assert_eq!(me["workspace_id"], workspace_id);
    assert_eq!(me["workspace_name"], "Acme Demo");
    assert_eq!(me["workspace_slug"], "acme-demo");
    assert_eq!(me["workspace_logo_url"], Value::Null);
    assert_eq!(me.as_object().map(|o| o.len()), Some(15), "{me}");
}

#[tokio::test]
async fn a_code_works_once_and_its_second_use_revokes_the_token() {
    let t = spawn().await;
    let code = t.code().await;
    let (status, body) = t.exchange_code(&code).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(t.get("/v2/self", &token).await.1["active"], true);

    let (status, body) = t.exchange_code(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string());
    assert_eq!(
        t.get("/v2/self", &token).await.1,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn an_expired_code_is_an_invalid_grant() {
    let t = spawn_with(Config {
        code_ttl: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let code = t.code().await;
    let (status, body) = t.exchange_code(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(t.sandbox().issued_access_tokens().is_empty());
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let t = spawn_with(Config {
        apps: vec![OAuthApp::default(), app("other", DEFAULT_REDIRECT_URI)],
        ..Config::default()
    })
    .await;
    let code = t.code().await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DEFAULT_REDIRECT_URI),
        ("client_id", "sandbox-client"),
        ("client_secret", "sandbox-secret"),
    ];
    let with = |key: &'static str, value: Option<&'static str>| -> Vec<(&str, &str)> {
        let mut form: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| *k != key).collect();
        if let Some(v) = value {
            form.push((key, v));
        }
        form
    };
    let other_client = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DEFAULT_REDIRECT_URI),
        ("client_id", "other"),
        ("client_secret", "other-secret"),
    ];
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, Form, StatusCode, &str)> = vec![
        (
            "wrong secret",
            with("client_secret", Some("guess")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "unknown client",
            with("client_id", Some("nobody")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "no client",
            with("client_id", None),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "refresh grant",
            with("grant_type", Some("refresh_token")),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "no grant type",
            with("grant_type", None),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no code",
            with("code", None),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "unknown code",
            with("code", Some("not-a-code")),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "redirect mismatch",
            with("redirect_uri", Some("http://localhost:3050/other")),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "redirect missing",
            with("redirect_uri", None),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "another client's code",
            other_client,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ];
    for (case, form, status, error) in cases {
        let (got, body) = t.exchange(&form).await;
        assert_eq!(got, status, "{case}: {body}");
        assert_eq!(body["error"], error, "{case}");
        assert!(body["error_description"].is_string(), "{case}");
    }
    // None of the failures consumed the code: its rightful client can still use it.
    assert_eq!(t.exchange_code(&code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn clients_can_authenticate_with_a_json_body_or_http_basic() {
    let t = spawn().await;
    let code = t.code().await;
    let response = t
        .http
        .post(t.url("/oauth/token"))
        .json(&serde_json::json!({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        }))
        .send()
        .await
        .expect("token response");
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");

    let code = t.code().await;
    let basic = |secret: &str| {
        t.http
            .post(t.url("/oauth/token"))
            .basic_auth("sandbox-client", Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", DEFAULT_REDIRECT_URI),
            ])
            .send()
    };
    let wrong = basic("guess").await.expect("token response");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("www-authenticate").is_some());
    let (status, body) = read_json(basic("sandbox-secret").await.expect("token response")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(t.sandbox().issued_access_tokens().len(), 2);
}

#[tokio::test]
async fn app_scope_changes_apply_to_tokens_issued_afterwards_only() {
    let t = spawn().await;
    let before = t.oauth_token().await;
    t.sandbox()
        .set_app_scopes("sandbox-client", vec!["task:read-write".to_owned()]);
    let after = t.oauth_token().await;
    assert_eq!(
        t.get("/v2/self", &before).await.1["scope"],
        "task:read user_management:read object_configuration:read record_permission:read webhook:read-write"
    );
    assert_eq!(
        t.get("/v2/self", &after).await.1["scope"],
        "task:read-write"
    );
}

#[test]
fn debug_output_never_shows_client_secrets() {
    let config = Config {
        apps: vec![app("dbg", "http://localhost/cb")],
        ..Config::default()
    };
    let printed = format!("{config:?}");
    assert!(!printed.contains("dbg-secret"), "{printed}");
    assert!(!printed.contains("sandbox-secret"), "{printed}");
    assert!(printed.contains("[redacted]"));
}
