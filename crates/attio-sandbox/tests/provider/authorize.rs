//! The consent page: what it shows, which requests get an error page instead of a redirect,
//! and how approval and denial come back to the client.

use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;

use crate::helpers::{
    authorize_params, location, query, request_id, spawn, with, REDIRECT_URI, STATE,
};

#[tokio::test]
async fn the_consent_page_lists_the_scopes_and_posts_approve_or_deny_back() {
    let app = spawn().await;
    let page = app.authorize(&authorize_params()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/html"));
    assert!(page.headers().contains_key(CONTENT_SECURITY_POLICY));
    let html = page.text().await.expect("page body");
    assert!(html.contains("Sequencer wants access:"), "{html}");
    assert!(html.contains("<code>sequences:read</code>"), "{html}");
    assert!(html.contains("<code>enrollments:write</code>"), "{html}");
    assert!(html.contains(r#"<form method="post" action="/provider/authorize">"#));
    assert!(html.contains(r#"name="decision" value="approve""#));
    assert!(html.contains(r#"name="decision" value="deny""#));
    assert!(!request_id(&html).is_empty());

    let css = app
        .http
        .get(app.url("/provider/provider.css"))
        .send()
        .await
        .expect("stylesheet answers");
    assert_eq!(css.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unverified_client_or_redirect_uri_gets_an_html_error_page_never_a_redirect() {
    let app = spawn().await;
    let cases = [
        (
            "unknown client",
            with(authorize_params(), "client_id", Some("intruder")),
        ),
        (
            "missing client",
            with(authorize_params(), "client_id", None),
        ),
        (
            "unregistered redirect",
            with(
                authorize_params(),
                "redirect_uri",
                Some("https://evil.example/cb"),
            ),
        ),
        (
            "redirect differing by a trailing slash",
            with(
                authorize_params(),
                "redirect_uri",
                Some(&format!("{REDIRECT_URI}/")),
            ),
        ),
        (
            "missing redirect",
            with(authorize_params(), "redirect_uri", None),
        ),
        ("client id given twice", {
            let mut params = authorize_params();
            params.push(("client_id".into(), "intruder".into()));
            params
        }),
    ];
    for (case, params) in cases {
        let response = app.authorize(&params).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(!response.headers().contains_key(LOCATION), "{case}");
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/html"),
            "{case}: {content_type}"
        );
        let html = response.text().await.expect("page body");
        assert!(html.contains("<h1 class=\"error\">"), "{case}: {html}");
    }
}

#[tokio::test]
async fn a_verified_client_with_a_bad_request_is_redirected_back_with_an_error_and_its_state() {
    let app = spawn().await;
    let cases = [
        (
            "plain challenge",
            with(authorize_params(), "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            "challenge without a method (which means plain)",
            with(authorize_params(), "code_challenge_method", None),
            "invalid_request",
        ),
        (
            "method without a challenge",
            with(authorize_params(), "code_challenge", None),
            "invalid_request",
        ),
        (
            "challenge too short",
            with(authorize_params(), "code_challenge", Some("abc")),
            "invalid_request",
        ),
        (
            "implicit grant",
            with(authorize_params(), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            "no response type",
            with(authorize_params(), "response_type", None),
            "invalid_request",
        ),
        (
            "a quote in a scope",
            with(
                authorize_params(),
                "scope",
                Some("sequences:read bad\"scope"),
            ),
            "invalid_scope",
        ),
    ];
    for (case, params, error) in cases {
        let response = app.authorize(&params).await;
        let back = location(&response);
        assert!(back.as_str().starts_with(REDIRECT_URI), "{case}: {back}");
        assert_eq!(query(&back, "error").as_deref(), Some(error), "{case}");
        assert_eq!(query(&back, "state").as_deref(), Some(STATE), "{case}");
        assert_eq!(query(&back, "code"), None, "{case}");
    }
}

#[tokio::test]
async fn extra_authorize_parameters_are_accepted_and_ignored() {
    let app = spawn().await;
    let mut params = authorize_params();
    for (k, v) in [
        ("prompt", "consent"),
        ("access_type", "offline"),
        ("x-anything", "1"),
    ] {
        params.push((k.to_owned(), v.to_owned()));
    }
    let code = app.code_for(&params).await;
    let (status, body) = app.exchange(&code, Some(crate::helpers::VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn denying_consent_redirects_with_access_denied_and_the_state() {
    let app = spawn().await;
    let back = app.consent(&authorize_params(), "deny").await;
    assert!(back.as_str().starts_with(REDIRECT_URI));
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some(STATE));
    assert_eq!(query(&back, "code"), None);
}

#[tokio::test]
async fn a_consent_request_can_be_answered_only_once() {
    let app = spawn().await;
    let html = app
        .authorize(&authorize_params())
        .await
        .text()
        .await
        .expect("page body");
    let id = request_id(&html);
    assert_eq!(app.answer(&id, "approve").await.status(), StatusCode::FOUND);
    for decision in ["approve", "deny"] {
        let again = app.answer(&id, decision).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST, "{decision}");
        assert!(!again.headers().contains_key(LOCATION));
    }
    let unknown = app.answer("req_unknown", "approve").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_consent_answer_without_a_valid_decision_is_refused_and_the_request_stays_open() {
    let app = spawn().await;
    let html = app
        .authorize(&authorize_params())
        .await
        .text()
        .await
        .expect("page body");
    let id = request_id(&html);
    for decision in ["", "maybe", "APPROVE"] {
        let response = app.answer(&id, decision).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{decision:?}");
    }
    let approved = app.answer(&id, "approve").await;
    assert!(query(&location(&approved), "code").is_some());
}

#[tokio::test]
async fn the_consent_page_escapes_what_the_client_sent() {
    let app = spawn().await;
    let params = with(
        authorize_params(),
        "scope",
        Some("<script>alert(1)</script> <img/src=x/onerror=alert(2)>"),
    );
    let html = app
        .authorize(&params)
        .await
        .text()
        .await
        .expect("page body");
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    let escaped = ["&lt;script&gt;", "&#60;script&#62;"];
    assert!(escaped.iter().any(|e| html.contains(e)), "{html}");
}

#[tokio::test]
async fn a_login_hint_chooses_the_account_shown_on_the_consent_page() {
    let app = spawn().await;
    let params = with(authorize_params(), "login_hint", Some("ada@example.com"));
    let html = app
        .authorize(&params)
        .await
        .text()
        .await
        .expect("page body");
    assert!(html.contains("ada@example.com"), "{html}");
}
