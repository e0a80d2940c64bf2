//! Row mapping shared by the SQLite and PostgreSQL stores. Both schemas use the same column
//! names and the same column kinds as seen from Rust (i64, text, bytes), so a row of either
//! becomes a record through the same function.

use sqlx::{ColumnIndex, Decode, Row, Type};
use uuid::Uuid;

use super::{BadProviderName, ProviderName, WorkspaceId};

use super::{
    Activity, CachedName, CachedRecord, ConnectionFlow, ConnectionRecord, ConnectionStatus,
    InboxRow, Link, LinkStatus, NameKey, OAuthState, ObjectInfo, Owner, OwnerKind, StoreError,
    StoreResult, UpstreamProblem, User, UserId, UserWithPassword, WebhookRecord, Workspace,
    WorkspaceInfo,
};
use crate::crypto::Sealed;

/// A row of a backend whose columns decode to the types the records use.
pub(super) trait StoreRow {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;
    /// A boolean column (INTEGER 0/1 on SQLite, BOOLEAN on PostgreSQL).
    fn flag(&self, column: &str) -> StoreResult<bool>;
}

impl<R> StoreRow for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn flag(&self, column: &str) -> StoreResult<bool> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(column)?)
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.try_get(column)?)
    }
}

/// A stored name kind read back; an unknown one is corrupt data.
pub(super) fn parse_kind(raw: &str) -> StoreResult<super::NameKind> {
    super::NameKind::parse(raw)
        .ok_or_else(|| super::StoreError::Corrupt(format!("name kind {raw:?}")))
}

pub(super) fn parse_uuid(raw: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Corrupt(format!("uuid {raw:?}: {e}")))
}

pub(super) fn parse_workspace(raw: &str) -> StoreResult<WorkspaceId> {
    raw.parse()
        .map_err(|e: super::BadWorkspaceId| StoreError::Corrupt(e.to_string()))
}

/// A provider name read back: one that no longer parses (written by hand, or by a version
/// with other rules) is reported with the row it came from, never trusted.
pub(super) fn parse_provider(raw: &str, row: &str) -> StoreResult<ProviderName> {
    ProviderName::parse(raw)
        .map_err(|e: BadProviderName| StoreError::Corrupt(format!("{row}: {e}")))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn owner_from(kind: &str, id: String) -> StoreResult<Owner> {
    let kind = OwnerKind::parse(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("owner kind {kind:?}")))?;
    Ok(Owner { kind, id })
}

pub(super) fn link_from_row(row: &impl StoreRow) -> StoreResult<Link> {
    Ok(Link {
        user_id: UserId(row.int("user_id")?),
        workspace_id: parse_workspace(&row.text("workspace_id")?)?,
        member_id: row
            .opt_text("member_id")?
            .as_deref()
            .map(parse_uuid)
            .transpose()?,
        scopes: row.text("scopes")?,
        token: Sealed {
            key_id: row.text("token_key_id")?,
            bytes: row.bytes("token_sealed")?,
        },
        status: if row.text("status")? == "active" {
            LinkStatus::Active
        } else {
            LinkStatus::Broken
        },
        broken_reason: row.opt_text("broken_reason")?,
        created_at: row.int("created_at")?,
    })
}

pub(super) fn webhook_from_row(row: &impl StoreRow) -> StoreResult<WebhookRecord> {
    Ok(WebhookRecord {
        workspace_id: parse_workspace(&row.text("workspace_id")?)?,
        webhook_id: parse_uuid(&row.text("webhook_id")?)?,
        target_url: row.text("target_url")?,
        secret: Sealed {
            key_id: row.text("secret_key_id")?,
            bytes: row.bytes("secret_sealed")?,
        },
        status: row.text("status")?,
        checked_at: row.int("checked_at")?,
        created_at: row.int("created_at")?,
    })
}

pub(super) fn connection_from_row(row: &impl StoreRow) -> StoreResult<ConnectionRecord> {
    let id = row.int("id")?;
    Ok(ConnectionRecord {
        id,
        provider: parse_provider(&row.text("provider")?, &format!("connection {id}"))?,
        owner: owner_from(&row.text("owner_kind")?, row.text("owner_id")?)?,
        kind: row.text("kind")?,
        value: Sealed {
            key_id: row.text("value_key_id")?,
            bytes: row.bytes("value_sealed")?,
        },
        refresh: match (
            row.opt_text("refresh_key_id")?,
            row.opt_bytes("refresh_sealed")?,
        ) {
            (Some(key_id), Some(bytes)) => Some(Sealed { key_id, bytes }),
            _ => None,
        },
        expires_at: row.opt_int("expires_at")?,
        scope: row.opt_text("scope")?,
        hint: row.text("hint")?,
        status: if row.text("status")? == "active" {
            ConnectionStatus::Active
        } else {
            ConnectionStatus::NeedsReconnect
        },
        status_reason: row.opt_text("status_reason")?,
        created_by: UserId(row.int("created_by")?),
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        version: row.int("version")?,
    })
}

pub(super) fn flow_from_row(row: &impl StoreRow) -> StoreResult<ConnectionFlow> {
    Ok(ConnectionFlow {
        state_hash: row.bytes("state_hash")?,
        session_hash: row.bytes("session_hash")?,
        user_id: UserId(row.int("user_id")?),
        provider: parse_provider(&row.text("provider")?, "a connection flow")?,
        owner: owner_from(&row.text("owner_kind")?, row.text("owner_id")?)?,
        verifier: Sealed {
            key_id: row.text("verifier_key_id")?,
            bytes: row.bytes("verifier_sealed")?,
        },
        return_to: row.text("return_to")?,
        expires_at: row.int("expires_at")?,
    })
}

