//! What a public server allows one connection and all of them together, and the open-file limit
//! those numbers are derived from.

use std::num::NonZeroUsize;
use std::time::Duration;

/// File descriptors kept back from the connection caps: the SQLite database and its `-wal` and
/// `-shm` files for every pooled connection, outgoing HTTP connections (Attio, providers,
/// webhook deliveries), the listeners, refusals in progress, logs and stdio.
pub const RESERVED_FDS: u64 = 256;

/// The largest cap derived from the file limit. An idle connection costs a task, a socket and
/// hyper's buffers (about 10 KiB); past a few thousand the memory matters more than the file
/// limit, and every connection is closed within the timeouts anyway. Configure more if needed.
pub const MAX_DERIVED_CONNECTIONS: usize = 8192;

/// How long the server waits for each stage of a connection, and how many it holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From accepting a connection, or from the first byte of a request on a kept-alive one, to
    /// the end of the request head. A client that is slower is disconnected.
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight and no byte of a new one for this long
    /// is closed. A request in progress (a long response, a server-sent event stream) is never
    /// cut by it.
    pub idle_timeout: Duration,
    /// At most this many connections are served at once; beyond, a connection gets a short
    /// `503 Service Unavailable` and is closed. `None`: derived from the open-file limit at the
    /// moment serving starts ([`default_max_connections`]).
    pub max_connections: Option<NonZeroUsize>,
    /// On shutdown, requests in flight get this long to finish before their connections are cut.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The connection cap in force: the configured one, or one derived from the current
    /// open-file soft limit.
    pub fn effective_max_connections(&self) -> usize {
        match self.max_connections {
            Some(max) => max.get(),
            None => default_max_connections(current_fd_limit()),
        }
    }
}

/// The cap derived from an open-file limit: what is left after [`RESERVED_FDS`], halved so that
/// two servers in one process (Taskr and its embedded sandbox) both fit, and at most
/// [`MAX_DERIVED_CONNECTIONS`]. Never below 16, so a tiny limit still serves someone.
pub fn default_max_connections(fd_limit: u64) -> usize {
    let share = fd_limit.saturating_sub(RESERVED_FDS) / 2;
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .clamp(16, MAX_DERIVED_CONNECTIONS)
}

/// The open-file soft limit now (`u64::MAX` where the platform has none, 1024 if it cannot be
/// read).
pub fn current_fd_limit() -> u64 {
    #[cfg(unix)]
    {
        rlimit::Resource::NOFILE
            .get()
            .map(|(soft, _)| soft)
            .unwrap_or(1024)
    }
    #[cfg(not(unix))]
    {
        u64::MAX
    }
}

/// Raises the open-file soft limit to the hard limit (a default soft limit of 1,024 is what
/// 1,100 idle connections exhausted) and returns the limit now in force.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// What both binaries do at start-up: raise the open-file limit, then log it with the cap and
/// the timeouts (and warn when a configured cap does not fit in the limit).
pub fn raise_fd_limit_and_log(limits: &Limits) {
    let files = match raise_fd_limit() {
        Ok(files) => files,
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            current_fd_limit()
        }
    };
    let max = limits.effective_max_connections();
    tracing::info!(
        open_file_limit = files,
        max_connections = max,
        header_read_timeout_secs = limits.header_read_timeout.as_secs(),
        idle_timeout_secs = limits.idle_timeout.as_secs(),
        "connection limits"
    );
    if (max as u64).saturating_add(RESERVED_FDS) > files {
        tracing::warn!(
            open_file_limit = files,
            max_connections = max,
            "the connection cap does not fit in the open-file limit: accept errors will come \
             before 503s; lower the cap or raise the hard limit (ulimit -Hn, LimitNOFILE=)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_cap_leaves_room_for_two_servers_and_the_reserve() {
        assert_eq!(default_max_connections(1024), (1024 - 256) / 2);
        assert_eq!(default_max_connections(20_000), MAX_DERIVED_CONNECTIONS);
        assert_eq!(default_max_connections(100), 16);
        assert_eq!(default_max_connections(u64::MAX), MAX_DERIVED_CONNECTIONS);
    }

    #[test]
    fn raising_the_limit_never_lowers_it() {
        let before = current_fd_limit();
        let after = raise_fd_limit().expect("raising the soft limit to the hard one");
        assert!(after >= before, "{after} < {before}");
        assert_eq!(after, current_fd_limit());
    }

    #[test]
    fn a_configured_cap_wins_over_the_derived_one() {
        let limits = Limits {
            max_connections: NonZeroUsize::new(3),
            ..Limits::default()
        };
        assert_eq!(limits.effective_max_connections(), 3);
    }
}
