//! The accept loop: caps connections, survives accept errors, and shuts down in bounded time.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use crate::conn::{serve_connection, Stop};
use crate::limits::Limits;
use crate::refuse::{refuse, LINGERING_REFUSALS};

/// Serves `router` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, closes idle connections, lets requests in flight finish for at most
/// `limits.drain_timeout`, and cuts what is left.
///
/// Handlers can extract `ConnectInfo<SocketAddr>` as with
/// `into_make_service_with_connect_info::<SocketAddr>()`. Serves HTTP/1.1 (as `axum::serve`
/// with axum's default features).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // `acquire_many` (the drain) counts in u32.
    let max = limits
        .effective_max_connections()
        .min(u32::MAX as usize)
        .min(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let lingering = Arc::new(Semaphore::new(LINGERING_REFUSALS));
    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let mut errors = ErrorLog::default();
    let mut backoff = MIN_BACKOFF;
    tracing::debug!(addr = ?listener.local_addr().ok(), max_connections = max, ?limits, "serving");
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = MIN_BACKOFF;
                match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let router = router.clone();
                        let stop = stop_rx.clone();
                        tokio::spawn(async move {
                            serve_connection(stream, peer, router, limits, stop).await;
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        errors.refused(max);
                        refuse(stream, &lingering);
                    }
                }
            }
            // The client gave up before we accepted: nothing to wait for.
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                // Out of file descriptors (EMFILE/ENFILE) or memory: the pending connection
                // stays queued and the listener stays readable, so retrying at once would spin.
                // Waiting lets timeouts free descriptors.
                errors.accept_failed(&error);
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(Stop::Graceful);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.drain_timeout, slots.acquire_many(all)).await;
    if drained.is_err() {
        let open = max - slots.available_permits();
        tracing::warn!(
            connections = open,
            "requests still in flight after the drain time; closing their connections"
        );
        let _ = stop_tx.send(Stop::Now);
        let _ = tokio::time::timeout(Duration::from_secs(1), slots.acquire_many(all)).await;
    }
    Ok(())
}

const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Errors about one connection that was already gone, not about the server.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Logs accept errors and refusals at most once per interval, with counts, so a flood of them
/// cannot flood the log.
#[derive(Default)]
struct ErrorLog {
    failed_since: u64,
    refused_since: u64,
    last_failed: Option<Instant>,
    last_refused: Option<Instant>,
}

const LOG_EVERY: Duration = Duration::from_secs(10);

fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

impl ErrorLog {
    fn accept_failed(&mut self, error: &io::Error) {
        self.failed_since += 1;
        if due(&mut self.last_failed) {
            tracing::error!(
                %error,
                errors = self.failed_since,
                "cannot accept connections (count since the last report); backing off"
            );
            self.failed_since = 0;
        }
    }

    fn refused(&mut self, max: usize) {
        self.refused_since += 1;
        if due(&mut self.last_refused) {
            tracing::warn!(
                max_connections = max,
                refused = self.refused_since,
                "at the connection limit: refusing with 503 (count since the last report)"
            );
            self.refused_since = 0;
        }
    }
}
