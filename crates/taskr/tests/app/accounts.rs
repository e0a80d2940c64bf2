//! Sign-up, log-in, log-out, sessions and rate limits.

use reqwest::StatusCode;

use crate::helpers::{browser, form_value, location, TestApp, TestOptions, PASSWORD};

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("taskr_session="))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_visitor_signs_up_logs_out_and_logs_in_again() {
    let app = TestApp::spawn().await;
    let client = browser();
    let home = app.page(&client, "/").await;
    assert!(home.contains("Sign up") && home.contains("Log in"));

    let response = app.sign_up(&client, "  Alice  ").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let home = app.page(&client, "/").await;
    assert!(
        home.contains("Signed in as <strong>Alice</strong>"),
        "{home}"
    );
    assert!(home.contains("Connect Attio"));

    let response = app.post_form(&client, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let home = app.page(&client, "/").await;
    assert!(!home.contains("Signed in as"));

    let response = app
        .post_form(
            &client,
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(app
        .page(&client, "/")
        .await
        .contains("Signed in as <strong>Alice</strong>"));
}

#[tokio::test]
async fn sign_up_rejects_invalid_input_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let long_name = "n".repeat(65);
    let long_password = "p".repeat(129);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "ab",
            PASSWORD,
            "at least 3 characters",
            "a username that is too short",
        ),
        (
            &long_name,
            PASSWORD,
            "at most 64 characters",
            "a username that is too long",
        ),
        ("   ", PASSWORD, "at least 3 characters", "a blank username"),
        (
            "bob",
            "short",
            "at least 8 characters",
            "a password that is too short",
        ),
        (
            "bob",
            &long_password,
            "at most 128 characters",
            "a password that is too long",
        ),
    ];
    for (username, password, message, case) in cases {
        let client = browser();
        let response = app
            .post_form(
                &client,
                "/signup",
                &[("username", username), ("password", password)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{case}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{case}: page lacks {message:?}");
        assert_eq!(
            form_value(&html, "username").as_deref(),
            Some(username.trim()),
            "{case}: username kept"
        );
        assert!(
            !html.contains(&format!("value=\"{password}\"")),
            "{case}: password echoed"
        );
    }
}

#[tokio::test]
async fn sign_up_refuses_a_username_taken_in_another_case() {
    let app = TestApp::spawn().await;
    app.user("Carol").await;
    let client = browser();
    let response = app.sign_up(&client, "cAROL").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("That username is taken"));
    assert_eq!(form_value(&html, "username").as_deref(), Some("cAROL"));
}

#[tokio::test]
async fn log_in_gives_the_same_answer_for_a_wrong_password_and_an_unknown_user() {
    let app = TestApp::spawn().await;
    app.user("dave").await;
    let wrong = app
        .post_form(
            &browser(),
            "/login",
            &[("username", "dave"), ("password", "not the password")],
        )
        .await;
    let unknown = app
        .post_form(
            &browser(),
            "/login",
            &[("username", "nobody"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Wrong username or password."));
    // Apart from the echoed username and the session's CSRF token, the pages are identical.
    let strip = |html: &str, name: &str| {
        let token = form_value(html, "csrf_token").unwrap();
        html.replace(&format!("value=\"{name}\""), "")
            .replace(&token, "")
    };
    assert_eq!(strip(&wrong, "dave"), strip(&unknown, "nobody"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_rotates_at_log_in() {
    let app = TestApp::spawn().await;
    app.user("erin").await;
    let client = browser();
    let first = app.get(&client, "/login").await;
    let anonymous = session_cookie(&first).expect("a visitor gets a session cookie");
    assert!(anonymous.contains("HttpOnly") && anonymous.contains("SameSite=Lax"));
    assert!(!anonymous.contains("Secure"), "plain http public URL");

    let response = app
        .post_form(
            &client,
            "/login",
            &[("username", "erin"), ("password", PASSWORD)],
        )
        .await;
    let logged_in = session_cookie(&response).expect("log-in sets a new session cookie");
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(
        id(&anonymous),
        id(&logged_in),
        "the session id rotates at log-in"
    );
}

#[tokio::test]
async fn log_in_returns_to_a_local_page_only() {
    let app = TestApp::spawn().await;
    app.user("frank").await;
    let client = browser();
    let response = app.get(&client, "/tasks").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Ftasks");
    let html = app.page(&client, "/login?next=%2Ftasks").await;
    assert_eq!(form_value(&html, "next").as_deref(), Some("/tasks"));
    let response = app
        .post_form(
            &client,
            "/login",
            &[
                ("username", "frank"),
                ("password", PASSWORD),
                ("next", "/tasks"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/tasks");

    let other = browser();
    let response = app
        .post_form(
            &other,
            "/login",
            &[
                ("username", "frank"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn log_in_and_sign_up_are_rate_limited_per_client_address() {
    let app = TestApp::spawn_with(TestOptions {
        auth_rate_per_minute: 3,
        ..Default::default()
    })
    .await;
    let client = browser();
    for attempt in 1..=3 {
        let response = app
            .post_form(
                &client,
                "/login",
                &[("username", "ghost"), ("password", "whatever1")],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let response = app
        .post_form(
            &client,
            "/login",
            &[("username", "ghost"), ("password", "whatever1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().await.unwrap().contains("Too many attempts"));
    // Sign-up shares the budget: a new browser from the same address is limited too.
    let response = app.sign_up(&browser(), "newperson").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let client = browser();
    let response = app.sign_up(&client, "gina").await;
    let cookie = session_cookie(&response).expect("sign-up logs in");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let stolen = reqwest::Client::new();
    let as_thief = |stolen: &reqwest::Client| {
        stolen
            .get(app.url("/"))
            .header("cookie", cookie.clone())
            .send()
    };
    let html = as_thief(&stolen).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Signed in as <strong>gina</strong>"),
        "the copied cookie works before log-out"
    );

    let response = app.post_form(&client, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = as_thief(&stolen).await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("gina"),
        "the old session id no longer logs anyone in"
    );
}
