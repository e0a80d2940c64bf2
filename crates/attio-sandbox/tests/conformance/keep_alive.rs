//! One keep-alive connection stays usable after answers that need nothing of the request's
//! body: a 404 (no route), a 405 (a route without that method) and a 401 (a wrong token) to
//! requests that carry one.
//! The connection is a raw socket, so that no client can hide a dropped connection by quietly
//! opening another and sending again.

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Reads one response (head and `Content-Length` body) and returns its status; `None` when the
/// server closed the connection instead.
async fn read_response(stream: &mut BufReader<TcpStream>) -> Option<u16> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("an ASCII head");
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("answers carry a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(status)
}

#[tokio::test]
async fn one_connection_stays_usable_after_404_405_and_401_answers_to_requests_with_a_body() {
    let sandbox = crate::spawn().await;
    let key = sandbox.key();
    let host = sandbox
        .spawned
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let stream = TcpStream::connect(&host).await.expect("connects");
    let mut stream = BufReader::new(stream);
    let body = format!("{{\"data\":{{\"content\":\"{}\"}}}}", "x".repeat(2_000));
    for round in 0..100 {
        let (path, method, token, expected) = match round % 3 {
            0 => ("/v2/no-such-route", "POST", key.as_str(), 404),
            // `/v2/self` exists, for GET only.
            1 => ("/v2/self", "PUT", key.as_str(), 405),
            // The token check answers before the body would be parsed.
            _ => ("/v2/tasks", "POST", "not-a-token", 401),
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // The body follows the head a moment later, as it may over a real network: an answer
        // given before the body is read is then on its way before the body arrives.
        let connection = stream.get_mut();
        connection
            .write_all(head.as_bytes())
            .await
            .expect("the connection takes the head");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        connection
            .write_all(body.as_bytes())
            .await
            .expect("the connection takes the body");
        assert_eq!(
            read_response(&mut stream).await,
            Some(expected),
            "round {round}: {method} {path}"
        );
        let follow_up =
            format!("GET /v2/self HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n");
        stream
            .get_mut()
            .write_all(follow_up.as_bytes())
            .await
            .expect("the connection takes the next request");
        assert_eq!(
            read_response(&mut stream).await,
            Some(200),
            "round {round}: the request after the {expected} on the same connection"
        );
    }
}
