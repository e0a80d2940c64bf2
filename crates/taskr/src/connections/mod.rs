//! Connections: per-user and per-workspace credentials for external services (a secret such as
//! an API key, or an OAuth 2.0 grant that Taskr refreshes itself), read by server code through
//! [`Connections::user`] and [`Connections::workspace`].

mod flow;
pub mod oauth;
pub mod providers;
mod service;

pub use flow::{begin_oauth, complete_oauth, disconnect, save_secret, FlowError};
pub use providers::Provider;
pub use service::{
    follow_invalidations, hint, CallError, Connection, ConnectionError, ConnectionRequired,
    Connections, Ctx, Secret,
};
