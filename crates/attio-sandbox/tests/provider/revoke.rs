//! RFC 7009 revocation: access tokens alone, refresh tokens with their whole grant, and the
//! always-200 answer for tokens that are unknown or already revoked.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{read_json, spawn, TestProvider, CLIENT_ID, CLIENT_SECRET};

async fn revoke(app: &TestProvider, token: &str, hint: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![
        ("token", token),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    let response = app
        .http
        .post(app.url("/provider/revoke"))
        .form(&form)
        .send()
        .await
        .expect("revoke answers");
    read_json(response).await
}

#[tokio::test]
async fn revoking_an_access_token_closes_the_api_to_that_token_only() {
    let app = spawn().await;
    let (mine, other) = (app.grant().await, app.grant().await);
    assert_eq!(
        revoke(&app, &mine.access, Some("access_token")).await.0,
        StatusCode::OK
    );
    assert_eq!(app.sequences(&mine.access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.sequences(&other.access).await, StatusCode::OK);
    // The grant lives on: its refresh token still works.
    assert_eq!(app.refresh(&mine.refresh).await.0, StatusCode::OK);
    assert_eq!(app.provider.revoked_tokens(), 1);
}

#[tokio::test]
async fn revoking_a_refresh_token_also_revokes_the_access_tokens_of_its_grant() {
    let app = spawn().await;
    for hint in [
        Some("refresh_token"),
        None,
        Some("access_token"),
        Some("bogus"),
    ] {
        let tokens = app.grant().await;
        assert_eq!(
            revoke(&app, &tokens.refresh, hint).await.0,
            StatusCode::OK,
            "{hint:?}"
        );
        assert_eq!(
            app.sequences(&tokens.access).await,
            StatusCode::UNAUTHORIZED,
            "{hint:?}"
        );
        let (status, body) = app.refresh(&tokens.refresh).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{hint:?}");
        assert_eq!(body["error"], "invalid_grant", "{hint:?}");
    }
    assert_eq!(app.provider.revoked_tokens(), 4);
}

#[tokio::test]
async fn revoking_an_unknown_or_already_revoked_token_answers_200_and_counts_nothing() {
    let app = spawn().await;
    let tokens = app.grant().await;
    assert_eq!(revoke(&app, "at_made_up", None).await.0, StatusCode::OK);
    assert_eq!(revoke(&app, &tokens.refresh, None).await.0, StatusCode::OK);
    assert_eq!(revoke(&app, &tokens.refresh, None).await.0, StatusCode::OK);
    assert_eq!(revoke(&app, &tokens.access, None).await.0, StatusCode::OK);
    assert_eq!(app.provider.revoked_tokens(), 1);
}

#[tokio::test]
async fn revocation_requires_an_authenticated_client_and_a_token() {
    let app = spawn().await;
    let tokens = app.grant().await;
    let anonymous = app
        .http
        .post(app.url("/provider/revoke"))
        .form(&[("token", tokens.access.as_str())])
        .send()
        .await
        .expect("revoke answers");
    let (status, body) = read_json(anonymous).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &Value::from("invalid_client"))
    );
    assert_eq!(app.sequences(&tokens.access).await, StatusCode::OK);

    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let no_token = app
        .http
        .post(app.url("/provider/revoke"))
        .header(AUTHORIZATION, &basic)
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .expect("revoke answers");
    let (status, body) = read_json(no_token).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &Value::from("invalid_request"))
    );

    let with_basic = app
        .http
        .post(app.url("/provider/revoke"))
        .header(AUTHORIZATION, &basic)
        .form(&[("token", tokens.access.as_str())])
        .send()
        .await
        .expect("revoke answers");
    assert_eq!(with_basic.status(), StatusCode::OK);
    assert_eq!(
        app.sequences(&tokens.access).await,
        StatusCode::UNAUTHORIZED
    );
}
