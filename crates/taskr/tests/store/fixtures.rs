//! Records to store: users, links, tasks, members, deliveries, sealed values.

use serde_json::json;
use taskr::crypto::Sealed;
use taskr::store::{
    Link, LinkStatus, NewDelivery, Store, User, WebhookRecord, WorkspaceId, WorkspaceInfo,
};
use uuid::Uuid;

pub async fn user(store: &dyn Store, name: &str) -> User {
    store
        .create_user(name, name, &format!("skeleton-{name}"), "hash", 100)
        .await
        .unwrap()
}

pub fn sealed(key_id: &str, bytes: &[u8]) -> Sealed {
    Sealed {
        key_id: key_id.to_owned(),
        bytes: bytes.to_vec(),
    }
}

/// A new workspace id, for records of a workspace nobody has linked.
pub fn workspace_id() -> WorkspaceId {
    WorkspaceId(Uuid::new_v4())
}

pub fn workspace(name: &str) -> WorkspaceInfo {
    WorkspaceInfo {
        id: WorkspaceId(Uuid::new_v4()),
        name: name.to_owned(),
        slug: name.to_lowercase(),
    }
}

pub fn link(user: &User, workspace: &WorkspaceInfo, created_at: i64) -> Link {
    Link {
        user_id: user.id,
        workspace_id: workspace.id,
        member_id: Some(Uuid::new_v4()),
        scopes: "task:read".to_owned(),
        token: sealed("k1", format!("token-{}", user.id).as_bytes()),
        status: LinkStatus::Active,
        broken_reason: None,
        created_at,
    }
}

/// A user linked to a new workspace.
pub async fn linked(store: &dyn Store, name: &str) -> (User, WorkspaceInfo) {
    let user = user(store, name).await;
    let ws = workspace(&format!("{name}-ws"));
    store.save_link(&ws, &link(&user, &ws, 1)).await.unwrap();
    (user, ws)
}

pub fn task(
    workspace: WorkspaceId,
    content: &str,
    completed: bool,
    created_at: &str,
    assignees: &[Uuid],
) -> attio::Task {
    serde_json::from_value(json!({
        "id": {"workspace_id": workspace, "task_id": Uuid::new_v4()},
        "content_plaintext": content,
        "is_completed": completed,
        "assignees": assignees.iter().map(|a| json!({
            "referenced_actor_type": "workspace-member",
            "referenced_actor_id": a,
        })).collect::<Vec<_>>(),
        "created_at": created_at,
    }))
    .unwrap()
}

pub fn member(workspace: WorkspaceId, id: Uuid, first_name: &str) -> attio::WorkspaceMember {
    serde_json::from_value(json!({
        "id": {"workspace_id": workspace, "workspace_member_id": id},
        "first_name": first_name,
    }))
    .unwrap()
}

pub fn delivery(key: &str, workspace: WorkspaceId, received_ms: i64) -> NewDelivery {
    NewDelivery {
        idempotency_key: key.to_owned(),
        webhook_id: Uuid::nil(),
        workspace_id: workspace,
        body: format!("{{\"key\":\"{key}\"}}").into_bytes(),
        received_ms,
    }
}

pub fn webhook(workspace: WorkspaceId, secret_key: &str) -> WebhookRecord {
    WebhookRecord {
        workspace_id: workspace,
        webhook_id: Uuid::new_v4(),
        target_url: "https://taskr.example/webhooks/attio".to_owned(),
        secret: sealed(secret_key, b"webhook-secret"),
        status: "active".to_owned(),
        checked_at: 10,
        created_at: 10,
    }
}
