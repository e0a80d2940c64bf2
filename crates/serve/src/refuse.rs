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
/// Closing a socket whose request was not read makes the kernel send a reset, which can destroy
/// the answer before the client reads it. So, while few refusals are in progress, the refusal
/// half-closes and reads what the client sends for up to a second before closing; past
/// [`LINGERING_REFUSALS`] it writes what the socket takes at once and closes.
pub(crate) fn refuse(stream: TcpStream, lingering: &Arc<Semaphore>) {
    let Ok(permit) = lingering.clone().try_acquire_owned() else {
        let _ = stream.try_write(&RESPONSE);
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut stream = stream;
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
