//! The sandbox serves like a public server (it shares Taskr's `serve` crate): silent and idle
//! connections are closed within the timeouts, connections past the cap get a 503 with
//! Retry-After, and the API keeps answering while hundreds of idle connections are open.

use std::num::NonZeroUsize;
use std::time::Duration;

use attio_sandbox::{Config, Limits, Sandbox, SpawnedSandbox};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

async fn spawn(header_read_secs: u64, idle_secs: u64, max: Option<usize>) -> SpawnedSandbox {
    Sandbox::new(Config::default())
        .spawn_with(Limits {
            header_read_timeout: Duration::from_secs(header_read_secs),
            idle_timeout: Duration::from_secs(idle_secs),
            max_connections: max.and_then(NonZeroUsize::new),
            ..Limits::default()
        })
        .await
        .expect("sandbox binds a port")
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

/// The console (a loopback-only page, so the peer address reached the handler) over one
/// request on a kept-alive connection; returns the status line.
async fn get_console(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request sent");
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

#[tokio::test]
async fn silent_and_idle_connections_are_closed_within_the_timeouts() {
    let sandbox = spawn(1, 1, None).await;
    let mut silent = TcpStream::connect(sandbox.addr).await.expect("connects");
    let mut kept_alive = TcpStream::connect(sandbox.addr).await.expect("connects");
    assert_eq!(get_console(&mut kept_alive).await, "HTTP/1.1 200 OK");
    for (name, stream) in [("silent", &mut silent), ("kept-alive", &mut kept_alive)] {
        assert!(
            read_to_close(stream, Duration::from_secs(10))
                .await
                .is_some(),
            "the {name} connection stays open"
        );
    }
}

#[tokio::test]
async fn past_the_connection_cap_a_client_gets_a_503_with_retry_after() {
    let sandbox = spawn(60, 60, Some(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(sandbox.addr).await.expect("connects");
        assert_eq!(get_console(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }
    let response = reqwest::get(format!("{}/v2/self", sandbox.base_url()))
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response.headers()["connection"], "close");

    held.clear();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(sandbox.addr).await.expect("connects");
        if get_console(&mut stream).await == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(Instant::now() < deadline, "slots are never freed");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn the_api_answers_while_hundreds_of_idle_and_slow_connections_are_open() {
    // This process holds both ends of every connection.
    serve::raise_fd_limit().expect("raising the open-file limit");
    let sandbox = spawn(30, 30, Some(1000)).await;
    let mut open = Vec::new();
    for i in 0..300 {
        let mut stream = TcpStream::connect(sandbox.addr).await.expect("connects");
        if i % 2 == 0 {
            stream
                .write_all(b"GET /v2/self HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("a partial head");
        }
        open.push(stream);
    }
    let key = sandbox.sandbox.mint_api_key(None);
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::Client::new()
            .get(format!("{}/v2/self", sandbox.base_url()))
            .bearer_auth(key)
            .send(),
    )
    .await
    .expect("answers within 5 s")
    .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let mut buf = [0u8; 1];
    assert!(
        open.iter().all(
            |s| matches!(s.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        ),
        "the idle and slow connections were open during the request"
    );
}
