//! The store's types for connections and for key rotation.

use crate::crypto::Sealed;
use crate::store::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    User,
    Workspace,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Workspace => "workspace",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(OwnerKind::User),
            "workspace" => Some(OwnerKind::Workspace),
            _ => None,
        }
    }
}

/// Who a connection belongs to: a Taskr user (by id) or an Attio workspace (by uuid).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub kind: OwnerKind,
    pub id: String,
}

impl Owner {
    pub fn user(user: UserId) -> Self {
        Self {
            kind: OwnerKind::User,
            id: user.0.to_string(),
        }
    }

    pub fn workspace(workspace: super::WorkspaceId) -> Self {
        Self {
            kind: OwnerKind::Workspace,
            id: workspace.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Active,
    NeedsReconnect,
}

#[derive(Debug, Clone)]
pub struct ConnectionRecord {
    pub id: i64,
    pub provider: String,
    pub owner: Owner,
    pub kind: String,
    pub value: Sealed,
    pub refresh: Option<Sealed>,
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
    /// The value's last 4 characters, the only part ever shown.
    pub hint: String,
    pub status: ConnectionStatus,
    pub status_reason: Option<String>,
    pub created_by: UserId,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// New tokens for a connection after a refresh.
#[derive(Debug, Clone)]
pub struct TokenUpdate {
    pub value: Sealed,
    pub refresh: Option<Sealed>,
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
    pub hint: String,
}

#[derive(Debug, Clone)]
pub struct ConnectionFlow {
    pub state_hash: Vec<u8>,
    pub session_hash: Vec<u8>,
    pub user_id: UserId,
    pub provider: String,
    pub owner: Owner,
    pub verifier: Sealed,
    pub return_to: String,
    pub expires_at: i64,
}

/// Where a sealed value lives, for key rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedSlot {
    AttioToken { user: i64 },
    WebhookSecret { workspace: String },
    ConnectionValue { id: i64 },
    ConnectionRefresh { id: i64 },
    FlowVerifier { state_hash: Vec<u8> },
}

#[derive(Debug, Clone)]
pub struct SealedValue {
    pub slot: SealedSlot,
    /// The associated data it was sealed with.
    pub context: String,
    pub sealed: Sealed,
}
