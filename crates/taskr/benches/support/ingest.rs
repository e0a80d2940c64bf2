//! The ingest load for the webhook benchmarks: signed `note.created` deliveries sent with a
//! fixed number in flight, each counted when its 200 arrives (Taskr answers 200 only after the
//! delivery's row is committed). Two load generators, both reported in BENCHMARKS.md:
//!
//! - `reqwest`: one spawned task per delivery through a pooled `reqwest::Client`, as the
//!   benchmarks first measured;
//! - `hyper`: one task per connection, each sending its share of deliveries one after the
//!   other over a persistent HTTP/1.1 connection (hyper's low-level client). The load is the
//!   same (as many deliveries in flight, the same requests), but the generator, which shares
//!   the process and the two cores with Taskr, spends less CPU on itself.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use serde_json::json;
use tokio::sync::Semaphore;

/// One signed delivery, ready to send.
pub struct Delivery {
    pub key: String,
    pub body: Bytes,
    pub signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    Reqwest,
    Hyper,
}

impl Generator {
    pub fn name(self) -> &'static str {
        match self {
            Generator::Reqwest => "reqwest, a task per delivery",
            Generator::Hyper => "hyper http1, a task per connection",
        }
    }
}

/// `count` signed `note.created` deliveries for the webhook, with keys starting `label`.
pub fn deliveries(
    count: usize,
    label: &str,
    webhook_id: uuid::Uuid,
    workspace: uuid::Uuid,
    secret: &attio::WebhookSecret,
) -> Vec<Delivery> {
    (0..count)
        .map(|i| {
            let body = serde_json::to_vec(&json!({
                "webhook_id": webhook_id,
                "events": [{"event_type": "note.created",
                            "id": {"workspace_id": workspace, "note_id": uuid::Uuid::new_v4()},
                            "parent_object_id": "people", "parent_record_id": uuid::Uuid::new_v4(),
                            "actor": {"type": "workspace-member", "id": uuid::Uuid::new_v4()}}]
            }))
            .unwrap();
            let signature = secret.sign(&body);
            let body = Bytes::from(body);
            Delivery {
                key: format!("{label}-{i}-{}", uuid::Uuid::new_v4()),
                body,
                signature,
            }
        })
        .collect()
}

/// Posts every delivery to `/webhooks/attio` of the `targets` (base URLs like
/// `http://127.0.0.1:1234`), `in_flight` at a time, spread evenly over the targets. Panics
/// unless every answer is a 200; returns the time from the first request to the last answer.
pub async fn send(
    generator: Generator,
    targets: &[String],
    deliveries: Vec<Delivery>,
    in_flight: usize,
) -> Duration {
    match generator {
        Generator::Reqwest => send_reqwest(targets, deliveries, in_flight).await,
        Generator::Hyper => send_hyper(targets, deliveries, in_flight).await,
    }
}

async fn send_reqwest(targets: &[String], deliveries: Vec<Delivery>, in_flight: usize) -> Duration {
    let count = deliveries.len();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(in_flight)
        .build()
        .unwrap();
    let permits = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let client = client.clone();
        let url = format!("{}/webhooks/attio", targets[i % targets.len()]);
        handles.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("attio-signature", delivery.signature)
                .header("idempotency-key", delivery.key)
                .header("content-type", "application/json")
                .body(delivery.body)
                .send()
                .await
                .expect("request");
            drop(permit);
            response.status().as_u16()
        }));
    }
    let mut ok = 0;
    for handle in handles {
        if handle.await.unwrap() == 200 {
            ok += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(ok, count, "every delivery acknowledged");
    elapsed
}

async fn send_hyper(targets: &[String], deliveries: Vec<Delivery>, in_flight: usize) -> Duration {
    let count = deliveries.len();
    let deliveries = Arc::new(deliveries);
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    // Connections first, so that the clock runs only while deliveries are sent.
    let mut senders = Vec::with_capacity(in_flight);
    for connection in 0..in_flight {
        let target = &targets[connection % targets.len()];
        let addr: SocketAddr = target
            .strip_prefix("http://")
            .expect("an http:// base URL")
            .parse()
            .expect("an address");
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        senders.push((sender, HeaderValue::from_str(&addr.to_string()).unwrap()));
    }
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|(mut sender, host)| {
            let deliveries = deliveries.clone();
            let next = next.clone();
            let ok = ok.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(delivery) = deliveries.get(i) else {
                        return;
                    };
                    let request = hyper::Request::post("/webhooks/attio")
                        .header(HOST, host.clone())
                        .header("attio-signature", delivery.signature.as_str())
                        .header("idempotency-key", delivery.key.as_str())
                        .header(CONTENT_TYPE, "application/json")
                        .body(Body::from(delivery.body.clone()))
                        .unwrap();
                    sender.ready().await.expect("connection open");
                    let response = sender.send_request(request).await.expect("request");
                    let status = response.status();
                    axum::body::to_bytes(Body::new(response.into_body()), 64 * 1024)
                        .await
                        .expect("answer body");
                    if status == 200 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(
        ok.load(Ordering::Relaxed),
        count,
        "every delivery acknowledged"
    );
    elapsed
}
