//! The wire behaviour of the OAuth client against a scripted provider on 127.0.0.1: what each
//! request carries, and how each kind of answer is sorted. The end-to-end flows run against the
//! sandbox's provider in `tests/app/connections.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::*;
use crate::redacted::Redacted;

const SECRET: &str = "client-s3cret-value";

/// One request as the provider saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    accept: Option<String>,
    form: HashMap<String, String>,
}

#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    body: String,
    location: Option<String>,
}

fn json(status: u16, body: &str) -> Answer {
    Answer {
        status,
        content_type: Some("application/json"),
        body: body.to_owned(),
        location: None,
    }
}

#[derive(Clone)]
struct Provider {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Mutex<Answer>>,
}

impl Provider {
    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

async fn answer(
    State(provider): State<Provider>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
    };
    provider.seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        authorization: header(header::AUTHORIZATION),
        accept: header(header::ACCEPT),
        form: form_urlencoded::parse(&body).into_owned().collect(),
    });
    if uri.path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let answer = provider.answer.lock().unwrap().clone();
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(content_type) = answer.content_type {
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    }
    if let Some(location) = answer.location {
        headers.insert(header::LOCATION, location.parse().unwrap());
    }
    response
}

/// A provider answering every path with its current answer (a token by default), and Taskr's
/// configuration for it.
async fn provider() -> (Provider, OAuth2Config) {
    let provider = Provider {
        seen: Arc::default(),
        answer: Arc::new(Mutex::new(json(
            200,
            r#"{"access_token":"at-1","token_type":"bearer","expires_in":3600,"refresh_token":"rt-1","scope":"a b"}"#,
        ))),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(answer)
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let at = |path: &str| Url::parse(&format!("{base}{path}")).unwrap();
    let config = OAuth2Config {
        authorize_url: at("/authorize?tenant=t1"),
        token_url: at("/token"),
        client_id: "taskr".to_owned(),
        client_secret: Redacted(SECRET.to_owned()),
        scopes: vec!["a".into(), "b".into()],
        pkce: true,
        extra_authorize_params: [("prompt".to_owned(), "consent".to_owned())].into(),
        revocation_url: Some(at("/revoke")),
        refresh_margin: Duration::from_secs(300),
    };
    (provider, config)
}

fn http() -> reqwest::Client {
    attio::http_client().unwrap()
}

fn redirect() -> RedirectUrl {
    RedirectUrl::new("https://taskr.example/connections/p/callback".to_owned()).unwrap()
}

#[test]
fn the_pkce_challenge_is_s256_of_a_long_random_verifier() {
    // RFC 7636 appendix B.
    let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
    assert_eq!(
        PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let (challenge, verifier) = new_pkce();
    assert_eq!(verifier.secret().len(), 86);
    assert_eq!(challenge.method().as_str(), "S256");
    assert_ne!(verifier.secret(), new_pkce().1.secret());
    assert!(!format!("{verifier:?}").contains(verifier.secret()));
}

#[tokio::test]
async fn the_authorize_url_carries_the_client_the_callback_state_scopes_challenge_and_extras() {
    let (_, config) = provider().await;
    let (challenge, verifier) = new_pkce();
    let url = authorize_url(&config, &redirect(), "state-123", Some(challenge));
    let params: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/authorize");
    let expected = [
        ("tenant", "t1"),
        ("response_type", "code"),
        ("client_id", "taskr"),
        (
            "redirect_uri",
            "https://taskr.example/connections/p/callback",
        ),
        ("state", "state-123"),
        ("scope", "a b"),
        ("code_challenge_method", "S256"),
        ("prompt", "consent"),
    ];
    for (name, value) in expected {
        assert_eq!(params.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert_eq!(
        params["code_challenge"],
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret().as_bytes()))
    );
    assert!(!url.as_str().contains(SECRET));

    let plain = OAuth2Config {
        scopes: Vec::new(),
        ..config
    };
    let url = authorize_url(&plain, &redirect(), "s", None);
    let names: Vec<_> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    for absent in ["code_challenge", "code_challenge_method", "scope"] {
        assert!(!names.iter().any(|n| n == absent), "{absent} in {url}");
    }
}

#[tokio::test]
async fn a_code_exchange_sends_the_verifier_and_the_client_credentials_in_the_body() {
    let (provider, config) = provider().await;
    let verifier = PkceCodeVerifier::new("v".repeat(43));
    let tokens = exchange_code(&http(), &config, "code-1", &redirect(), Some(verifier))
        .await
        .unwrap();
    assert_eq!(tokens.access_token.secret(), "at-1");
    assert_eq!(tokens.refresh_token.as_ref().unwrap().secret(), "rt-1");
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(3600)));
    assert_eq!(tokens.scope.as_deref(), Some("a b"));
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains("at-1") && !debug.contains("rt-1"),
        "{debug}"
    );

    let [seen] = provider.seen().try_into().unwrap();
    assert_eq!(seen.path, "/token");
    assert_eq!(seen.accept.as_deref(), Some("application/json"));
    assert_eq!(
        seen.authorization, None,
        "credentials go in the body, not Basic"
    );
    let expected = [
        ("grant_type", "authorization_code"),
        ("code", "code-1"),
        (
            "redirect_uri",
            "https://taskr.example/connections/p/callback",
        ),
        ("code_verifier", &"v".repeat(43)),
        ("client_id", "taskr"),
        ("client_secret", SECRET),
    ];
    for (name, value) in expected {
        assert_eq!(
            seen.form.get(name).map(String::as_str),
            Some(value),
            "{name}"
        );
    }

    // Without PKCE no verifier is sent.
    exchange_code(&http(), &config, "code-2", &redirect(), None)
        .await
        .unwrap();
    let [seen] = provider.seen().try_into().unwrap();
    assert!(!seen.form.contains_key("code_verifier"));
}

