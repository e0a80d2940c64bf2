//! What a live update says: whatever changes a workspace's cache or feed publishes a
//! `LiveEvent` through the coordinator (`crate::coordination`), and open pages hear it through
//! server-sent events, on this instance and on every other one sharing the database.

use crate::store::WorkspaceId;

/// What changed in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    Tasks,
    Activity,
    /// Whether the workspace's data is current changed: a backlog formed or drained, Attio
    /// started or stopped answering errors, or a sync finished.
    Health,
}

impl Change {
    /// The name of the server-sent event (and of the change in notifications).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Tasks => "tasks",
            Change::Activity => "activity",
            Change::Health => "health",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Change::Tasks, Change::Activity, Change::Health]
            .into_iter()
            .find(|change| change.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LiveEvent {
    /// The workspace that changed; `None` for every workspace (after this instance may have
    /// missed events, say while its link to the database's notifications was down).
    pub workspace: Option<WorkspaceId>,
    pub change: Change,
}

impl LiveEvent {
    pub fn new(workspace: WorkspaceId, change: Change) -> Self {
        Self {
            workspace: Some(workspace),
            change,
        }
    }

    /// "Refresh everything": every open page reloads what it shows.
    pub fn everything() -> Self {
        Self {
            workspace: None,
            change: Change::Tasks,
        }
    }

    /// Whether a page showing `workspace` should hear this event.
    pub fn concerns(&self, workspace: Option<WorkspaceId>) -> bool {
        match self.workspace {
            None => true,
            Some(changed) => Some(changed) == workspace,
        }
    }
}
