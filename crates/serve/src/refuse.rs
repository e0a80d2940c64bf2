//! The answer to a connection beyond the cap: a fixed `503` written straight to the socket, so a
//! refused client learns why and when to come back, and the server spends almost nothing on it.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Seconds a refused client is told to wait.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Refusals that linger to close cleanly; more at once are answered and dropped at once.
pub(crate) const LINGERING_REFUSALS: usize = 32;

/// How long a lingering refusal waits for the client to read the answer and close.
const LINGER: Duration = Duration::from_secs(1);

pub(crate) static RESPONSE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let body = "The server is at its connection limit. Please try again in a few seconds.\n";
    format!(
        "HTTP/1.1 503 Service Unavailable\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Retry-After: {RETRY_AFTER_SECS}\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        body.len()
    )
    .into_bytes()
});

/// Answers `stream` with the 503 and closes it.
///
/// HTTP clients treat bytes that arrive before they sent their request as an error (hyper's
/// client reports an "unexpected message"), and closing a socket whose request was not read
/// makes the kernel send a reset that can destroy the answer. So, while few refusals are in
/// progress, a refusal waits up to a second for the request head, answers, half-closes and
/// reads until the client closes (a second at most). Past [`LINGERING_REFUSALS`] at once it
/// writes what the socket takes and closes at once: under a flood, cheapness comes first.
pub(crate) fn refuse(stream: TcpStream, lingering: &Arc<Semaphore>) {
    let Ok(permit) = lingering.clone().try_acquire_owned() else {
        let _ = stream.try_write(&RESPONSE);
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut stream = stream;
        let _ = tokio::time::timeout(LINGER, read_head(&mut stream)).await;
        let _ = tokio::time::timeout(LINGER, async {
            stream.write_all(&RESPONSE).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            // Bounded by LINGER, and by the bytes a client can send in that time.
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    });
}

/// Reads until the end of a request head, the end of the stream or 8 KiB.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while head.len() < 8 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(())
}
