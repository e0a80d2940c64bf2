//! Validation of task create and update bodies, with a precise message for each mistake.
//! Record and member references are resolved here, against the store.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::records::{object, referenced_record};
use crate::store::{LinkedRecord, NewTask, TaskPatch, WorkspaceStore};
use crate::timestamp::parse_deadline;

/// Every key of a create body; all are required and no other is accepted.
const CREATE_KEYS: [&str; 6] = [
    "content",
    "format",
    "deadline_at",
    "is_completed",
    "linked_records",
    "assignees",
];
/// The only keys an update may carry.
const PATCH_KEYS: [&str; 4] = ["deadline_at", "is_completed", "linked_records", "assignees"];
const MAX_CONTENT_CHARS: usize = 2000;

pub(super) fn parse_create(store: &WorkspaceStore, body: Value) -> Result<NewTask, ApiError> {
    let mut data = Fields::data(body)?.into_map();
    if let Some(key) = data.keys().find(|k| !CREATE_KEYS.contains(&k.as_str())) {
        return Err(ApiError::validation(format!(
            "Unknown field \"data.{key}\"; a task is created from exactly {}.",
            CREATE_KEYS.join(", ")
        )));
    }
    if let Some(key) = CREATE_KEYS.iter().find(|k| !data.contains_key(**k)) {
        return Err(ApiError::validation(format!("data.{key} is required.")));
    }
    let mut take = |key: &str| data.remove(key).unwrap_or(Value::Null);
    let Value::String(content) = take("content") else {
        return Err(ApiError::validation("data.content must be a string."));
    };
    let length = content.chars().count();
    if length > MAX_CONTENT_CHARS {
        return Err(ApiError::validation(format!(
            "data.content must be at most {MAX_CONTENT_CHARS} characters long; it has {length}."
        )));
    }
    if take("format") != "plaintext" {
        return Err(ApiError::validation("data.format must be \"plaintext\"."));
    }
    Ok(NewTask {
        content,
        deadline_at: deadline(take("deadline_at"))?,
        is_completed: completed(take("is_completed"))?,
        linked_records: linked_records(store, take("linked_records"))?,
        assignees: assignees(store, take("assignees"))?,
    })
}

pub(super) fn parse_patch(store: &WorkspaceStore, body: Value) -> Result<TaskPatch, ApiError> {
    let data = Fields::data(body)?.into_map();
    if let Some(key) = data.keys().find(|k| !PATCH_KEYS.contains(&k.as_str())) {
        let why = if key == "content" {
            "the content of a task cannot be changed"
        } else {
            "it is not a task field that can be updated"
        };
        return Err(ApiError::validation(format!(
            "data.{key} cannot be updated: {why}. Only {} can.",
            PATCH_KEYS.join(", ")
        )));
    }
    let mut patch = TaskPatch::default();
    for (key, value) in data {
        match key.as_str() {
            "deadline_at" => patch.deadline_at = Some(deadline(value)?),
            "is_completed" => patch.is_completed = Some(completed(value)?),
            "linked_records" => patch.linked_records = Some(linked_records(store, value)?),
            _ => patch.assignees = Some(assignees(store, value)?),
        }
    }
    Ok(patch)
}

fn deadline(value: Value) -> Result<Option<time::OffsetDateTime>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => parse_deadline(&s).map(Some).ok_or_else(|| {
            ApiError::validation(format!(
                "data.deadline_at must be an ISO 8601 timestamp (e.g. 2023-01-01T15:00:00.000000000Z) or null; got \"{s}\"."
            ))
        }),
        _ => Err(ApiError::validation("data.deadline_at must be a string or null.")),
    }
}

fn completed(value: Value) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| ApiError::validation("data.is_completed must be true or false."))
}

fn array(value: Value, field: &str) -> Result<Vec<Map<String, Value>>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::validation(format!(
            "data.{field} must be an array."
        )));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Ok(map),
            _ => Err(ApiError::validation(format!(
                "Each item of data.{field} must be an object."
            ))),
        })
        .collect()
}

fn string<'a>(map: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a str, ApiError> {
    map.get(key).and_then(Value::as_str).ok_or_else(|| {
        ApiError::validation(format!(
            "Each item of data.{field} needs a string \"{key}\"."
        ))
    })
}

