//! Property tests: arbitrary input to every form, every id-taking route, the OAuth callbacks and
//! the webhook endpoint never panics the server and never answers 5xx. One app serves all the
//! cases of a property (spawning one per case would be slow); a case's failure names its input.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Client, StatusCode};

use crate::helpers::{browser, TestApp, TestOptions};

struct World {
    runtime: tokio::runtime::Runtime,
    app: TestApp,
    /// Logged in and connected, with the sequencer provider configured.
    client: Client,
    csrf: String,
    anonymous: Client,
    anonymous_csrf: String,
}

fn world() -> Arc<World> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, client, csrf, anonymous, anonymous_csrf) = runtime.block_on(async {
        let app = TestApp::spawn_with(TestOptions {
            sequencer: Some(attio_sandbox::provider::ProviderConfig::default()),
            ..Default::default()
        })
        .await;
        let client = app.user("prop-tester").await;
        app.connect(&client).await;
        let csrf = app.csrf(&client).await;
        let anonymous = browser();
        let anonymous_csrf = app.csrf(&anonymous).await;
        (app, client, csrf, anonymous, anonymous_csrf)
    });
    Arc::new(World {
        runtime,
        app,
        client,
        csrf,
        anonymous,
        anonymous_csrf,
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn no_server_error(status: StatusCode, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(!status.is_server_error(), "{what} answered {status}");
    Ok(())
}

/// Text a person or an attacker might type: any Unicode, some markup, some control characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| s.chars().take(200).collect()),
        "[ -~]{0,80}",
        Just("<script>alert(1)</script>".to_owned()),
        Just("\u{202e}\u{200b}\0\r\n%00%ff".to_owned()),
        "[a-z]{1,12}",
    ]
}

/// A path segment: ids, near-ids and junk, percent-encoded as a browser would.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(uuid::Uuid::new_v4().to_string()),
        Just("sequencer".to_owned()),
        Just("user".to_owned()),
        Just("workspace".to_owned()),
        "[ -~]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
    .prop_map(|s| {
        let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        if encoded.is_empty() {
            "x".to_owned()
        } else {
            encoded
        }
    })
}

