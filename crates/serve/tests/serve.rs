//! The serving rules, each shown on a real socket against a tiny router with small limits.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use serve::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};
use tokio::time::{timeout, Instant};
use tokio_stream::wrappers::ReceiverStream;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    stopped: tokio::task::JoinHandle<std::io::Result<()>>,
    /// `/wait` answers once this is notified; `started` is notified when it begins.
    release: Arc<Notify>,
    started: Arc<Notify>,
}

fn limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(1200),
        max_connections: NonZeroUsize::new(64),
        drain_timeout: Duration::from_secs(5),
    }
}

/// `/stream` sends four chunks 500 ms apart; `/forever` never ends.
fn router(release: Arc<Notify>, started: Arc<Notify>) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/stream",
            get(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(1);
                tokio::spawn(async move {
                    for i in 0..4 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        let _ = tx.send(Ok(Bytes::from(format!("chunk{i};")))).await;
                    }
                });
                Body::from_stream(ReceiverStream::new(rx))
            }),
        )
        .route(
            "/forever",
            get(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(1);
                tokio::spawn(async move {
                    let _ = tx.send(Ok(Bytes::from_static(b"start;"))).await;
                    tx.closed().await;
                });
                Body::from_stream(ReceiverStream::new(rx))
            }),
        )
        .route(
            "/wait",
            get(move || async move {
                started.notify_one();
                release.notified().await;
                "finished"
            }),
        )
}

async fn start(limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let release = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let app = router(release.clone(), started.clone());
    let stopped = tokio::spawn(serve::serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        stopped,
        release,
        started,
    }
}

/// Reads until the server closes the connection; `None` if it is still open at the deadline.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends `GET path` on a kept-alive connection and reads the whole (small) response.
async fn request(stream: &mut TcpStream, path: &str) -> String {
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                return text;
            }
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("a response before the deadline")
            .expect("reading the response");
        assert!(n > 0, "closed mid-response: {text:?}");
        seen.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let server = start(Limits {
        idle_timeout: Duration::from_secs(60),
        ..limits()
    })
    .await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // The idle timeout is a minute: only the header-read timeout can close it this soon.
    assert!(read_to_close(&mut silent, Duration::from_secs(5))
        .await
        .is_some());
}

#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_is_cut_at_the_header_read_timeout() {
    let server = start(limits()).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = false;
    while Instant::now() < deadline {
        if slow.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match timeout(Duration::from_millis(100), slow.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    assert!(closed, "a trickling request head is never cut");
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_idle_timeout_not_the_header_read_timeout() {
    let server = start(limits()).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    assert!(request(&mut client, "/").await.starts_with("HTTP/1.1 200"));
    // Longer than the header-read timeout (400 ms), shorter than the idle timeout (1.2 s).
    assert!(
        read_to_close(&mut client, Duration::from_millis(700))
            .await
            .is_none(),
        "closed before the idle timeout"
    );
    assert!(request(&mut client, "/").await.starts_with("HTTP/1.1 200"));
    assert!(
        read_to_close(&mut client, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle kept-alive connection is never closed"
    );
}

#[tokio::test]
async fn a_response_streaming_longer_than_the_idle_timeout_is_not_cut() {
    let server = start(Limits {
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    client
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // Four chunks 500 ms apart: every gap is longer than both timeouts.
    let response = read_to_close(&mut client, Duration::from_secs(10))
        .await
        .expect("the stream ends");
    assert!(response.contains("chunk3;"), "cut short: {response:?}");
}

#[tokio::test]
async fn past_the_cap_a_connection_gets_a_503_with_retry_after_and_a_freed_slot_is_reused() {
    let server = start(Limits {
        max_connections: NonZeroUsize::new(2),
        idle_timeout: Duration::from_secs(60),
        header_read_timeout: Duration::from_secs(60),
        ..limits()
    })
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    assert!(request(&mut first, "/").await.starts_with("HTTP/1.1 200"));
    assert!(request(&mut second, "/").await.starts_with("HTTP/1.1 200"));

    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let refusal = read_to_close(&mut third, Duration::from_secs(5))
        .await
        .expect("the refused connection is closed");
    assert!(
        refusal.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{refusal:?}"
    );
    assert!(refusal.contains("\r\nRetry-After: 5\r\n"), "{refusal:?}");
    assert!(refusal.contains("\r\nConnection: close\r\n"), "{refusal:?}");
    assert!(refusal.contains("connection limit"), "{refusal:?}");

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = TcpStream::connect(server.addr).await.unwrap();
        again
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_to_close(&mut again, Duration::from_secs(5))
            .await
            .unwrap_or_default();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed slot is never reused: {answer:?}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let server = start(limits()).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    let response = request(&mut client, "/peer").await;
    let mine = client.local_addr().unwrap().to_string();
    assert!(
        response.ends_with(&mine),
        "{response:?} does not end with {mine}"
    );
}

#[tokio::test]
async fn shutdown_closes_idle_connections_at_once_and_lets_a_request_in_flight_finish() {
    let mut server = start(Limits {
        idle_timeout: Duration::from_secs(60),
        header_read_timeout: Duration::from_secs(60),
        ..limits()
    })
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert!(request(&mut idle, "/").await.starts_with("HTTP/1.1 200"));
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    busy.write_all(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    server.started.notified().await;

    server.stop.take().unwrap().send(()).unwrap();
    assert!(
        read_to_close(&mut idle, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle connection stays open through shutdown"
    );
    server.release.notify_one();
    let answer = read_to_close(&mut busy, Duration::from_secs(5))
        .await
        .expect("the busy connection closes after its answer");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("finished"),
        "{answer:?}"
    );
    timeout(Duration::from_secs(5), server.stopped)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_cuts_a_never_ending_response_after_the_drain_time() {
    let mut server = start(Limits {
        drain_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(n > 0);
    server.stop.take().unwrap().send(()).unwrap();
    timeout(Duration::from_secs(5), server.stopped)
        .await
        .expect("serve returns after the drain time")
        .unwrap()
        .unwrap();
    assert!(read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .is_some());
}
