//! The token endpoint's authorization-code grant: PKCE, single-use codes, exact redirect URIs,
//! client authentication, RFC 6749 error answers and the request counters.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{
    authorize_params, read_json, spawn, string, with, TestProvider, CLIENT_ID, CLIENT_SECRET,
    REDIRECT_URI, VERIFIER,
};

#[tokio::test]
async fn a_full_pkce_flow_issues_bearer_tokens_that_open_the_api() {
    let app = spawn().await;
    let code = app.code_for(&authorize_params()).await;
    let response = app
        .http
        .post(app.url("/provider/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token answers");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "sequences:read enrollments:write");
    let access = string(&body, "access_token");
    let refresh = string(&body, "refresh_token");
    assert!(access.len() >= 43 && refresh.len() >= 43);
    assert_ne!(access, refresh);

    let (status, me) = app
        .api(Method::GET, "/provider/userinfo", Some(&access), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "demo@sequencer.test");
    assert!(me["sub"].as_str().is_some_and(|s| s.starts_with("usr_")));
    assert_eq!(app.sequences(&access).await, StatusCode::OK);
}

#[tokio::test]
async fn a_login_hint_becomes_the_tokens_user() {
    let app = spawn().await;
    let params = with(authorize_params(), "login_hint", Some("ada@example.com"));
    let code = app.code_for(&params).await;
    let (_, body) = app.exchange(&code, Some(VERIFIER)).await;
    let (_, me) = app
        .api(
            Method::GET,
            "/provider/userinfo",
            Some(&string(&body, "access_token")),
            None,
        )
        .await;
    assert_eq!(me["email"], "ada@example.com");
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_gets_invalid_grant_and_spends_the_code() {
    let app = spawn().await;
    let other_verifier = "x".repeat(43);
    for (case, verifier) in [("wrong", Some(other_verifier.as_str())), ("missing", None)] {
        let code = app.code_for(&authorize_params()).await;
        let (status, body) = app.exchange(&code, verifier).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{case}");
        assert!(body["error_description"].is_string(), "{case}");
        let (status, _) = app.exchange(&code, Some(VERIFIER)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: the code is spent");
    }
}

#[tokio::test]
async fn without_pkce_no_verifier_is_needed_and_an_unexpected_one_is_refused() {
    let app = spawn().await;
    let plain = with(
        with(authorize_params(), "code_challenge", None),
        "code_challenge_method",
        None,
    );
    let code = app.code_for(&plain).await;
    let (status, body) = app.exchange(&code, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let code = app.code_for(&plain).await;
    let (status, body) = app.exchange(&code, Some(VERIFIER)).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &Value::from("invalid_grant"))
    );
}

#[tokio::test]
async fn a_code_works_once_and_replaying_it_revokes_the_tokens_it_gave() {
    let app = spawn().await;
    let code = app.code_for(&authorize_params()).await;
    let (status, first) = app.exchange(&code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, second) = app.exchange(&code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    let access = string(&first, "access_token");
    assert_eq!(app.sequences(&access).await, StatusCode::UNAUTHORIZED);
    let (status, body) = app.refresh(&string(&first, "refresh_token")).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &Value::from("invalid_grant"))
    );
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorize_one_gets_invalid_grant() {
    let app = spawn().await;
    let other = format!("{REDIRECT_URI}?x=1");
    for (case, redirect) in [("different", Some(other.as_str())), ("missing", None)] {
        let code = app.code_for(&authorize_params()).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", VERIFIER),
        ];
        if let Some(redirect) = redirect {
            form.push(("redirect_uri", redirect));
        }
        let (status, body) = app.token(&form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}");
        assert_eq!(body["error"], "invalid_grant", "{case}");
    }
}

#[tokio::test]
async fn an_unknown_code_gets_invalid_grant() {
    let app = spawn().await;
    let (status, body) = app.exchange("code_made_up", Some(VERIFIER)).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &Value::from("invalid_grant"))
    );
}