#[test]
fn arbitrary_form_fields_never_answer_5xx() {
    let world = world();
    let forms = prop_oneof![
        Just(("/signup", false)),
        Just(("/login", false)),
        Just(("/connections/sequencer/user/secret", true)),
        Just(("/connections/sequencer/workspace/secret", true)),
        Just(("/tasks/sync", true)),
    ];
    let field_name = prop_oneof![
        Just("username".to_owned()),
        Just("password".to_owned()),
        Just("next".to_owned()),
        Just("value".to_owned()),
        Just("email".to_owned()),
        "[a-z_]{1,10}",
    ];
    let fields = proptest::collection::vec((field_name, text()), 0..5);
    runner(96)
        .run(&(forms, fields), |((path, logged_in), fields)| {
            let world = world.clone();
            let status = world.runtime.block_on(async {
                let (client, csrf) = if logged_in {
                    (&world.client, &world.csrf)
                } else {
                    (&world.anonymous, &world.anonymous_csrf)
                };
                let mut body: Vec<(String, String)> = vec![("csrf_token".into(), csrf.clone())];
                body.extend(fields.iter().cloned());
                client
                    .post(world.app.url(path))
                    .form(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            no_server_error(status, &format!("POST {path} {fields:?}"))
        })
        .unwrap();
}

#[test]
fn malformed_form_bodies_never_answer_5xx() {
    let world = world();
    let body = proptest::collection::vec(any::<u8>(), 0..300);
    let content_type = prop_oneof![
        Just("application/x-www-form-urlencoded"),
        Just("application/json"),
        Just("multipart/form-data; boundary=x"),
        Just("text/plain"),
    ];
    runner(64)
        .run(&(body, content_type), |(body, content_type)| {
            let world = world.clone();
            let status = world.runtime.block_on(async {
                // The CSRF token first, then the junk, so that the junk reaches the form parser.
                let mut raw = format!("csrf_token={}&", world.anonymous_csrf).into_bytes();
                raw.extend_from_slice(&body);
                world
                    .anonymous
                    .post(world.app.url("/login"))
                    .header("content-type", content_type)
                    .body(raw)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            no_server_error(status, &format!("POST /login {content_type} {body:?}"))
        })
        .unwrap();
}

#[test]
fn arbitrary_ids_and_queries_in_urls_never_answer_5xx() {
    let world = world();
    let route = (segment(), segment(), text()).prop_map(|(a, b, q)| {
        let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        vec![
            ("GET", format!("/tasks/{a}/sequence")),
            ("POST", format!("/tasks/{a}/sequence")),
            ("GET", format!("/connections/{a}/{b}/connect")),
            ("POST", format!("/connections/{a}/{b}/secret")),
            ("POST", format!("/connections/{a}/{b}/test")),
            ("POST", format!("/connections/{a}/{b}/disconnect")),
            (
                "GET",
                format!("/connections/{a}/callback?state={q}&code={q}"),
            ),
            ("GET", format!("/tasks?filter={q}&page={q}")),
            ("GET", format!("/activity?type={q}&page={q}")),
            ("GET", format!("/login?next={q}")),
            ("GET", format!("/?notice={q}")),
        ]
    });
    runner(48)
        .run(&route, |requests| {
            let world = world.clone();
            for (method, path) in requests {
                let status = world.runtime.block_on(async {
                    let request = if method == "POST" {
                        world
                            .client
                            .post(world.app.url(&path))
                            .form(&[("csrf_token", world.csrf.as_str()), ("value", "x")])
                    } else {
                        world.client.get(world.app.url(&path))
                    };
                    request.send().await.unwrap().status()
                });
                no_server_error(status, &format!("{method} {path}"))?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn arbitrary_oauth_callback_parameters_never_answer_5xx() {
    let world = world();
    let value = prop_oneof![
        text(),
        Just(String::new()),
        "[A-Za-z0-9_-]{43}",
        Just("access_denied".to_owned()),
    ];
    let name = prop_oneof![
        Just("code"),
        Just("state"),
        Just("error"),
        Just("error_description"),
        Just("scope"),
        Just("iss"),
    ];
    let params = proptest::collection::vec((name, value), 0..6);
    let callback = prop_oneof![
        Just("/integrations/attio/callback"),
        Just("/connections/sequencer/callback"),
    ];
    runner(96)
        .run(
            &(callback, params, any::<bool>()),
            |(path, params, logged_in)| {
                let world = world.clone();
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish();
                let status = world.runtime.block_on(async {
                    let client = if logged_in {
                        &world.client
                    } else {
                        &world.anonymous
                    };
                    client
                        .get(format!("{}?{query}", world.app.url(path)))
                        .send()
                        .await
                        .unwrap()
                        .status()
                });
                no_server_error(status, &format!("GET {path}?{query}"))
            },
        )
        .unwrap();
}

#[test]
fn arbitrary_webhook_deliveries_are_refused_with_4xx_and_signed_junk_never_answers_5xx() {
    let world = world();
    let (webhook_id, secret) = world.runtime.block_on(world.app.webhook());
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        text().prop_map(String::into_bytes),
        (text(), text()).prop_map(move |(t, id)| {
            serde_json::json!({
                "webhook_id": webhook_id,
                "events": [{"event_type": t, "id": {"workspace_id": id, "task_id": id},
                            "actor": {"type": t, "id": id}}]
            })
            .to_string()
            .into_bytes()
        }),
    ];
    let signature = prop_oneof![Just(None), "[ -~]{0,70}".prop_map(Some)];
    runner(128)
        .run(
            &(body, signature, any::<bool>()),
            |(body, signature, sign)| {
                let world = world.clone();
                let signed = sign.then(|| secret.sign(&body));
                let status = world.runtime.block_on(async {
                    let mut request = Client::new()
                        .post(world.app.url("/webhooks/attio"))
                        .header("content-type", "application/json")
                        .header("idempotency-key", uuid::Uuid::new_v4().to_string());
                    if let Some(sig) = signed.as_ref().or(signature.as_ref()) {
                        request = request.header("attio-signature", sig.as_str());
                    }
                    request.body(body.clone()).send().await.unwrap().status()
                });
                no_server_error(
                    status,
                    &format!("webhook {:?}", String::from_utf8_lossy(&body)),
                )?;
                if signed.is_none() {
                    prop_assert!(
                        status.is_client_error(),
                        "an unsigned or wrongly signed delivery answered {status}"
                    );
                }
                Ok(())
            },
        )
        .unwrap();
    // The worker applies whatever was accepted without failing the server either.
    world.runtime.block_on(async {
        taskr::sync::worker::drain(&world.app.state.sync)
            .await
            .unwrap();
        assert_eq!(
            world.app.get(&world.client, "/activity").await.status(),
            StatusCode::OK
        );
    });
}