/// The linked records a body names. A record that does not exist is a 400 `validation_type`:
/// Attio's document lists no other code for the 400 of the task operations.
fn linked_records(store: &WorkspaceStore, value: Value) -> Result<Vec<LinkedRecord>, ApiError> {
    linked_records_named(store, value).map_err(ApiError::into_validation)
}

fn linked_records_named(
    store: &WorkspaceStore,
    value: Value,
) -> Result<Vec<LinkedRecord>, ApiError> {
    let mut links: Vec<LinkedRecord> = Vec::new();
    for mut item in array(value, "linked_records")? {
        let target = string(&item, "target_object", "linked_records")?.to_owned();
        let kind = object(store, &target)?;
        item.remove("target_object");
        let mut rest = item.into_iter();
        let (Some((key, value)), None) = (rest.next(), rest.next()) else {
            return Err(ApiError::validation(
                "Each linked record needs target_object and exactly one of target_record_id or a unique attribute.",
            ));
        };
        let (unique_slug, unique_field) = kind.unique_attribute().unwrap_or(("", ""));
        let record = if key == "target_record_id" {
            let id = value
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| ApiError::validation("target_record_id must be a UUID."))?;
            referenced_record(store, kind, id)?
        } else if !unique_slug.is_empty() && key == unique_slug {
            let wanted = single_unique_value(value, unique_slug, unique_field)?;
            store.record_by_unique_value(kind, &wanted).ok_or_else(|| {
                ApiError::value_not_found(format!(
                    "No record in object \"{}\" has {unique_slug} \"{wanted}\".",
                    store.object_slug(kind)
                ))
            })?
        } else {
            return Err(ApiError::validation(format!(
                "\"{key}\" is not a unique attribute of object \"{}\"; use target_record_id or {unique_slug}.",
                store.object_slug(kind)
            )));
        };
        let link = LinkedRecord {
            object: kind,
            record_id: record.id,
        };
        if !links.contains(&link) {
            links.push(link);
        }
    }
    Ok(links)
}

/// `[{"email_address": "…"}]` or `["…"]`: exactly one value of a unique attribute.
fn single_unique_value(value: Value, slug: &str, field: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::validation(format!(
            "{slug} must be an array of exactly one value, e.g. [{{\"{field}\": \"…\"}}]."
        ))
    };
    let Value::Array(mut values) = value else {
        return Err(invalid());
    };
    if values.len() != 1 {
        return Err(invalid());
    }
    match values.remove(0) {
        Value::String(s) => Ok(s),
        Value::Object(map) => map
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

/// The members a body assigns; an unknown one is a 400 `validation_type`, as for records.
fn assignees(store: &WorkspaceStore, value: Value) -> Result<Vec<Uuid>, ApiError> {
    assignees_named(store, value).map_err(ApiError::into_validation)
}

fn assignees_named(store: &WorkspaceStore, value: Value) -> Result<Vec<Uuid>, ApiError> {
    let mut ids: Vec<Uuid> = Vec::new();
    for item in array(value, "assignees")? {
        let member = if item.contains_key("workspace_member_email_address") {
            if item.len() != 1 {
                return Err(ApiError::validation(
                    "An assignee given by workspace_member_email_address takes no other field.",
                ));
            }
            let email = string(&item, "workspace_member_email_address", "assignees")?;
            store.member_by_email(email).ok_or_else(|| {
                ApiError::value_not_found(format!(
                    "Workspace member with email address \"{email}\" not found."
                ))
            })?
        } else {
            if item
                .keys()
                .any(|k| k != "referenced_actor_type" && k != "referenced_actor_id")
            {
                return Err(ApiError::validation(
                    "An assignee is {referenced_actor_type, referenced_actor_id} or {workspace_member_email_address}.",
                ));
            }
            if string(&item, "referenced_actor_type", "assignees")? != "workspace-member" {
                return Err(ApiError::validation(
                    "Only workspace members can be assigned: referenced_actor_type must be \"workspace-member\".",
                ));
            }
            let raw = string(&item, "referenced_actor_id", "assignees")?;
            let id = Uuid::parse_str(raw).map_err(|_| {
                ApiError::validation(format!(
                    "referenced_actor_id must be a UUID, got \"{raw}\"."
                ))
            })?;
            store.member(id).ok_or_else(|| {
                ApiError::value_not_found(format!("Workspace member with ID \"{id}\" not found."))
            })?
        };
        if !ids.contains(&member.id) {
            ids.push(member.id);
        }
    }
    Ok(ids)
}