pub(super) fn user_from_row(row: &impl StoreRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.int("id")?),
        username: row.text("username")?,
        time_zone: row.opt_text("time_zone")?,
    })
}

pub(super) fn user_with_password_from_row(row: &impl StoreRow) -> StoreResult<UserWithPassword> {
    Ok(UserWithPassword {
        user: user_from_row(row)?,
        password_hash: row.text("password_hash")?,
    })
}

pub(super) fn oauth_state_from_row(row: &impl StoreRow) -> StoreResult<OAuthState> {
    Ok(OAuthState {
        state_hash: row.bytes("state_hash")?,
        session_hash: row.bytes("session_hash")?,
        user_id: UserId(row.int("user_id")?),
        expires_at: row.int("expires_at")?,
    })
}

pub(super) fn workspace_from_row(row: &impl StoreRow) -> StoreResult<Workspace> {
    Ok(Workspace {
        info: WorkspaceInfo {
            id: parse_workspace(&row.text("id")?)?,
            name: row.text("name")?,
            slug: row.text("slug")?,
        },
        last_synced_at: row.opt_int("last_synced_at")?,
        sync_error: row.opt_text("sync_error")?,
        webhook_note: row.opt_text("webhook_note")?,
        upstream_problem: row
            .opt_text("upstream_problem")?
            .as_deref()
            .and_then(UpstreamProblem::parse),
        upstream_problem_since_ms: row.opt_int("upstream_problem_since_ms")?,
    })
}

pub(super) fn inbox_row_from_row(row: &impl StoreRow) -> StoreResult<InboxRow> {
    Ok(InboxRow {
        id: row.int("id")?,
        idempotency_key: row.text("idempotency_key")?,
        workspace_id: parse_workspace(&row.text("workspace_id")?)?,
        body: row.bytes("body")?,
        received_ms: row.int("received_ms")?,
        attempts: row.int("attempts")?,
    })
}

/// An activity entry joined with its task's cached JSON (column `task`, NULL when gone).
pub(super) fn activity_from_row(row: &impl StoreRow) -> StoreResult<Activity> {
    let event_type = row.text("event_type")?;
    let subject_kind = row.opt_text("subject_kind")?;
    let subject_id = row.opt_text("subject_id")?;
    let event = match row.opt_text("event")? {
        Some(raw) => Some(from_json(&raw)?),
        None => event_from_columns(&event_type, subject_kind.as_deref(), subject_id.as_deref()),
    };
    Ok(Activity {
        id: row.int("id")?,
        event_type,
        actor_type: row.opt_text("actor_type")?,
        actor_id: row.opt_text("actor_id")?,
        subject_kind,
        subject_id,
        task: row
            .opt_text("task")?
            .as_deref()
            .map(from_json)
            .transpose()?,
        occurred_ms: row.int("occurred_ms")?,
        event,
    })
}

/// The event of a feed entry stored before whole events were kept, from the columns it has
/// (its type and subject): enough for its sentence to name what those name.
fn event_from_columns(
    event_type: &str,
    kind: Option<&str>,
    id: Option<&str>,
) -> Option<attio::WebhookEvent> {
    let mut ids = serde_json::Map::new();
    if let (Some(kind), Some(id)) = (kind, id) {
        let key = match kind {
            "task" => "task_id",
            "member" => "workspace_member_id",
            "note" => "note_id",
            "comment" => "comment_id",
            "list" => "list_id",
            "list-entry" => "entry_id",
            "attribute" => "attribute_id",
            "call-recording" => "call_recording_id",
            other => match other.strip_prefix("record:") {
                Some(object) => {
                    ids.insert("object_id".into(), object.into());
                    "record_id"
                }
                None => return None,
            },
        };
        ids.insert(key.into(), id.into());
    }
    serde_json::from_value(serde_json::json!({"event_type": event_type, "id": ids})).ok()
}

pub(super) fn record_from_row(row: &impl StoreRow) -> StoreResult<CachedRecord> {
    Ok(CachedRecord {
        record_id: parse_uuid(&row.text("record_id")?)?,
        object: row.text("object")?,
        object_id: row
            .opt_text("object_id")?
            .as_deref()
            .map(parse_uuid)
            .transpose()?,
        name: row.opt_text("name")?,
        web_url: row.opt_text("web_url")?,
        deleted: row.flag("deleted")?,
        merged_into: row
            .opt_text("merged_into")?
            .as_deref()
            .map(parse_uuid)
            .transpose()?,
        fetched_ms: row.opt_int("fetched_ms")?,
        problem: row.opt_text("problem")?,
    })
}

pub(super) fn name_from_row(row: &impl StoreRow) -> StoreResult<CachedName> {
    Ok(CachedName {
        key: NameKey {
            kind: parse_kind(&row.text("kind")?)?,
            id: row.text("id")?,
        },
        parent: row.opt_text("parent")?,
        name: row.opt_text("name")?,
        deleted: row.flag("deleted")?,
        problem: row.opt_text("problem")?,
    })
}

pub(super) fn object_from_row(row: &impl StoreRow) -> StoreResult<ObjectInfo> {
    Ok(ObjectInfo {
        object_id: parse_uuid(&row.text("object_id")?)?,
        api_slug: row.text("api_slug")?,
        singular_noun: row.text("singular_noun")?,
        plural_noun: row.text("plural_noun")?,
    })
}
