//! `POST /oauth/revoke` and `GET /v2/self` for live, revoked and unknown tokens.

use reqwest::StatusCode;

use crate::{assert_flat_error, read_json, spawn};

#[tokio::test]
async fn revoking_a_token_makes_v2_self_report_it_inactive() {
    let t = spawn().await;
    let by_header = t.oauth_token().await;
    let by_form = t.oauth_token().await;
    let revoke_header = t
        .http
        .post(t.url("/oauth/revoke"))
        .bearer_auth(&by_header)
        .send()
        .await
        .expect("revoke answers");
    let revoke_form = t
        .http
        .post(t.url("/oauth/revoke"))
        .form(&[("token", by_form.as_str())])
        .send()
        .await
        .expect("revoke answers");
    let unknown = t
        .http
        .post(t.url("/oauth/revoke"))
        .form(&[("token", "never-issued")])
        .send()
        .await
        .expect("revoke answers");
    for response in [revoke_header, revoke_form, unknown] {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.text().await.expect("body"), "");
    }
    for token in [by_header, by_form] {
        assert_eq!(
            t.get("/v2/self", &token).await,
            (StatusCode::OK, serde_json::json!({"active": false}))
        );
        let (status, body) = t.get("/v2/tasks", &token).await;
        assert_flat_error(status, &body, (401, "auth_error", "unauthorized"));
    }
}

#[tokio::test]
async fn revoke_needs_exactly_one_token() {
    let t = spawn().await;
    let token = t.oauth_token().await;
    let none = t
        .http
        .post(t.url("/oauth/revoke"))
        .send()
        .await
        .expect("answers");
    let (status, body) = read_json(none).await;
    assert_flat_error(
        status,
        &body,
        (400, "invalid_request_error", "validation_type"),
    );
    let different = t
        .http
        .post(t.url("/oauth/revoke"))
        .bearer_auth(&token)
        .form(&[("token", "something-else")])
        .send()
        .await
        .expect("answers");
    let (status, body) = read_json(different).await;
    assert_flat_error(
        status,
        &body,
        (400, "invalid_request_error", "validation_type"),
    );
    assert_eq!(
        t.get("/v2/self", &token).await.1["active"],
        true,
        "nothing was revoked"
    );
    let same = t
        .http
        .post(t.url("/oauth/revoke"))
        .bearer_auth(&token)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("answers");
    assert_eq!(same.status(), StatusCode::NO_CONTENT);
    assert_eq!(t.get("/v2/self", &token).await.1["active"], false);
}

#[tokio::test]
async fn v2_self_needs_credentials_accepts_basic_and_reports_unknown_tokens_inactive() {
    let t = spawn().await;
    let response = t.http.get(t.url("/v2/self")).send().await.expect("answers");
    let (status, body) = read_json(response).await;
    assert_flat_error(status, &body, (401, "auth_error", "unauthorized"));

    assert_eq!(
        t.get("/v2/self", "unknown").await,
        (StatusCode::OK, serde_json::json!({"active": false}))
    );

    let token = t.oauth_token().await;
    let response = t
        .http
        .get(t.url("/v2/self"))
        .basic_auth(&token, Some(""))
        .send()
        .await
        .expect("answers");
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
}

#[tokio::test]
async fn revoke_all_tokens_deactivates_oauth_tokens_and_api_keys() {
    let t = spawn().await;
    let tokens = [t.oauth_token().await, t.key()];
    t.sandbox().revoke_all_tokens();
    for token in tokens {
        assert_eq!(t.get("/v2/self", &token).await.1["active"], false);
    }
}
