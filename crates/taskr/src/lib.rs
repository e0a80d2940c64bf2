//! Taskr: sign up, connect an Attio workspace over OAuth 2.0, and see its tasks and who they
//! are assigned to. `main` is a thin wrapper around [`app::Application`].

pub mod accounts;
pub mod app;
pub mod attio_gateway;
pub mod attio_link;
pub mod config;
pub mod config_text;
pub mod connections;
pub mod coordination;
pub mod crypto;
pub mod drain;
pub mod error;
pub mod feed;
pub mod keys;
pub mod live;
pub mod metrics;
pub mod naming;
pub mod oauth_callback;
pub mod private_files;
pub mod proxies;
pub mod read_model;
pub mod redacted;
pub mod sequencer;
pub mod state;
pub mod store;
pub mod sync;
pub mod web;

/// Seconds since the Unix epoch: the unit of every timestamp Taskr stores.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch: the unit of the inbox's timings.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