#[tokio::test]
async fn a_refresh_sends_the_refresh_token_and_reads_a_minimal_answer() {
    let (provider, config) = provider().await;
    // No token_type, no expires_in, an empty refresh token: all as before oauth2.
    provider.answer(json(200, r#"{"access_token":"at-2","refresh_token":""}"#));
    let tokens = refresh(&http(), &config, &RefreshToken::new("rt-1".to_owned()))
        .await
        .unwrap();
    assert_eq!(tokens.access_token.secret(), "at-2");
    assert!(tokens.refresh_token.is_none(), "the stored one stays");
    assert_eq!(tokens.expires_in, None);
    assert_eq!(tokens.scope, None);
    let [seen] = provider.seen().try_into().unwrap();
    let expected = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "rt-1"),
        ("client_id", "taskr"),
        ("client_secret", SECRET),
    ];
    for (name, value) in expected {
        assert_eq!(
            seen.form.get(name).map(String::as_str),
            Some(value),
            "{name}"
        );
    }
    assert!(!seen.form.contains_key("scope"), "the granted scopes stay");
    assert_eq!(seen.authorization, None);
}

#[tokio::test]
async fn rfc_6749_errors_are_refusals_and_5xx_429_are_worth_retrying() {
    let (provider, config) = provider().await;
    let token = RefreshToken::new("rt".to_owned());
    let text = |status, content_type, body: &str| Answer {
        status,
        content_type,
        body: body.to_owned(),
        location: None,
    };
    // (answer, Some(error) for a refusal or None for "unavailable", description, why)
    let cases = [
        (
            json(
                400,
                r#"{"error":"invalid_grant","error_description":"expired"}"#,
            ),
            Some("invalid_grant"),
            Some("expired"),
            "a revoked or expired grant",
        ),
        (
            json(401, r#"{"error":"invalid_client"}"#),
            Some("invalid_client"),
            None,
            "wrong client credentials",
        ),
        (
            json(
                400,
                r#"{"error":"vendor_specific","error_uri":"https://x"}"#,
            ),
            Some("vendor_specific"),
            None,
            "an error code RFC 6749 does not define",
        ),
        (
            text(400, Some("text/html"), "<h1>Bad</h1>"),
            Some("HTTP 400"),
            None,
            "a 4xx that is not RFC 6749 JSON",
        ),
        (text(403, None, ""), Some("HTTP 403"), None, "an empty 4xx"),
        (
            json(200, r#"{"error":"bad_verification_code"}"#),
            Some("invalid_response"),
            None,
            "an error in a 200 answer",
        ),
        (
            text(200, Some("application/json"), "not json"),
            Some("invalid_response"),
            None,
            "an unreadable success",
        ),
        (
            json(503, r#"{"error":"temporarily_unavailable"}"#),
            None,
            None,
            "RFC 6749's temporarily_unavailable with a 503",
        ),
        (
            json(400, r#"{"error":"temporarily_unavailable"}"#),
            Some("temporarily_unavailable"),
            None,
            "temporarily_unavailable with a 400 is still a refusal, as before",
        ),
        (text(500, None, ""), None, None, "a 500"),
        (
            text(502, Some("text/html"), "<h1>Bad gateway</h1>"),
            None,
            None,
            "a proxy's 502",
        ),
        (
            json(429, r#"{"error":"slow_down"}"#),
            None,
            None,
            "rate limited",
        ),
    ];
    for (answer, error, description, why) in cases {
        provider.answer(answer);
        let failure = refresh(&http(), &config, &token).await.expect_err(why);
        match (error, &failure) {
            (
                Some(expected),
                TokenError::Refused {
                    error,
                    description: got,
                },
            ) => {
                assert_eq!(error, expected, "{why}");
                if description.is_some() {
                    assert_eq!(got.as_deref(), description, "{why}");
                }
            }
            (None, TokenError::Unavailable(_)) => {}
            _ => panic!("{why}: {failure:?}"),
        }
        assert_eq!(
            failure.is_invalid_grant(),
            error == Some("invalid_grant"),
            "{why}"
        );
        assert!(!failure.to_string().contains(SECRET), "{why}: {failure}");
    }
    // Any success is one, as before oauth2 (which alone would accept only a 200).
    provider.answer(json(201, r#"{"access_token":"at-3"}"#));
    let tokens = refresh(&http(), &config, &token).await.unwrap();
    assert_eq!(tokens.access_token.secret(), "at-3");
}

#[tokio::test]
async fn a_token_endpoint_that_redirects_is_not_followed() {
    let (provider, config) = provider().await;
    let elsewhere = config.token_url.join("/elsewhere").unwrap();
    provider.answer(Answer {
        status: 307,
        content_type: None,
        body: String::new(),
        location: Some(elsewhere.to_string()),
    });
    let failure = refresh(&http(), &config, &RefreshToken::new("rt".to_owned()))
        .await
        .unwrap_err();
    assert!(
        matches!(&failure, TokenError::Refused { error, .. } if error == "HTTP 307"),
        "{failure:?}"
    );
    let seen = provider.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/token");
}

#[tokio::test]
async fn an_unreachable_or_silent_provider_is_worth_retrying() {
    let (_, config) = provider().await;
    let token = RefreshToken::new("rt".to_owned());
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nobody = Url::parse(&format!("http://{}/token", closed.local_addr().unwrap())).unwrap();
    drop(closed);
    let unreachable = OAuth2Config {
        token_url: nobody,
        ..config.clone()
    };
    let failure = refresh(&http(), &unreachable, &token).await.unwrap_err();
    assert!(matches!(failure, TokenError::Unavailable(_)), "{failure:?}");

    // A provider that never answers: whatever client is passed keeps its timeout.
    let silent = OAuth2Config {
        token_url: config.token_url.join("/slow").unwrap(),
        ..config
    };
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let failure = refresh(&impatient, &silent, &token).await.unwrap_err();
    assert!(matches!(failure, TokenError::Unavailable(_)), "{failure:?}");
}

#[tokio::test]
async fn revocation_sends_each_token_with_its_hint_and_the_client_credentials() {
    let (provider, config) = provider().await;
    let url = config.revocation_url.clone().unwrap();
    provider.answer(Answer {
        status: 200,
        content_type: None,
        body: String::new(),
        location: None,
    });
    revoke(
        &http(),
        &config,
        &url,
        Revocable::Refresh(RefreshToken::new("rt-9".into())),
    )
    .await
    .unwrap();
    // RFC 7009 says 200; a 204 was accepted before oauth2 and still is.
    provider.answer(Answer {
        status: 204,
        content_type: None,
        body: String::new(),
        location: None,
    });
    revoke(
        &http(),
        &config,
        &url,
        Revocable::Access(AccessToken::new("at-9".into())),
    )
    .await
    .unwrap();
    let seen = provider.seen();
    let sent: Vec<_> = seen
        .iter()
        .map(|s| {
            assert_eq!(s.path, "/revoke");
            assert_eq!(s.authorization, None);
            assert_eq!(s.form["client_id"], "taskr");
            assert_eq!(s.form["client_secret"], SECRET);
            (s.form["token"].as_str(), s.form["token_type_hint"].as_str())
        })
        .collect();
    assert_eq!(sent, [("rt-9", "refresh_token"), ("at-9", "access_token")]);

    for (answer, why) in [
        (
            json(400, r#"{"error":"unsupported_token_type"}"#),
            "an RFC 7009 error",
        ),
        (
            json(401, r#"{"error":"invalid_client"}"#),
            "wrong credentials",
        ),
        (json(503, "{}"), "a 503"),
    ] {
        provider.answer(answer);
        let token = Revocable::Access(AccessToken::new("at".into()));
        assert!(
            revoke(&http(), &config, &url, token).await.is_err(),
            "{why}"
        );
    }
}

#[tokio::test]
async fn revocation_over_plain_http_is_refused_off_this_machine() {
    let (provider, config) = provider().await;
    let url = Url::parse("http://auth.example.com/revoke").unwrap();
    let token = Revocable::Access(AccessToken::new("at".into()));
    let error = revoke(&http(), &config, &url, token).await.unwrap_err();
    assert!(error.contains("https"), "{error}");
    assert!(provider.seen().is_empty());
}

#[tokio::test]
async fn a_token_answer_labelled_other_than_json_is_still_read() {
    let (provider, config) = provider().await;
    for label in [Some("text/plain; charset=utf-8"), Some("text/html"), None] {
        provider.answer(Answer {
            content_type: label,
            ..json(200, r#"{"access_token":"at-3","token_type":"bearer"}"#)
        });
        let tokens = refresh(&http(), &config, &RefreshToken::new("rt-1".to_owned()))
            .await
            .unwrap_or_else(|e| panic!("{label:?}: {e}"));
        assert_eq!(tokens.access_token.secret(), "at-3", "{label:?}");
    }
    // A body that is not JSON at all is still an unreadable answer.
    provider.answer(Answer {
        content_type: Some("text/html"),
        ..json(200, "<html>login</html>")
    });
    assert!(
        refresh(&http(), &config, &RefreshToken::new("rt-1".to_owned()))
            .await
            .is_err()
    );
}
