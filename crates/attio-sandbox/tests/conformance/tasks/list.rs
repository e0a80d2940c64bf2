//! `GET /v2/tasks` and `GET /v2/tasks/{id}`: envelope, seed shape, paging, filters and sorts.

use reqwest::StatusCode;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::{all_tasks, ids, task_id};
use crate::{assert_flat_error, assert_timestamp, spawn};

#[tokio::test]
async fn listing_returns_every_seeded_task_oldest_first_in_a_data_envelope() {
    let t = spawn().await;
    let tasks = all_tasks(&t, &t.key()).await;
    assert_eq!(tasks.len(), 48);
    let workspace_id = t.sandbox().workspace_id().to_string();
    for task in &tasks {
        assert_eq!(task.as_object().map(|o| o.len()), Some(9), "{task}");
        assert_eq!(task["id"]["workspace_id"], workspace_id.as_str());
        assert!(uuid::Uuid::parse_str(task_id(task)).is_ok());
        assert!(task["content_plaintext"]
            .as_str()
            .is_some_and(|c| !c.is_empty()));
        let completed = task["is_completed"].as_bool().expect("is_completed");
        if completed {
            assert_timestamp(&task["completed_at"]);
        } else {
            assert_eq!(task["completed_at"], Value::Null, "{task}");
        }
        if !task["deadline_at"].is_null() {
            assert_timestamp(&task["deadline_at"]);
        }
        assert_timestamp(&task["created_at"]);
        for link in task["linked_records"].as_array().expect("linked_records") {
            assert!(
                ["people", "companies"].contains(&link["target_object_id"].as_str().unwrap_or("")),
                "{link}"
            );
            assert!(uuid::Uuid::parse_str(link["target_record_id"].as_str().unwrap_or("")).is_ok());
        }
        for a in task["assignees"].as_array().expect("assignees") {
            assert_eq!(a["referenced_actor_type"], "workspace-member");
            let id = uuid::Uuid::parse_str(a["referenced_actor_id"].as_str().unwrap_or(""))
                .expect("uuid");
            assert!(t.sandbox().member_ids().contains(&id));
        }
        let actor = &task["created_by_actor"];
        match actor["type"].as_str() {
            Some("workspace-member") => assert!(actor["id"].is_string()),
            Some("system") => assert_eq!(actor["id"], Value::Null),
            other => panic!("unexpected seeded actor {other:?}"),
        }
    }
    let created: Vec<&str> = tasks
        .iter()
        .map(|t| t["created_at"].as_str().unwrap_or(""))
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] < w[1]),
        "strictly oldest first"
    );
}

#[tokio::test]
async fn the_seed_has_the_variety_a_demo_needs() {
    let t = spawn().await;
    let tasks = all_tasks(&t, &t.key()).await;
    let now = time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("now");
    let count = |f: &dyn Fn(&Value) -> bool| tasks.iter().filter(|t| f(t)).count();
    assert_eq!(
        count(&|t| t["is_completed"] == true),
        16,
        "a third completed"
    );
    for n in 0..=2 {
        assert!(
            count(&|t| t["assignees"].as_array().map(Vec::len) == Some(n)) > 0,
            "{n} assignees"
        );
    }
    assert!(count(&|t| t["deadline_at"].is_null()) > 0);
    assert!(
        count(&|t| t["deadline_at"].as_str().is_some_and(|d| d < now.as_str())) > 0,
        "past deadlines"
    );
    assert!(
        count(&|t| t["deadline_at"].as_str().is_some_and(|d| d > now.as_str())) > 0,
        "future deadlines"
    );
    for object in ["people", "companies"] {
        let links = |t: &Value| {
            t["linked_records"]
                .as_array()
                .is_some_and(|l| l.iter().any(|r| r["target_object_id"] == object))
        };
        assert!(count(&links) > 0, "links to {object}");
    }
    assert!(count(&|t| t["linked_records"].as_array().is_some_and(Vec::is_empty)) > 0);
}

