//! The refresh-token grant under each policy, and the controls tests use to script expiry,
//! revocation and failures without sleeping.

use std::time::Duration;

use attio_sandbox::provider::ProviderConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{config, spawn, spawn_with, string};

fn invalid_grant() -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, Value::from("invalid_grant"))
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_refuses_the_old_one() {
    let app = spawn().await;
    let tokens = app.grant().await;
    let (status, body) = app.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "sequences:read enrollments:write");
    let access = string(&body, "access_token");
    let rotated = string(&body, "refresh_token");
    assert_ne!(access, tokens.access);
    assert_ne!(rotated, tokens.refresh);
    assert_eq!(app.sequences(&access).await, StatusCode::OK);

    let (status, body) = app.refresh(&tokens.refresh).await;
    assert_eq!(
        (status, body["error"].clone()),
        invalid_grant(),
        "the old one is gone"
    );
    let (status, _) = app.refresh(&rotated).await;
    assert_eq!(status, StatusCode::OK, "the new one works");
}

#[tokio::test]
async fn without_rotation_a_refresh_returns_the_same_refresh_token_which_keeps_working() {
    let app = spawn_with(ProviderConfig {
        rotate_refresh_tokens: false,
        ..config()
    })
    .await;
    let tokens = app.grant().await;
    for _ in 0..2 {
        let (status, body) = app.refresh(&tokens.refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(string(&body, "refresh_token"), tokens.refresh);
    }
}

#[tokio::test]
async fn when_refresh_answers_omit_the_refresh_token_the_old_one_keeps_working() {
    // Omitting takes precedence over the (default) rotation.
    let app = spawn_with(ProviderConfig {
        omit_refresh_token_on_refresh: true,
        ..config()
    })
    .await;
    let tokens = app.grant().await;
    for _ in 0..2 {
        let (status, body) = app.refresh(&tokens.refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert_eq!(
            app.sequences(&string(&body, "access_token")).await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn revoke_all_makes_refreshes_fail_with_invalid_grant_and_the_api_answer_401() {
    let app = spawn().await;
    let tokens = app.grant().await;
    app.provider.revoke_all();
    let (status, body) = app.refresh(&tokens.refresh).await;
    assert_eq!((status, body["error"].clone()), invalid_grant());
    let (status, body) = app
        .api(
            Method::GET,
            "/sequencer/v1/sequences",
            Some(&tokens.access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    // A new consent works again.
    let fresh = app.grant().await;
    assert_eq!(app.sequences(&fresh.access).await, StatusCode::OK);
}

#[tokio::test]
async fn expired_access_tokens_get_401_until_a_refresh_brings_the_api_back() {
    let app = spawn().await;
    let tokens = app.grant().await;
    app.provider.expire_access_tokens();
    assert_eq!(
        app.sequences(&tokens.access).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.sequences(&string(&body, "access_token")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn injected_failures_fail_exactly_the_next_refreshes_and_spare_the_refresh_token() {
    let app = spawn().await;
    let tokens = app.grant().await;
    app.provider
        .set_fail_next_refreshes(2, 503, "temporarily_unavailable");
    for attempt in 1..=2 {
        let (status, body) = app.refresh(&tokens.refresh).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "attempt {attempt}");
        assert_eq!(
            body["error"], "temporarily_unavailable",
            "attempt {attempt}"
        );
    }
    let (status, body) = app.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    app.provider
        .set_fail_next_refreshes(1, 400, "invalid_grant");
    let (status, body) = app.refresh(&string(&body, "refresh_token")).await;
    assert_eq!((status, body["error"].clone()), invalid_grant());
    // Code exchanges are never affected.
    app.provider.set_fail_next_refreshes(1, 500, "server_error");
    app.grant().await;
    assert_eq!(app.provider.refresh_requests(), 4);
}

#[tokio::test]
async fn an_expired_refresh_token_gets_invalid_grant() {
    let app = spawn().await;
    app.provider
        .set_lifetimes(Duration::from_secs(3600), Some(Duration::ZERO));
    let tokens = app.grant().await;
    let (status, body) = app.refresh(&tokens.refresh).await;
    assert_eq!((status, body["error"].clone()), invalid_grant());
}

#[tokio::test]
async fn new_lifetimes_apply_to_tokens_issued_afterwards() {
    let app = spawn().await;
    let before = app.grant().await;
    app.provider.set_lifetimes(Duration::ZERO, None);
    let after = app.grant().await;
    assert_eq!(app.sequences(&before.access).await, StatusCode::OK);
    assert_eq!(app.sequences(&after.access).await, StatusCode::UNAUTHORIZED);
    app.provider.set_lifetimes(Duration::from_secs(60), None);
    let (_, body) = app.refresh(&after.refresh).await;
    assert_eq!(body["expires_in"], 60);
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let app = spawn().await;
    let tokens = app.grant().await;
    let (status, body) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &tokens.refresh),
            ("scope", "sequences:read"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "sequences:read");
    let (status, body) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &string(&body, "refresh_token")),
            ("scope", "sequences:read admin"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
}
