//! A recording webhook receiver on `127.0.0.1:0`: keeps every request's raw body and headers,
//! can answer with an error status for the next N requests, and lets tests wait for a count with
//! a deadline instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::{oneshot, Notify};

use crate::TestSandbox;

/// How long any wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Received {
    pub method: axum::http::Method,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("the delivery has a {name} header"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// The one event of the envelope.
    pub fn event(&self) -> Value {
        let body = self.json();
        let events = body["events"].as_array().expect("events is an array");
        assert_eq!(events.len(), 1, "exactly one event per delivery: {body}");
        events[0].clone()
    }
}

#[derive(Default)]
struct Behaviour {
    received: Vec<Received>,
    /// Answer this status to the next `failures` requests, then 200.
    failures: u32,
    failure_status: u16,
}

#[derive(Clone)]
struct Shared {
    behaviour: Arc<Mutex<Behaviour>>,
    arrived: Arc<Notify>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Shared {
            behaviour: Arc::new(Mutex::new(Behaviour::default())),
            arrived: Arc::new(Notify::new()),
        };
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("the receiver binds");
        let url = format!(
            "http://{}/hooks/attio",
            listener.local_addr().expect("addr")
        );
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Receiver {
            url,
            shared,
            _stop: stop,
        }
    }

    /// The next `n` requests get `status`.
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut behaviour = self.shared.behaviour.lock().expect("lock");
        behaviour.failures = n;
        behaviour.failure_status = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.behaviour.lock().expect("lock").received.clone()
    }

    /// Waits until at least `n` requests arrived; fails the test after [`DEADLINE`].
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let notified = self.shared.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} deliveries, got {}", self.received().len());
            }
        }
    }
}

async fn record(
    State(shared): State<Shared>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = {
        let mut behaviour = shared.behaviour.lock().expect("lock");
        behaviour.received.push(Received {
            method,
            headers,
            body,
            at: Instant::now(),
        });
        if behaviour.failures > 0 {
            behaviour.failures -= 1;
            StatusCode::from_u16(behaviour.failure_status).expect("a status")
        } else {
            StatusCode::OK
        }
    };
    shared.arrived.notify_waiters();
    status
}

/// Lowercase hex HMAC-SHA256 of `body` keyed with the secret string.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A receiver with a webhook registered for `event_types` (no filters) by an all-scope key.
pub struct Hook {
    pub id: String,
    pub secret: String,
    /// The API key that created (and so owns) the webhook.
    pub key: String,
    pub receiver: Receiver,
}

impl Hook {
    pub async fn new(t: &TestSandbox, event_types: &[&str]) -> Hook {
        let subscriptions: Vec<Value> = event_types
            .iter()
            .map(|e| json!({ "event_type": e, "filter": null }))
            .collect();
        Hook::with_subscriptions(t, subscriptions).await
    }

    pub async fn with_subscriptions(t: &TestSandbox, subscriptions: Vec<Value>) -> Hook {
        let receiver = Receiver::start().await;
        let key = t.key();
        let body =
            json!({ "data": { "target_url": receiver.url, "subscriptions": subscriptions } });
        let (status, created) = t
            .call(Method::POST, "/v2/webhooks", &key, Some(&body))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{created}");
        Hook {
            id: created["data"]["id"]["webhook_id"]
                .as_str()
                .expect("webhook id")
                .to_owned(),
            secret: created["data"]["secret"]
                .as_str()
                .expect("secret")
                .to_owned(),
            key,
            receiver,
        }
    }

    /// Waits for `n` deliveries, checks each one's envelope and signature, and returns their
    /// events in arrival order.
    pub async fn events(&self, n: usize) -> Vec<Value> {
        self.receiver
            .wait_for(n)
            .await
            .iter()
            .map(|r| {
                assert_eq!(
                    r.header("attio-signature"),
                    signature(&self.secret, &r.body),
                    "signed with the secret"
                );
                assert_eq!(r.json()["webhook_id"], self.id.as_str());
                r.event()
            })
            .collect()
    }

    /// After the sandbox is idle, exactly `n` deliveries arrived; returns their events.
    pub async fn exactly(&self, t: &TestSandbox, n: usize) -> Vec<Value> {
        let events = self.events(n).await;
        assert!(
            t.sandbox().wait_for_idle(DEADLINE).await,
            "deliveries settle"
        );
        assert_eq!(
            self.receiver.received().len(),
            n,
            "no more than {n} deliveries"
        );
        events
    }
}
