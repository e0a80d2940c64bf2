//! Tasks: listing (envelope, paging, filters, sorts), fetching, creating, updating, deleting.

mod create;
mod list;
mod update;

use serde_json::Value;

use crate::TestSandbox;

/// Every task, in the default order.
pub async fn all_tasks(t: &TestSandbox, key: &str) -> Vec<Value> {
    let (status, body) = t.get("/v2/tasks", key).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["data"].as_array().expect("data array").clone()
}

pub fn task_id(task: &Value) -> &str {
    task["id"]["task_id"].as_str().expect("task id")
}

pub fn ids(tasks: &[Value]) -> Vec<&str> {
    tasks.iter().map(task_id).collect()
}