/// Posts an exchange of a fresh code with raw credentials.
async fn exchange_with(
    app: &TestProvider,
    body_credentials: &[(&str, &str)],
    authorization: Option<String>,
) -> reqwest::Response {
    let code = app.code_for(&authorize_params()).await;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    form.extend_from_slice(body_credentials);
    let mut request = app.http.post(app.url("/provider/token")).form(&form);
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.send().await.expect("token answers")
}

fn basic(id: &str, secret: &str) -> Option<String> {
    Some(format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{secret}"))
    ))
}

/// A case name, the client fields of the body and an `Authorization` header.
type BadClient = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<String>,
);

#[tokio::test]
async fn a_bad_client_gets_invalid_client_whether_it_uses_the_body_or_basic() {
    let app = spawn().await;
    let cases: Vec<BadClient> = vec![
        (
            "body: wrong secret",
            vec![("client_id", CLIENT_ID), ("client_secret", "nope")],
            None,
        ),
        (
            "body: unknown client",
            vec![("client_id", "other"), ("client_secret", CLIENT_SECRET)],
            None,
        ),
        ("body: no secret", vec![("client_id", CLIENT_ID)], None),
        ("no credentials at all", vec![], None),
        ("basic: wrong secret", vec![], basic(CLIENT_ID, "nope")),
        (
            "basic: unknown client",
            vec![],
            basic("other", CLIENT_SECRET),
        ),
        ("basic: not base64", vec![], Some("Basic !!!".to_owned())),
        (
            "basic: no colon",
            vec![],
            Some(format!("Basic {}", STANDARD.encode(CLIENT_ID))),
        ),
    ];
    for (case, body_credentials, authorization) in cases {
        let used_basic = authorization.is_some();
        let response = exchange_with(&app, &body_credentials, authorization).await;
        assert_eq!(
            response.headers().contains_key(WWW_AUTHENTICATE),
            used_basic,
            "{case}: a Basic challenge answers Basic credentials"
        );
        let (status, body) = read_json(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        assert_eq!(body["error"], "invalid_client", "{case}");
    }
}

#[tokio::test]
async fn a_good_client_may_authenticate_with_basic() {
    let app = spawn().await;
    let response = exchange_with(
        &app,
        &[("client_id", CLIENT_ID)],
        basic(CLIENT_ID, CLIENT_SECRET),
    )
    .await;
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn unsupported_grant_types_get_unsupported_grant_type() {
    let app = spawn().await;
    for grant in ["password", "client_credentials", "implicit"] {
        let (status, body) = app.token(&[("grant_type", grant)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{grant}");
        assert_eq!(body["error"], "unsupported_grant_type", "{grant}");
    }
}

#[tokio::test]
async fn malformed_token_requests_get_invalid_request() {
    let app = spawn().await;
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("no grant type", &[("code", "c")]),
        ("no code", &[("grant_type", "authorization_code")]),
        ("no refresh token", &[("grant_type", "refresh_token")]),
        (
            "code given twice",
            &[
                ("grant_type", "authorization_code"),
                ("code", "a"),
                ("code", "b"),
            ],
        ),
    ];
    for (case, form) in cases {
        let (status, body) = app.token(form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert_eq!(body["error"], "invalid_request", "{case}");
    }
}

#[tokio::test]
async fn token_and_refresh_requests_are_counted_whatever_their_outcome() {
    let app = spawn().await;
    assert_eq!(
        (
            app.provider.token_requests(),
            app.provider.refresh_requests()
        ),
        (0, 0)
    );
    let tokens = app.grant().await;
    app.token(&[("grant_type", "password")]).await;
    app.refresh(&tokens.refresh).await;
    app.refresh("rt_unknown").await;
    let unauthenticated = app
        .http
        .post(app.url("/provider/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &tokens.refresh),
        ])
        .send()
        .await
        .expect("token answers");
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.provider.token_requests(), 5);
    assert_eq!(app.provider.refresh_requests(), 3);
}