#[tokio::test]
async fn paging_with_limit_and_offset_returns_every_task_exactly_once() {
    let t = spawn().await;
    let key = t.key();
    let all = all_tasks(&t, &key).await;
    let mut walked: Vec<Value> = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let (status, body) = t
            .get(&format!("/v2/tasks?limit=7&offset={}", walked.len()), &key)
            .await;
        assert_eq!(status, StatusCode::OK);
        let page = body["data"].as_array().expect("page").clone();
        sizes.push(page.len());
        let done = page.len() < 7;
        walked.extend(page);
        if done {
            break;
        }
    }
    assert_eq!(sizes, vec![7, 7, 7, 7, 7, 7, 6]);
    assert_eq!(ids(&walked), ids(&all));
    for offset in [48, 1000] {
        let (_, body) = t.get(&format!("/v2/tasks?offset={offset}"), &key).await;
        assert_eq!(body["data"], Value::Array(vec![]), "offset {offset}");
    }
}

#[tokio::test]
async fn each_filter_keeps_exactly_the_matching_tasks() {
    let t = spawn().await;
    let key = t.key();
    let all = all_tasks(&t, &key).await;
    let busy = all
        .iter()
        .find_map(|t| t["assignees"][1]["referenced_actor_id"].as_str())
        .expect("a task with two assignees")
        .to_owned();
    let (_, member) = t.get(&format!("/v2/workspace_members/{busy}"), &key).await;
    let busy_email = member["data"]["email_address"]
        .as_str()
        .expect("email")
        .to_owned();
    let link_of = |object: &str| -> String {
        all.iter()
            .flat_map(|t| t["linked_records"].as_array().cloned().unwrap_or_default())
            .find(|l| l["target_object_id"] == object)
            .and_then(|l| l["target_record_id"].as_str().map(str::to_owned))
            .expect("a linked record")
    };
    let (person, company) = (link_of("people"), link_of("companies"));
    let assigned_to = |id: &str| {
        let id = id.to_owned();
        move |t: &Value| {
            t["assignees"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["referenced_actor_id"] == id.as_str()))
        }
    };
    let links_to = |object: &str, id: &str| {
        let (object, id) = (object.to_owned(), id.to_owned());
        move |t: &Value| {
            t["linked_records"].as_array().is_some_and(|l| {
                l.iter().any(|r| {
                    r["target_object_id"] == object.as_str() && r["target_record_id"] == id.as_str()
                })
            })
        }
    };
    let unassigned = |t: &Value| t["assignees"].as_array().is_some_and(Vec::is_empty);
    type Check = Box<dyn Fn(&Value) -> bool>;
    let none: fn(&Value) -> bool = |_| false;
    // (query, which tasks it keeps, whether the seed has at least one such task)
    let cases: Vec<(String, Check, bool)> = vec![
        (
            "is_completed=true".into(),
            Box::new(|t: &Value| t["is_completed"] == true),
            true,
        ),
        (
            "is_completed=false".into(),
            Box::new(|t: &Value| t["is_completed"] == false),
            true,
        ),
        (
            format!("assignee={busy}"),
            Box::new(assigned_to(&busy)),
            true,
        ),
        (
            format!("assignee={busy_email}"),
            Box::new(assigned_to(&busy)),
            true,
        ),
        (
            format!("assignee={}", busy_email.to_uppercase()),
            Box::new(assigned_to(&busy)),
            true,
        ),
        ("assignee=null".into(), Box::new(unassigned), true),
        ("assignee=".into(), Box::new(unassigned), true),
        (
            "assignee=nobody@acme-demo.test".into(),
            Box::new(none),
            false,
        ),
        (
            format!("assignee={}", uuid::Uuid::new_v4()),
            Box::new(none),
            false,
        ),
        (
            format!("linked_object=people&linked_record_id={person}"),
            Box::new(links_to("people", &person)),
            true,
        ),
        (
            format!("linked_object=companies&linked_record_id={company}"),
            Box::new(links_to("companies", &company)),
            true,
        ),
        (
            format!("linked_object=companies&linked_record_id={person}"),
            Box::new(none),
            false,
        ),
        (
            "is_completed=false&assignee=null".into(),
            Box::new(move |t: &Value| t["is_completed"] == false && unassigned(t)),
            true,
        ),
    ];
    for (query, keep, selects_some) in cases {
        let (status, body) = t.get(&format!("/v2/tasks?{query}"), &key).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let got = body["data"].as_array().expect("data").clone();
        let expected: Vec<Value> = all.iter().filter(|t| keep(t)).cloned().collect();
        assert_eq!(ids(&got), ids(&expected), "{query}");
        assert_eq!(!got.is_empty(), selects_some, "{query}");
    }
}

