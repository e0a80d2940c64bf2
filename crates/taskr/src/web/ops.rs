//! What operators and load balancers ask of every instance: `GET /healthz` (the process
//! serves), `GET /readyz` (the database answers with the current schema, and no shutdown is in
//! progress) and `GET /metrics` (Prometheus text), plus the middleware that counts requests.
//! No sessions, no CSRF: these are machine routes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::metrics::{self as names, Metrics};
use crate::state::AppState;

/// A readiness or metrics query that takes longer than this counts as "the database did not
/// answer": a probe must answer in bounded time.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up and serving; touches nothing else, so it stays cheap under any load.
async fn healthz() -> Response {
    ([(CACHE_CONTROL, "no-store")], "ok\n").into_response()
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CACHE_CONTROL, "no-store")],
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.drain.is_draining() {
        return not_ready("shutting down");
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, state.store.schema_missing()).await {
        Ok(Ok(missing)) if missing.is_empty() => (
            [(CACHE_CONTROL, "no-store")],
            Json(json!({ "status": "ready" })),
        )
            .into_response(),
        Ok(Ok(missing)) => not_ready(&format!(
            "the database schema is not current: migrations {missing:?} are not applied"
        )),
        Ok(Err(e)) => {
            // The cause goes to the log; the probe gets a reason without SQL in it.
            tracing::warn!(error = %e, "readiness: the database did not answer");
            not_ready("the database did not answer")
        }
        Err(_) => not_ready("the database did not answer in time"),
    }
}

/// Who may read `/metrics`: a scraper on this machine, or anyone with the configured token.
///
/// "On this machine" is the TCP peer, never `X-Forwarded-For`: a reverse proxy on the same host
/// connects from loopback too, so a request carrying any forwarding header is treated as coming
/// from outside, trusted proxy or not. Refusals are a 404 when no token is configured (the
/// endpoint is loopback-only and nothing is gained by advertising it) and a 401 with a Bearer
/// challenge when one is, so that a misconfigured scraper is told what is missing.
fn may_read_metrics(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), StatusCode> {
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    if peer.ip().to_canonical().is_loopback() && !forwarded {
        return Ok(());
    }
    let Some(token) = &state.settings.metrics_token else {
        return Err(StatusCode::NOT_FOUND);
    };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    // Hashes have one length, so the comparison time says nothing about the token's length.
    let matches: bool = Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(token.0.as_bytes()))
        .into();
    if matches && !given.is_empty() {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match may_read_metrics(&state, peer, &headers) {
        Ok(()) => {}
        Err(StatusCode::UNAUTHORIZED) => {
            return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")]).into_response()
        }
        Err(status) => return status.into_response(),
    }
    refresh_gauges(&state).await;
    (
        [
            (CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(),
    )
        .into_response()
}

/// Gauges read from the store at scrape time: no background task, and never older than the
/// scrape. When the database does not answer, the inbox gauges keep their last values.
async fn refresh_gauges(state: &AppState) {
    let pool = state.store.pool_usage();
    state
        .metrics
        .gauge(names::DB_POOL_IN_USE, &[])
        .set(f64::from(pool.in_use));
    state
        .metrics
        .gauge(names::DB_POOL_SIZE, &[])
        .set(f64::from(pool.size));
    match tokio::time::timeout(DATABASE_TIMEOUT, state.store.inbox_totals()).await {
        Ok(Ok(totals)) => {
            let age_ms = totals
                .oldest_received_ms
                .map_or(0, |oldest| (crate::now_ms() - oldest).max(0));
            state
                .metrics
                .gauge(names::INBOX_PENDING, &[])
                .set(totals.pending as f64);
            state
                .metrics
                .gauge(names::INBOX_OLDEST_AGE, &[])
                .set(age_ms as f64 / 1000.0);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: could not read the inbox"),
        Err(_) => tracing::warn!("metrics: the inbox query did not answer in time"),
    }
}

/// Counts each request by its route template (never the raw path, which holds ids) and status,
/// and records the time to the response head.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Any token is a valid method: only the usual ones become label values, so that nobody can
    // grow the registry by inventing methods.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics.count(
        names::HTTP_REQUESTS,
        &[("route", &route), ("method", &method), ("status", &status)],
        1,
    );
    metrics
        .histogram(names::HTTP_DURATION, &[("route", &route)])
        .record(started.elapsed().as_secs_f64());
    response
}
