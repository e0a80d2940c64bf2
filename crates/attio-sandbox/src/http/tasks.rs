//! `/v2/tasks`: list with Attio's filters, sorts and offset paging; get, create, update, delete.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{pairs, path_uuid, single, ApiJson, Authorized, ScopeSet};
use super::records::object;
use super::task_body::{parse_create, parse_patch};
use crate::store::{AssigneeFilter, LinkedRecord, Task, TaskFilter, TaskSort, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

// Besides `task:*`, reading or writing tasks needs three `:read` scopes (attio-api.md 1.5).
pub(super) struct ReadTasks;
impl ScopeSet for ReadTasks {
    const REQUIRED: &'static [&'static str] = &[
        "task:read",
        "object_configuration:read",
        "record_permission:read",
        "user_management:read",
    ];
}

pub(super) struct WriteTasks;
impl ScopeSet for WriteTasks {
    const REQUIRED: &'static [&'static str] = &[
        "task:read-write",
        "object_configuration:read",
        "record_permission:read",
        "user_management:read",
    ];
}

pub(super) struct DeleteTasks;
impl ScopeSet for DeleteTasks {
    const REQUIRED: &'static [&'static str] = &["task:read-write"];
}

/// Attio's documented default page size for tasks.
const DEFAULT_LIMIT: usize = 500;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/tasks", get(list).post(create))
        .route(
            "/v2/tasks/{task_id}",
            get(show).patch(update).delete(remove),
        )
}

async fn list(
    auth: Authorized<ReadTasks>,
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let store = auth.store(&sandbox);
    let query = ListQuery::parse(&store, &params)?;
    let tasks = store.list_tasks(&query.filter, query.sort, query.offset, query.limit);
    let data: Vec<Value> = tasks.iter().map(|t| task_json(&store, t)).collect();
    Ok(Json(json!({ "data": data })))
}

async fn show(
    auth: Authorized<ReadTasks>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let task = find(&store, path)?;
    Ok(Json(json!({ "data": task_json(&store, task) })))
}

async fn create(
    auth: Authorized<WriteTasks>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut store = auth.store(&sandbox);
    let new = parse_create(&store, body)?;
    let task = store.create_task(new, auth.actor(), now());
    Ok(Json(json!({ "data": task_json(&store, &task) })))
}

async fn update(
    auth: Authorized<WriteTasks>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut store = auth.store(&sandbox);
    let id = find(&store, path)?.id;
    let patch = parse_patch(&store, body)?;
    let task = store
        .update_task(id, patch, auth.actor(), now())
        .ok_or_else(|| not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": task_json(&store, &task) })))
}

async fn remove(
    auth: Authorized<DeleteTasks>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut store = auth.store(&sandbox);
    let id = find(&store, path)?.id;
    store.delete_task(id, auth.actor());
    Ok(Json(json!({})))
}

fn find(
    store: &WorkspaceStore,
    path: Result<Path<String>, PathRejection>,
) -> Result<&Task, ApiError> {
    let id = path_uuid(path).map_err(|raw| not_found(&raw))?;
    store.task(id).ok_or_else(|| not_found(&id.to_string()))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Could not find Task with ID \"{id}\"."))
}

/// The Task object of attio-api.md 3.2, plus `completed_at`.
pub(super) fn task_json(store: &WorkspaceStore, task: &Task) -> Value {
    json!({
        "id": { "workspace_id": store.workspace.id, "task_id": task.id },
        "content_plaintext": task.content,
        "deadline_at": task.deadline_at.map(format),
        "is_completed": task.is_completed,
        "completed_at": task.completed_at.map(format),
        "linked_records": task.linked_records.iter().map(|l| json!({
            "target_object_id": store.object_slug(l.object),
            "target_record_id": l.record_id,
        })).collect::<Vec<_>>(),
        "assignees": task.assignees.iter().map(|id| json!({
            "referenced_actor_type": "workspace-member",
            "referenced_actor_id": id,
        })).collect::<Vec<_>>(),
        "created_by_actor": task.created_by.event_json(),
        "created_at": format(task.created_at),
    })
}

struct ListQuery {
    filter: TaskFilter,
    sort: TaskSort,
    offset: usize,
    limit: usize,
}

impl ListQuery {
    fn parse(store: &WorkspaceStore, params: &[(String, String)]) -> Result<ListQuery, ApiError> {
        let param = |name| single(params, name).map_err(ApiError::validation);
        let number = |name, min: usize, default: usize| -> Result<usize, ApiError> {
            match param(name)? {
                None => Ok(default),
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= min)
                    .ok_or_else(|| {
                        ApiError::validation(format!(
                            "{name} must be an integer of at least {min}, got \"{v}\"."
                        ))
                    }),
            }
        };
        let sort = match param("sort")? {
            None | Some("created_at:asc") => TaskSort::CreatedAsc,
            Some("created_at:desc") => TaskSort::CreatedDesc,
            Some("completed_at:asc") => TaskSort::CompletedAsc,
            Some("completed_at:desc") => TaskSort::CompletedDesc,
            Some(other) => {
                return Err(ApiError::validation(format!(
                    "sort must be one of created_at:asc, created_at:desc, completed_at:asc, completed_at:desc; got \"{other}\"."
                )))
            }
        };
        let is_completed = match param("is_completed")? {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ApiError::validation(format!(
                    "is_completed must be true or false, got \"{other}\"."
                )))
            }
        };
        let assignee = match param("assignee")? {
            None => AssigneeFilter::Any,
            Some("" | "null") => AssigneeFilter::Unassigned,
            Some(value) => match Uuid::parse_str(value) {
                Ok(id) => AssigneeFilter::Member(id),
                Err(_) => store
                    .member_by_email(value)
                    .map_or(AssigneeFilter::Nobody, |m| AssigneeFilter::Member(m.id)),
            },
        };
        let linked_record = match (param("linked_object")?, param("linked_record_id")?) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ApiError::validation(
                    "linked_object requires linked_record_id.",
                ))
            }
            (None, Some(_)) => {
                return Err(ApiError::validation(
                    "linked_record_id requires linked_object.",
                ))
            }
            (Some(object_key), Some(record)) => {
                let kind = object(store, object_key)?;
                let record_id = Uuid::parse_str(record).map_err(|_| {
                    ApiError::validation(format!(
                        "linked_record_id must be a UUID, got \"{record}\"."
                    ))
                })?;
                Some(LinkedRecord {
                    object: kind,
                    record_id,
                })
            }
        };
        Ok(ListQuery {
            filter: TaskFilter {
                linked_record,
                assignee,
                is_completed,
            },
            sort,
            offset: number("offset", 0, 0)?,
            limit: number("limit", 1, DEFAULT_LIMIT)?,
        })
    }
}
