//! CSRF, secrets at rest, headers and bad input.

use reqwest::StatusCode;

use crate::helpers::{browser, TestApp, PASSWORD};

#[tokio::test]
async fn every_form_post_needs_this_sessions_csrf_token() {
    let app = TestApp::spawn().await;
    let client = app.user("alice").await;
    app.connect(&client).await;
    let other_session_token = app.csrf(&browser()).await;
    let posts: &[(&str, &[(&str, &str)])] = &[
        ("/signup", &[("username", "zed"), ("password", PASSWORD)]),
        ("/login", &[("username", "alice"), ("password", PASSWORD)]),
        ("/logout", &[]),
        ("/tasks/sync", &[]),
        ("/integrations/attio/disconnect", &[]),
    ];
    for (path, fields) in posts {
        for (case, token) in [
            ("missing", None),
            ("wrong", Some("0".repeat(64))),
            ("from another session", Some(other_session_token.clone())),
        ] {
            let mut body: Vec<(&str, String)> =
                fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            if let Some(token) = token {
                body.push(("csrf_token", token));
            }
            let response = client.post(app.url(path)).form(&body).send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} with {case} token"
            );
            assert!(response
                .text()
                .await
                .unwrap()
                .contains("This form has expired"));
        }
    }
    // Nothing happened: still logged in, still connected.
    assert!(app.page(&client, "/").await.contains("Sync now"));
}

#[tokio::test]
async fn the_attio_token_never_reaches_the_database_in_plaintext() {
    let app = TestApp::spawn().await;
    let client = app.user("bob").await;
    app.connect(&client).await;
    let tokens = app.sandbox.sandbox.issued_access_tokens();
    assert_eq!(tokens.len(), 1);
    let bytes = app.database_bytes().await;
    assert!(bytes.len() > 10_000, "the database was read");
    for token in tokens {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "token found in the database files"
        );
        // Nor is it in any page.
        assert!(!app.page(&client, "/tasks").await.contains(&token));
    }
    // The sealed token does open with the app's key, so the check above is not vacuous.
    let user = app
        .state
        .store
        .user_by_username_key("bob")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let link = app.state.store.link(user).await.unwrap().unwrap();
    let opened = taskr::attio_gateway::open_token(&app.state.cipher, &link).unwrap();
    assert_eq!(
        opened.expose(),
        app.sandbox.sandbox.issued_access_tokens()[0]
    );
}

#[tokio::test]
async fn pages_carry_protective_headers() {
    let app = TestApp::spawn().await;
    let response = app.get(&browser(), "/").await;
    let headers = response.headers();
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("x-request-id"));
    let css = app.get(&browser(), "/static/taskr.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn bad_requests_get_clear_errors_not_500s() {
    let app = TestApp::spawn().await;
    let client = app.user("carol").await;
    let response = app.get(&client, "/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("That page does not exist"));

    let csrf = app.csrf(&client).await;
    let huge = "x".repeat(100 * 1024);
    let response = client
        .post(app.url("/login"))
        .form(&[("csrf_token", csrf.as_str()), ("username", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // A JSON body is not a form: refused as a CSRF failure, not parsed.
    let response = client
        .post(app.url("/tasks/sync"))
        .json(&serde_json::json!({"csrf_token": csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Malformed callback parameters and a garbage session cookie.
    let response = app
        .get(&client, "/integrations/attio/callback?state=%FF%FE&code=1")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = reqwest::Client::new()
        .get(app.url("/"))
        .header("cookie", "taskr_session=../../etc/passwd; other=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_server_fault_shows_a_generic_page_without_details() {
    let app = TestApp::spawn().await;
    let client = app.user("dana").await;
    app.connect(&client).await;
    // Break the stored token on purpose: it no longer opens, so the sync cannot proceed.
    let junk = app
        .database
        .bytes_literal("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    app.execute(&format!("UPDATE attio_links SET token_sealed = {junk}"))
        .await;
    let response = app.post_form(&client, "/tasks/sync", &[]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = response.text().await.unwrap();
    assert!(html.contains("Something went wrong on our side"));
    assert!(
        !html.contains("authentication"),
        "no internal detail on the page"
    );
    // The rest of the app keeps working.
    assert_eq!(app.get(&client, "/tasks").await.status(), StatusCode::OK);
}
