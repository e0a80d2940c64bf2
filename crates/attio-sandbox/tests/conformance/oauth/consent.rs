//! `GET/POST /authorize`: the consent page, its answers, and the redirects it may send.

use attio_sandbox::{Config, DEFAULT_REDIRECT_URI};
use reqwest::StatusCode;
use url::Url;

use super::app;
use crate::{location, query_value, request_id, spawn, spawn_with};

#[tokio::test]
async fn the_consent_page_shows_the_app_the_workspace_its_scopes_and_active_members() {
    let t = spawn().await;
    let page = t
        .consent_page(&[
            ("client_id", "sandbox-client"),
            ("response_type", "code"),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
        ])
        .await;
    for expected in [
        "Attio sandbox",
        "Taskr",
        "Acme Demo",
        "task:read",
        "See tasks",
        "See, create, change and delete webhooks",
        "<form method=\"post\" action=\"/authorize\">",
        "name=\"member_id\"",
        "name=\"decision\" value=\"approve\"",
        "name=\"decision\" value=\"deny\"",
        "/static/sandbox.css",
    ] {
        assert!(page.contains(expected), "page lacks {expected}");
    }
    let ids = t.sandbox().member_ids();
    let admin = t.sandbox().admin_member_id();
    assert!(page.contains(&format!("<option value=\"{admin}\" selected>")));
    let start = page.find("name=\"member_id\"").expect("a member select");
    let members = &page[start..];
    let members = &members[..members.find("</select>").expect("the select ends")];
    let options = members.matches("<option ").count();
    assert_eq!(options, ids.len() - 1, "every member but the suspended one");
    assert!(
        !page.contains("Gabriel Silva"),
        "the suspended member is not offered"
    );
    assert_eq!(request_id(&page).len(), 43);
}

#[tokio::test]
async fn the_consent_page_escapes_what_the_app_registered() {
    let mut evil = app("evil", "http://localhost/cb");
    evil.name = "<script>alert(1)</script>".to_owned();
    let t = spawn_with(Config {
        apps: vec![evil],
        ..Config::default()
    })
    .await;
    let page = t
        .consent_page(&[
            ("client_id", "evil"),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost/cb"),
        ])
        .await;
    assert!(!page.contains("<script>"));
    assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
}

#[tokio::test]
async fn denying_redirects_with_access_denied_and_the_state_only_if_sent() {
    let t = spawn().await;
    for state in [Some("s-1"), None] {
        let request_id = t.open_consent(state).await;
        let response = t
            .answer(&[("request_id", &request_id), ("decision", "deny")])
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let redirect = Url::parse(location(&response)).expect("absolute redirect");
        assert_eq!(
            query_value(&redirect, "error").as_deref(),
            Some("access_denied")
        );
        assert_eq!(query_value(&redirect, "state").as_deref(), state);
        assert_eq!(query_value(&redirect, "code"), None);
    }
}

#[tokio::test]
async fn a_bad_client_or_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let t = spawn().await;
    let cases: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "unknown client",
            vec![
                ("client_id", "nope"),
                ("redirect_uri", DEFAULT_REDIRECT_URI),
            ],
        ),
        (
            "missing client",
            vec![("redirect_uri", DEFAULT_REDIRECT_URI)],
        ),
        (
            "unregistered redirect",
            vec![
                ("client_id", "sandbox-client"),
                ("redirect_uri", "https://evil.test/cb"),
            ],
        ),
        (
            "redirect with extra path",
            vec![
                ("client_id", "sandbox-client"),
                (
                    "redirect_uri",
                    "http://localhost:3050/integrations/attio/callback/x",
                ),
            ],
        ),
        ("missing redirect", vec![("client_id", "sandbox-client")]),
        (
            "client given twice",
            vec![
                ("client_id", "sandbox-client"),
                ("client_id", "nope"),
                ("redirect_uri", DEFAULT_REDIRECT_URI),
            ],
        ),
    ];
    for (case, mut query) in cases {
        query.push(("response_type", "code"));
        let response = t
            .http
            .get(t.url("/authorize"))
            .query(&query)
            .send()
            .await
            .expect("authorize answers");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{case}: {content_type}"
        );
        let page = response.text().await.expect("page");
        assert!(page.contains("Attio sandbox"), "{case}");
    }
}

