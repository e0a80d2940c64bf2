//! One accepted connection: hyper's HTTP/1.1 machinery plus a watchdog that knows whether a
//! request is in flight, so that a silent client is closed and a long response is not.
//!
//! Why a watchdog and not only hyper's `header_read_timeout`: in hyper 1.12 that timer starts
//! when the connection is served *and again each time it goes idle after a response*
//! (hyperium/hyper#3828, hyper 1.6), and stops when a request head is complete. It therefore
//! bounds slow headers and the keep-alive wait with one duration; it cannot give an idle
//! kept-alive connection longer than a half-sent request head. The watchdog does: it tracks
//! three phases (awaiting a head, idle, busy) and closes the connection when the phase's own
//! deadline passes. hyper's timer stays on as a backstop set past both deadlines.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::limits::Limits;

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Freshly accepted, or bytes of a new request arrived: the head must be complete in time.
    AwaitingHead,
    /// A response finished and nothing new arrived.
    Idle,
    /// A request is being handled or its response body is still being sent.
    Busy,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    since: Instant,
    in_flight: usize,
    /// Bytes of the next request (pipelining) arrived while busy.
    read_while_busy: bool,
}

/// A connection's activity, shared by its socket, its service and its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                phase: Phase::AwaitingHead,
                since: Instant::now(),
                in_flight: 0,
                read_while_busy: false,
            }),
            changed: Notify::new(),
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // The state is a few plain fields: a panic elsewhere cannot leave it half-updated.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    fn on_read(&self) {
        let woke = self.with_state(|s| match s.phase {
            Phase::Idle => {
                s.phase = Phase::AwaitingHead;
                s.since = Instant::now();
                true
            }
            Phase::Busy => {
                s.read_while_busy = true;
                false
            }
            Phase::AwaitingHead => false,
        });
        if woke {
            self.changed.notify_one();
        }
    }

    fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.with_state(|s| {
            s.in_flight += 1;
            s.phase = Phase::Busy;
        });
        self.changed.notify_one();
        RequestGuard(self.clone())
    }

    fn end_request(&self) {
        self.with_state(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            if s.in_flight == 0 {
                s.phase = if s.read_while_busy {
                    Phase::AwaitingHead
                } else {
                    Phase::Idle
                };
                s.read_while_busy = false;
                s.since = Instant::now();
            }
        });
        self.changed.notify_one();
    }

    /// When the connection must be closed if nothing changes; `None` while busy.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, &'static str)> {
        self.with_state(|s| match s.phase {
            Phase::AwaitingHead => Some((s.since + limits.header_read_timeout, "header read")),
            Phase::Idle => Some((s.since + limits.idle_timeout, "idle")),
            Phase::Busy => None,
        })
    }

    /// Completes with the reason once a deadline has passed without a change.
    async fn expired(&self, limits: &Limits) -> &'static str {
        loop {
            // `notify_one` stores a permit, so a change between reading the deadline and
            // waiting is not lost.
            match self.deadline(limits) {
                None => self.changed.notified().await,
                Some((deadline, reason)) => {
                    tokio::select! {
                        () = self.changed.notified() => {}
                        () = tokio::time::sleep_until(deadline) => {
                            if self.deadline(limits).is_some_and(|(d, _)| d <= Instant::now()) {
                                return reason;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Marks a request in flight until its response body is dropped (sent, or the connection gone).
pub(crate) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// The socket, telling the activity when bytes arrive.
struct TrackedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.on_read();
        }
        result
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A response body that keeps its request "in flight" until hyper has taken all of it.
pub(crate) struct TrackedBody {
    inner: Body,
    _guard: RequestGuard,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The router as hyper sees it, with the peer address as axum's `ConnectInfo` (exactly what
/// `into_make_service_with_connect_info::<SocketAddr>()` inserts).
struct ConnService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let guard = self.activity.begin_request();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = tower::Service::call(&mut self.router.clone(), request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|inner| TrackedBody {
                inner,
                _guard: guard,
            }))
        })
    }
}

/// How the accept loop tells connections to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    Running,
    /// Finish the request in flight, then close; idle connections close at once.
    Graceful,
    /// The drain time is over: close now.
    Now,
}

/// Serves one connection until it ends, a deadline passes or the server stops.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<Stop>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(TrackedIo {
        stream,
        activity: activity.clone(),
    });
    let service = ConnService {
        router,
        peer,
        activity: activity.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // A backstop only: the watchdog's deadlines come first (see the module comment).
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout + limits.idle_timeout);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let expired = activity.expired(&limits);
    tokio::pin!(expired);
    let mut graceful = false;
    loop {
        if !graceful && *stop.borrow_and_update() >= Stop::Graceful {
            graceful = true;
            connection.as_mut().graceful_shutdown();
        }
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            reason = &mut expired => {
                tracing::debug!(%peer, reason, "closing a connection past its timeout");
                return;
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() == Stop::Now {
                    return;
                }
            }
        }
    }
}