#[tokio::test]
async fn sorts_order_by_creation_or_completion_as_documented() {
    let t = spawn().await;
    let key = t.key();
    let all = all_tasks(&t, &key).await;
    let mut completed: Vec<Value> = all
        .iter()
        .filter(|t| t["is_completed"] == true)
        .cloned()
        .collect();
    completed.sort_by(|a, b| a["completed_at"].as_str().cmp(&b["completed_at"].as_str()));
    let open: Vec<Value> = all
        .iter()
        .filter(|t| t["is_completed"] == false)
        .cloned()
        .collect();
    let completed_asc: Vec<Value> = open.iter().chain(completed.iter()).cloned().collect();
    let reversed = |v: &[Value]| v.iter().rev().cloned().collect::<Vec<_>>();
    let cases = [
        ("", all.clone()),
        ("sort=created_at:asc", all.clone()),
        ("sort=created_at:desc", reversed(&all)),
        ("sort=completed_at:asc", completed_asc.clone()),
        ("sort=completed_at:desc", reversed(&completed_asc)),
        (
            "sort=created_at:desc&limit=5&offset=2",
            reversed(&all)[2..7].to_vec(),
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = t.get(&format!("/v2/tasks?{query}"), &key).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        let got = body["data"].as_array().expect("data").clone();
        assert_eq!(ids(&got), ids(&expected), "{query}");
    }
    // completed_at:desc puts completed tasks first, newest completion first.
    let (_, body) = t
        .get("/v2/tasks?sort=completed_at:desc&limit=2", &key)
        .await;
    assert_eq!(body["data"][0]["is_completed"], true);
    assert!(body["data"][0]["completed_at"].as_str() > body["data"][1]["completed_at"].as_str());
}

#[tokio::test]
async fn invalid_list_parameters_are_rejected_with_a_clear_message() {
    let t = spawn().await;
    let key = t.key();
    let some_id = uuid::Uuid::new_v4();
    let cases = [
        ("limit=0", 400, "limit"),
        ("limit=ten", 400, "limit"),
        ("limit=-1", 400, "limit"),
        ("offset=-1", 400, "offset"),
        ("offset=1.5", 400, "offset"),
        ("limit=5&limit=6", 400, "limit"),
        ("sort=created_at", 400, "sort"),
        ("sort=updated_at:asc", 400, "sort"),
        ("is_completed=yes", 400, "is_completed"),
        ("linked_object=people", 400, "linked_record_id"),
        (
            &*format!("linked_record_id={some_id}"),
            400,
            "linked_object",
        ),
        (
            "linked_object=people&linked_record_id=nope",
            400,
            "linked_record_id",
        ),
        (
            &*format!("linked_object=deals&linked_record_id={some_id}"),
            404,
            "Object with slug/ID \"deals\" not found.",
        ),
    ];
    for (query, status, mentions) in cases {
        let (got, body) = t.get(&format!("/v2/tasks?{query}"), &key).await;
        let code = if status == 404 {
            "not_found"
        } else {
            "validation_type"
        };
        assert_flat_error(got, &body, (status, "invalid_request_error", code));
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentions), "{query}: {message}");
    }
}

#[tokio::test]
async fn one_task_is_fetched_by_id_and_unknown_ids_are_404() {
    let t = spawn().await;
    let key = t.key();
    let all = all_tasks(&t, &key).await;
    let (status, body) = t
        .get(&format!("/v2/tasks/{}", task_id(&all[5])), &key)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], all[5]);
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [unknown.as_str(), "not-a-uuid"] {
        let (status, body) = t.get(&format!("/v2/tasks/{id}"), &key).await;
        assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
        assert_eq!(
            body["message"],
            format!("Could not find Task with ID \"{id}\".")
        );
    }
}
