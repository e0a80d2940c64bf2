//! Attio's resources as Taskr reads them. Fields the reference marks as optional or unconfirmed
//! default instead of failing, so that a new or missing field never breaks a sync.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskId {
    pub workspace_id: Uuid,
    pub task_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedRecord {
    /// The spec's example is an object slug (`people`); an object id is equally possible.
    pub target_object_id: String,
    pub target_record_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// `workspace-member`, `api-token`, `system` or `app`; kept as text so a new kind is harmless.
    pub referenced_actor_type: String,
    pub referenced_actor_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    #[serde(default)]
    pub content_plaintext: String,
    /// A date (`2023-01-01`) or a timestamp; both appear in the reference.
    #[serde(default)]
    pub deadline_at: Option<String>,
    #[serde(default)]
    pub is_completed: bool,
    /// Only in the newer spec; absent on older responses.
    #[serde(default)]
    pub completed_at: Option<String>,
    #[serde(default)]
    pub linked_records: Vec<LinkedRecord>,
    #[serde(default)]
    pub assignees: Vec<Assignee>,
    #[serde(default)]
    pub created_by_actor: Actor,
    #[serde(default)]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceMemberId {
    pub workspace_id: Uuid,
    pub workspace_member_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceMember {
    pub id: WorkspaceMemberId,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub email_address: String,
    /// `admin`, `member` or `suspended`.
    #[serde(default)]
    pub access_level: String,
    #[serde(default)]
    pub created_at: String,
}

impl WorkspaceMember {
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        let name = name.trim();
        if name.is_empty() {
            self.email_address.clone()
        } else {
            name.to_owned()
        }
    }
}

/// A record (person, company, …): its id and its attribute values, kept as JSON because every
/// attribute type has its own value shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Record {
    pub id: RecordId,
    /// The record's page in Attio's web app (required in Attio's document; defaulted here).
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordId {
    pub workspace_id: Uuid,
    #[serde(default)]
    pub object_id: Option<String>,
    pub record_id: Uuid,
}

impl Record {
    fn first(&self, attribute: &str) -> Option<&serde_json::Value> {
        self.values.get(attribute)?.as_array()?.first()
    }

