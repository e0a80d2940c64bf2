//! Prometheus metrics for operators (`GET /metrics`). Each application owns its recorder, held
//! in `AppState` and written through directly; none is installed as the process's global
//! recorder. That keeps two Taskr applications in one process (the test suite starts hundreds)
//! from mixing their numbers, and keeps `main` free of a one-shot global to get right.
//!
//! The names are constants here so that the docs, the tests and the code say the same thing.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

pub const HTTP_REQUESTS: &str = "taskr_http_requests_total";
pub const HTTP_DURATION: &str = "taskr_http_request_duration_seconds";
pub const INBOX_PENDING: &str = "taskr_inbox_pending";
pub const INBOX_OLDEST_AGE: &str = "taskr_inbox_oldest_pending_age_seconds";
pub const WEBHOOKS_ACCEPTED: &str = "taskr_webhook_deliveries_accepted_total";
pub const WEBHOOKS_REFUSED: &str = "taskr_webhook_deliveries_refused_total";
pub const WORKER_ROWS: &str = "taskr_worker_rows_total";
pub const ATTIO_REQUESTS: &str = "taskr_attio_requests_total";
pub const CONNECTION_REFRESHES: &str = "taskr_connection_refreshes_total";
pub const LIVE_STREAMS: &str = "taskr_live_streams_open";
pub const PASSWORD_QUEUE_REFUSALS: &str = "taskr_password_hash_queue_refusals_total";
pub const LOGIN_THROTTLE_REFUSALS: &str = "taskr_login_throttle_refusals_total";
pub const AUTH_RATE_LIMITED: &str = "taskr_auth_rate_limited_total";
pub const SHARED_LIMITS_FALLBACKS: &str = "taskr_shared_limits_fallbacks_total";
pub const CONNECTION_REFRESH_LOCKS: &str = "taskr_connection_refresh_locks_total";
pub const DB_POOL_IN_USE: &str = "taskr_db_pool_connections_in_use";
pub const DB_POOL_SIZE: &str = "taskr_db_pool_connections";

/// Request latency buckets, in seconds: from a cached page (a millisecond) to the 30-second
/// request timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const HELP: &[(&str, &str)] = &[
    (
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status.",
    ),
    (
        HTTP_DURATION,
        "Time to the response head, by route template.",
    ),
    (
        INBOX_PENDING,
        "Webhook deliveries stored and not applied yet (all workspaces).",
    ),
    (
        INBOX_OLDEST_AGE,
        "Age of the oldest pending delivery; 0 when none is pending.",
    ),
    (
        WEBHOOKS_ACCEPTED,
        "Deliveries acknowledged: stored, or already received.",
    ),
    (WEBHOOKS_REFUSED, "Deliveries refused, by reason."),
    (
        WORKER_ROWS,
        "Inbox rows the worker applied, or put back after a failure.",
    ),
    (
        ATTIO_REQUESTS,
        "Requests to Attio's API, by HTTP status (or \"error\": no answer).",
    ),
    (
        CONNECTION_REFRESHES,
        "Connection token refreshes, by outcome.",
    ),
    (
        LIVE_STREAMS,
        "Open live-update streams (server-sent events).",
    ),
    (
        PASSWORD_QUEUE_REFUSALS,
        "Log-ins and sign-ups refused because the hashing queue was full.",
    ),
    (
        LOGIN_THROTTLE_REFUSALS,
        "Log-ins refused by the per-account throttle.",
    ),
    (
        AUTH_RATE_LIMITED,
        "Log-ins and sign-ups refused by the per-address rate limit.",
    ),
    (
        SHARED_LIMITS_FALLBACKS,
        "Limit checks that the database failed, decided by this instance's own limits instead.",
    ),
    (
        CONNECTION_REFRESH_LOCKS,
        "Attempts to take a connection's refresh lock across instances, by outcome.",
    ),
    (DB_POOL_IN_USE, "Database connections in use."),
    (DB_POOL_SIZE, "Database connections open (in use or idle)."),
];

/// One application's metrics. Cheap to clone; every clone writes to the same registry.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

static METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_owned()))
        .collect();
    Key::from_parts(name, labels)
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        for (name, help) in HELP {
            // The kind only picks the description table entry; all kinds share one.
            recorder.describe_counter((*name).into(), None, (*help).into());
        }
        let handle = recorder.handle();
        let metrics = Self {
            recorder: Arc::new(recorder),
            handle,
        };
        // Shown from the first scrape, so that a rate over them starts at zero.
        metrics.gauge(LIVE_STREAMS, &[]).set(0.0);
        for outcome in ["applied", "failed"] {
            let _ = metrics.counter(WORKER_ROWS, &[("outcome", outcome)]);
        }
        metrics
    }

    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
    }

    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.recorder.register_gauge(&key(name, labels), &METADATA)
    }

    pub fn histogram(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Histogram {
        self.recorder
            .register_histogram(&key(name, labels), &METADATA)
    }

    /// Adds `n` to a counter.
    pub fn count(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        if n > 0 {
            self.counter(name, labels).increment(n);
        }
    }

    /// Prometheus text of everything recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded latencies into their histograms, so that memory stays bounded between
    /// scrapes (rendering does the same).
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Counts an open live-update stream until the returned guard is dropped.
    pub fn live_stream(&self) -> LiveStreamGuard {
        let gauge = self.gauge(LIVE_STREAMS, &[]);
        gauge.increment(1.0);
        LiveStreamGuard(gauge)
    }
}

/// Holds one count of [`LIVE_STREAMS`].
pub struct LiveStreamGuard(Gauge);

impl Drop for LiveStreamGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_applications_keep_separate_numbers() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.count(WEBHOOKS_REFUSED, &[("reason", "wrong_signature")], 2);
        let text = a.render();
        assert!(
            text.contains("taskr_webhook_deliveries_refused_total{reason=\"wrong_signature\"} 2"),
            "{text}"
        );
        assert!(!b.render().contains("wrong_signature"));
        let guard = b.live_stream();
        assert!(b.render().contains("taskr_live_streams_open 1"));
        drop(guard);
        assert!(b.render().contains("taskr_live_streams_open 0"));
        a.histogram(HTTP_DURATION, &[("route", "/x")]).record(0.003);
        assert!(a
            .render()
            .contains("taskr_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.005\"} 1"));
    }
}