#[tokio::test]
async fn a_wrong_or_missing_response_type_redirects_with_an_error_and_the_state() {
    let t = spawn().await;
    for (response_type, error) in [
        (Some("token"), "unsupported_response_type"),
        (Some(""), "unsupported_response_type"),
        (None, "invalid_request"),
    ] {
        let mut query = vec![
            ("client_id", "sandbox-client"),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("state", "abc"),
        ];
        query.extend(response_type.map(|r| ("response_type", r)));
        let response = t
            .http
            .get(t.url("/authorize"))
            .query(&query)
            .send()
            .await
            .expect("authorize answers");
        assert_eq!(response.status(), StatusCode::FOUND, "{response_type:?}");
        let redirect = Url::parse(location(&response)).expect("absolute redirect");
        assert_eq!(
            query_value(&redirect, "error").as_deref(),
            Some(error),
            "{response_type:?}"
        );
        assert_eq!(query_value(&redirect, "state").as_deref(), Some("abc"));
        assert_eq!(query_value(&redirect, "code"), None);
    }
}

#[tokio::test]
async fn redirects_keep_the_query_parameters_of_the_registered_uri() {
    let t = spawn_with(Config {
        apps: vec![app("keeper", "http://localhost:9/cb?tenant=7")],
        ..Config::default()
    })
    .await;
    let page = t
        .consent_page(&[
            ("client_id", "keeper"),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:9/cb?tenant=7"),
            ("state", "s"),
        ])
        .await;
    let response = t
        .answer(&[("request_id", &request_id(&page)), ("decision", "deny")])
        .await;
    let redirect = Url::parse(location(&response)).expect("absolute redirect");
    assert_eq!(redirect.path(), "/cb");
    assert_eq!(query_value(&redirect, "tenant").as_deref(), Some("7"));
    assert_eq!(
        query_value(&redirect, "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn a_consent_request_is_answered_once_and_bad_answers_get_an_error_page() {
    let t = spawn().await;
    let admin = t.sandbox().admin_member_id().to_string();
    let suspended = t.sandbox().member_ids()[6].to_string();
    let answered = t.open_consent(None).await;
    let first = t
        .answer(&[("request_id", &answered), ("decision", "deny")])
        .await;
    assert_eq!(first.status(), StatusCode::FOUND);

    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "already answered",
            vec![
                ("request_id", answered.clone()),
                ("decision", "approve".into()),
                ("member_id", admin.clone()),
            ],
        ),
        (
            "unknown request",
            vec![
                ("request_id", "nope".into()),
                ("decision", "approve".into()),
                ("member_id", admin.clone()),
            ],
        ),
        (
            "no request id",
            vec![("decision", "approve".into()), ("member_id", admin.clone())],
        ),
        (
            "suspended member",
            vec![
                ("request_id", t.open_consent(None).await),
                ("decision", "approve".into()),
                ("member_id", suspended),
            ],
        ),
        (
            "unknown member",
            vec![
                ("request_id", t.open_consent(None).await),
                ("decision", "approve".into()),
                ("member_id", uuid::Uuid::new_v4().to_string()),
            ],
        ),
        (
            "malformed member",
            vec![
                ("request_id", t.open_consent(None).await),
                ("decision", "approve".into()),
                ("member_id", "alice".into()),
            ],
        ),
        (
            "odd decision",
            vec![
                ("request_id", t.open_consent(None).await),
                ("decision", "maybe".into()),
            ],
        ),
    ];
    for (case, form) in cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = t.answer(&form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
    }
}
