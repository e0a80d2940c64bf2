//! The mail-sequencing API: seeded sequences, idempotent enrollment, input validation, and
//! authentication by access token or static API key.

use attio_sandbox::provider::{Provider, ProviderConfig};
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{config, spawn};

const API_KEY: &str = "seq_demo_key_0123456789";
const ONBOARDING: &str = "/sequencer/v1/sequences/seq_onboarding/enrollments";

#[tokio::test]
async fn the_sequence_list_shows_three_seeded_sequences_with_their_counts() {
    let app = spawn().await;
    let (status, body) = app
        .api(Method::GET, "/sequencer/v1/sequences", Some(API_KEY), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["seq_onboarding", "seq_renewal", "seq_nurture"]);
    assert!(body["data"][0]["name"].is_string());
    assert_eq!(body["data"][0]["enrolled_count"], 0);

    let enroll = Some(json!({ "email": "ada@example.com" }));
    app.api(Method::POST, ONBOARDING, Some(API_KEY), enroll)
        .await;
    let (_, body) = app
        .api(Method::GET, "/sequencer/v1/sequences", Some(API_KEY), None)
        .await;
    assert_eq!(body["data"][0]["enrolled_count"], 1);
}

#[tokio::test]
async fn enrolling_an_email_answers_201_and_the_enrollment_is_listed() {
    let app = spawn().await;
    let tokens = app.grant().await;
    let (status, body) = app
        .api(
            Method::POST,
            ONBOARDING,
            Some(&tokens.access),
            Some(json!({ "email": "ada@example.com" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["sequence_id"], "seq_onboarding");
    assert_eq!(body["data"]["email"], "ada@example.com");
    assert!(body["data"]["enrolled_at"]
        .as_str()
        .is_some_and(|t| t.contains('T')));
    let (_, me) = app
        .api(
            Method::GET,
            "/provider/userinfo",
            Some(&tokens.access),
            None,
        )
        .await;
    assert_eq!(
        body["data"]["enrolled_by"], me["sub"],
        "records who enrolled"
    );

    let (status, list) = app
        .api(Method::GET, ONBOARDING, Some(&tokens.access), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["data"][0]["email"], "ada@example.com");
    assert_eq!(
        app.provider.enrollments("seq_onboarding"),
        ["ada@example.com"]
    );
    assert!(app.provider.enrollments("seq_renewal").is_empty());
}

#[tokio::test]
async fn enrolling_the_same_email_twice_returns_the_existing_enrollment() {
    let app = spawn().await;
    let (first_status, first) = app
        .api(
            Method::POST,
            ONBOARDING,
            Some(API_KEY),
            Some(json!({ "email": "ada@example.com" })),
        )
        .await;
    let (status, again) = app
        .api(
            Method::POST,
            ONBOARDING,
            Some(API_KEY),
            Some(json!({ "email": "ADA@example.com" })),
        )
        .await;
    assert_eq!(
        (first_status, status),
        (StatusCode::CREATED, StatusCode::OK)
    );
    assert_eq!(again, first);
    assert_eq!(
        app.provider.enrollments("seq_onboarding"),
        ["ada@example.com"]
    );
}

#[tokio::test]
async fn invalid_emails_get_422_invalid_email() {
    let app = spawn().await;
    let cases = [
        ("no at sign", json!({ "email": "ada.example.com" })),
        ("no domain", json!({ "email": "ada@" })),
        ("undotted domain", json!({ "email": "ada@localhost" })),
        ("spaces", json!({ "email": "ada lovelace@example.com" })),
        ("empty", json!({ "email": "" })),
        ("not a string", json!({ "email": 42 })),
        ("missing", json!({ "name": "Ada" })),
        ("not an object", json!(["ada@example.com"])),
    ];
    for (case, body) in cases {
        let (status, answer) = app
            .api(Method::POST, ONBOARDING, Some(API_KEY), Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}");
        assert_eq!(answer["error"], "invalid_email", "{case}");
    }
    assert!(app.provider.enrollments("seq_onboarding").is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_a_400_json_error() {
    let app = spawn().await;
    let response = app
        .http
        .post(app.url(ONBOARDING))
        .bearer_auth(API_KEY)
        .body("email=ada@example.com")
        .send()
        .await
        .expect("the API answers");
    let (status, body) = crate::helpers::read_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn an_unknown_sequence_gets_404() {
    let app = spawn().await;
    let path = "/sequencer/v1/sequences/seq_nope/enrollments";
    let (status, body) = app.api(Method::GET, path, Some(API_KEY), None).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::NOT_FOUND, &Value::from("not_found"))
    );
    let enroll = Some(json!({ "email": "ada@example.com" }));
    let (status, _) = app.api(Method::POST, path, Some(API_KEY), enroll).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(app.provider.enrollments("seq_nope").is_empty());
}

#[tokio::test]
async fn configured_api_keys_open_the_api_and_are_recorded_as_such() {
    let app = crate::helpers::spawn_with(ProviderConfig {
        api_keys: vec!["key_one_0123456789".into(), "key_two_0123456789".into()],
        ..config()
    })
    .await;
    assert_eq!(app.sequences("key_two_0123456789").await, StatusCode::OK);
    assert_eq!(
        app.sequences(API_KEY).await,
        StatusCode::UNAUTHORIZED,
        "the default is replaced"
    );
    let (_, body) = app
        .api(
            Method::POST,
            ONBOARDING,
            Some("key_one_0123456789"),
            Some(json!({ "email": "bob@example.com" })),
        )
        .await;
    assert_eq!(body["data"]["enrolled_by"], "api_key");
}

#[tokio::test]
async fn missing_or_invalid_credentials_get_a_401_json_error_with_a_bearer_challenge() {
    let app = spawn().await;
    let tokens = app.grant().await;
    let upper = API_KEY.to_uppercase();
    let cases = [
        ("no token", None),
        ("unknown token", Some("at_made_up")),
        ("a refresh token", Some(tokens.refresh.as_str())),
        ("an API key in another case", Some(upper.as_str())),
    ];
    for (case, token) in cases {
        for path in ["/sequencer/v1/sequences", "/provider/userinfo"] {
            let mut request = app.http.get(app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("the API answers");
            let challenge = response.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                challenge.starts_with("Bearer"),
                "{case} {path}: {challenge}"
            );
            assert!(
                challenge.contains("error=\"invalid_token\""),
                "{case} {path}"
            );
            let (status, body) = crate::helpers::read_json(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{case} {path}");
            assert_eq!(body["error"], "invalid_token", "{case} {path}");
            assert!(body["message"].is_string(), "{case} {path}");
        }
    }
    let basic = app
        .http
        .get(app.url("/sequencer/v1/sequences"))
        .basic_auth(API_KEY, Some(""))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(
        basic.status(),
        StatusCode::UNAUTHORIZED,
        "only the Bearer scheme"
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let config = ProviderConfig {
        client_secret: "super-secret-value".into(),
        api_keys: vec!["key-secret-value".into()],
        ..ProviderConfig::default()
    };
    for debug in [
        format!("{config:?}"),
        format!("{:?}", Provider::new(config.clone())),
    ] {
        assert!(!debug.contains("super-secret-value"), "{debug}");
        assert!(!debug.contains("key-secret-value"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}