    /// The first email address of a person.
    pub fn primary_email(&self) -> Option<String> {
        let value = self.first("email_addresses")?;
        value
            .get("email_address")
            .or_else(|| value.get("original_email_address"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    /// A person's full name or a company's name, when present.
    pub fn name(&self) -> Option<String> {
        let value = self.first("name")?;
        let text = value
            .get("full_name")
            .or_else(|| value.get("value"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .or_else(|| {
                let first = value
                    .get("first_name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let last = value
                    .get("last_name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                Some(format!("{first} {last}").trim().to_owned())
            })?;
        (!text.is_empty()).then_some(text)
    }
}

/// The fields of an active token, as `/v2/self` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub client_id: Option<String>,
    pub workspace_id: Uuid,
    #[serde(default)]
    pub workspace_name: String,
    #[serde(default)]
    pub workspace_slug: String,
    #[serde(default)]
    pub workspace_logo_url: Option<String>,
    pub authorized_by_workspace_member_id: Option<Uuid>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
}

impl TokenInfo {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    /// True when the token carries `scope`, or its `:read-write` form for a `:read` scope.
    pub fn has_scope(&self, scope: &str) -> bool {
        scope_granted(&self.scope, scope)
    }
}

/// Whether a space-separated scope list (as `/v2/self` reports it) grants `scope`: the scope
/// itself, or its `:read-write` form for a `:read` scope.
pub fn scope_granted(scopes: &str, scope: &str) -> bool {
    let write = scope
        .strip_suffix(":read")
        .map(|base| format!("{base}:read-write"));
    scopes
        .split_whitespace()
        .any(|s| s == scope || Some(s) == write.as_deref())
}

/// `/v2/self`: `{"active": false}` for a dead token, the full identity otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfInfo {
    Active(Box<TokenInfo>),
    Inactive,
}

impl<'de> Deserialize<'de> for SelfInfo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        // Some clients have seen the body wrapped in `data`; accept both.
        let value = match value.get("data") {
            Some(inner) if inner.is_object() => inner.clone(),
            _ => value,
        };
        match value.get("active").and_then(|a| a.as_bool()) {
            Some(true) => serde_json::from_value(value)
                .map(|info| SelfInfo::Active(Box::new(info)))
                .map_err(serde::de::Error::custom),
            Some(false) => Ok(SelfInfo::Inactive),
            None => Err(serde::de::Error::missing_field("active")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_parses_the_documented_example_and_tolerates_missing_optional_fields() {
        let json = r#"{
            "id": {"workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "task_id": "649e34f4-c39a-4f4d-99ef-48a36bef8f04"},
            "content_plaintext": "Follow up on current software solutions",
            "deadline_at": "2023-01-01",
            "is_completed": false,
            "linked_records": [{"target_object_id": "people", "target_record_id": "891dcbfc-9141-415d-9b2a-2238a6cc012d"}],
            "assignees": [{"referenced_actor_type": "workspace-member", "referenced_actor_id": "50cf242c-7fa3-4cad-87d0-75b1af71c57b"}],
            "created_by_actor": {"type": "workspace-member", "id": "50cf242c-7fa3-4cad-87d0-75b1af71c57b"},
            "created_at": "2022-11-21T13:22:49.061281000Z"
        }"#;
        let task: Task = serde_json::from_str(json).unwrap();
        assert_eq!(task.deadline_at.as_deref(), Some("2023-01-01"));
        assert_eq!(task.completed_at, None);
        assert_eq!(task.assignees.len(), 1);
        assert_eq!(task.linked_records[0].target_object_id, "people");
    }

    #[test]
    fn a_person_record_yields_its_name_and_email() {
        let record: Record = serde_json::from_str(
            r#"{"id": {"workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "object_id": "people",
                        "record_id": "891dcbfc-9141-415d-9b2a-2238a6cc012d"},
                "values": {"name": [{"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"}],
                           "email_addresses": [{"email_address": "ada@example.com"}]}}"#,
        )
        .unwrap();
        assert_eq!(record.name().as_deref(), Some("Ada Lovelace"));
        assert_eq!(record.primary_email().as_deref(), Some("ada@example.com"));
        let empty: Record = serde_json::from_str(
            r#"{"id": {"workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "record_id": "891dcbfc-9141-415d-9b2a-2238a6cc012d"}, "values": {}}"#,
        )
        .unwrap();
        assert_eq!(empty.primary_email(), None);
        assert_eq!(empty.name(), None);
    }

    #[test]
    fn self_info_reads_inactive_and_active_forms() {
        let inactive: SelfInfo = serde_json::from_str(r#"{"active": false}"#).unwrap();
        assert_eq!(inactive, SelfInfo::Inactive);
        let active: SelfInfo = serde_json::from_str(
            r#"{"active": true, "scope": "task:read user_management:read-write", "client_id": "c",
                "token_type": "Bearer", "exp": null, "iat": 1, "sub": "14beef7a-99f7-4534-a87e-70b564330a4c",
                "aud": "c", "iss": "attio.com",
                "authorized_by_workspace_member_id": "50cf242c-7fa3-4cad-87d0-75b1af71c57b",
                "workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "workspace_name": "Acme",
                "workspace_slug": "acme", "workspace_logo_url": null}"#,
        )
        .unwrap();
        let SelfInfo::Active(info) = active else {
            panic!("expected an active token")
        };
        assert_eq!(info.workspace_name, "Acme");
        assert!(info.has_scope("task:read"));
        assert!(info.has_scope("user_management:read"));
        assert!(!info.has_scope("webhook:read"));
        assert!(serde_json::from_str::<SelfInfo>("{}").is_err());
    }
}
