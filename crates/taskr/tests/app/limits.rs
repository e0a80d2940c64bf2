//! Connections cannot starve Taskr: silent, slow and idle clients are closed within the
//! timeouts, clients past the cap get a 503 with Retry-After, `/login` keeps answering while
//! hundreds of such connections are open, and the live-updates stream is never cut as idle.
//! Small limits keep these fast; each wait is a read with a deadline.

use std::num::NonZeroUsize;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{TestApp, TestOptions};

fn limits(header_read_secs: u64, idle_secs: u64, max: Option<usize>) -> serve::Limits {
    serve::Limits {
        header_read_timeout: Duration::from_secs(header_read_secs),
        idle_timeout: Duration::from_secs(idle_secs),
        max_connections: max.and_then(NonZeroUsize::new),
        ..serve::Limits::default()
    }
}

async fn spawn(limits: serve::Limits) -> TestApp {
    TestApp::spawn_with(TestOptions {
        server_limits: limits,
        ..TestOptions::default()
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; `None` if it is still open at the deadline.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// `GET /login` on a kept-alive connection; returns the status line once the whole page is in.
async fn get_login(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|n| body.len() >= n) {
                return head.lines().next().unwrap_or_default().to_owned();
            }
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("the page before the deadline")
            .expect("reading the page");
        assert!(n > 0, "closed mid-response: {text:?}");
        seen.extend_from_slice(&buf[..n]);
    }
}

/// Whether the server has closed the connection, without waiting.
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_within_the_header_read_timeout() {
    let app = spawn(limits(1, 60, None)).await;
    let mut silent = connect(&app).await;
    assert!(
        read_to_close(&mut silent, Duration::from_secs(10))
            .await
            .is_some(),
        "a silent connection stays open"
    );
}

#[tokio::test]
async fn a_client_trickling_its_request_head_is_closed_within_the_header_read_timeout() {
    let app = spawn(limits(1, 60, None)).await;
    let mut slow = connect(&app).await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut closed = false;
    while !closed && Instant::now() < deadline {
        // A header byte now and then: each would reset a naive inactivity timer.
        closed = slow.write_all(b"X").await.is_err()
            || read_to_close(&mut slow, Duration::from_millis(200))
                .await
                .is_some();
    }
    assert!(closed, "a trickling request head is never cut");
}

#[tokio::test]
async fn a_kept_alive_connection_that_goes_silent_is_closed_after_the_idle_timeout() {
    let app = spawn(limits(60, 1, None)).await;
    let mut client = connect(&app).await;
    assert_eq!(get_login(&mut client).await, "HTTP/1.1 200 OK");
    assert!(
        read_to_close(&mut client, Duration::from_secs(10))
            .await
            .is_some(),
        "an idle kept-alive connection stays open"
    );
}

#[tokio::test]
async fn past_the_connection_cap_a_client_gets_a_503_and_login_works_again_once_some_close() {
    let app = spawn(limits(60, 60, Some(3))).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&app).await;
        assert_eq!(get_login(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }
    let mut refused = connect(&app).await;
    refused
        .write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut refused, Duration::from_secs(10))
        .await
        .expect("the refused connection is closed");
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer:?}"
    );
    assert!(answer.contains("\r\nRetry-After: 5\r\n"), "{answer:?}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer:?}");

    let response = reqwest::get(app.url("/login")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");

    held.truncate(1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = reqwest::get(app.url("/login")).await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/login still answers {status} after connections closed"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn login_answers_while_hundreds_of_idle_and_slow_connections_are_open() {
    // This process holds both ends of every connection.
    serve::raise_fd_limit().unwrap();
    let app = spawn(limits(30, 30, Some(1000))).await;
    let mut open = Vec::new();
    for i in 0..400 {
        let mut stream = connect(&app).await;
        if i % 2 == 0 {
            stream
                .write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        open.push(stream);
    }
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(5), reqwest::get(app.url("/login")))
        .await
        .expect("/login answers within 5 s")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let took = started.elapsed();
    assert!(
        open.iter().all(still_open),
        "the idle and slow connections were still open during the request"
    );
    eprintln!("/login with 200 idle and 200 slow connections open: {took:?}");
}

#[tokio::test]
async fn an_open_live_stream_outlives_the_idle_timeout() {
    let app = spawn(limits(1, 1, None)).await;
    let client = app.user("streamer").await;
    app.connect(&client).await;
    let mut stream = client.get(app.url("/live")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // A reader task, so that no read is ever cancelled half-way by a timeout.
    let (tx, mut chunks) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let chunk = stream.chunk().await;
            let end = !matches!(chunk, Ok(Some(_)));
            if tx.send(chunk.map_err(|e| e.to_string())).is_err() || end {
                return;
            }
        }
    });
    // Three idle timeouts with nothing sent (the stream's keep-alive comment comes every 15 s):
    // an idle timer that counted the stream as idle would have cut it by now.
    let quiet_until = Instant::now() + Duration::from_secs(3);
    while let Ok(chunk) = tokio::time::timeout_at(quiet_until, chunks.recv()).await {
        let chunk = chunk.expect("the reader is alive");
        assert!(matches!(chunk, Ok(Some(_))), "the stream ended: {chunk:?}");
    }
    app.sandbox.sandbox.create_task_as_member("Still listening");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    while !seen.contains("event: tasks") {
        let chunk = tokio::time::timeout_at(deadline, chunks.recv())
            .await
            .expect("a live event before the deadline")
            .expect("the reader is alive")
            .expect("the stream is readable")
            .expect("the stream is still open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}
