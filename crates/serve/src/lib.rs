//! Serves an axum `Router` the way a public server must: a header-read timeout, an idle
//! keep-alive timeout that never cuts a response in progress, a cap on connections with a clear
//! `503` beyond it, an accept loop that survives running out of file descriptors, a bounded
//! graceful shutdown, and the open-file limit raised at start-up. Taskr and the Attio sandbox
//! both serve through [`serve`].

mod conn;
mod limits;
mod refuse;
mod server;

pub use limits::{
    current_fd_limit, default_max_connections, raise_fd_limit, raise_fd_limit_and_log, Limits,
    MAX_DERIVED_CONNECTIONS, RESERVED_FDS,
};
pub use refuse::RETRY_AFTER_SECS;
pub use server::serve;
