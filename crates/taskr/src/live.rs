//! Live updates inside one Taskr process: whatever changes a workspace's cache or feed says so
//! here, and open pages hear it through server-sent events.

use tokio::sync::broadcast;
use uuid::Uuid;

/// What changed in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Tasks,
    Activity,
    /// Whether the workspace's data is current changed: a backlog formed or drained, Attio
    /// started or stopped answering errors, or a sync finished.
    Health,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveEvent {
    pub workspace: Uuid,
    pub change: Change,
}

#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<LiveEvent>,
}

impl Default for Live {
    fn default() -> Self {
        // Slow listeners that fall this far behind are told to refresh everything.
        let (sender, _) = broadcast::channel(1024);
        Self { sender }
    }
}

impl Live {
    pub fn publish(&self, workspace: Uuid, change: Change) {
        // No listener is not an error: nobody has the page open.
        let _ = self.sender.send(LiveEvent { workspace, change });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }
}
