//! Shutdown in progress. Set first when a stop signal arrives, so that readiness answers 503 and
//! open live-update streams end at once instead of holding the server's drain to its deadline.

use std::sync::Arc;

use tokio::sync::watch;

/// Whether this process is shutting down. Cheap to clone; all clones see the same flag.
#[derive(Clone)]
pub struct Drain(Arc<watch::Sender<bool>>);

impl Default for Drain {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }
}

impl Drain {
    /// Marks the process as shutting down; idempotent.
    pub fn begin(&self) {
        self.0.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Follows the flag: `true` once shutdown has begun.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Completes once shutdown has begun (at once if it already has).
    pub async fn started(&self) {
        let mut receiver = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = receiver.wait_for(|draining| *draining).await;
    }
}
