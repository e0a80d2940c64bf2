//! Workspace members: the list, one member, and the 404.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{assert_flat_error, assert_timestamp, spawn};

#[tokio::test]
async fn members_are_listed_in_seeded_order_with_every_field() {
    let t = spawn().await;
    let (status, body) = t.get("/v2/workspace_members", &t.key()).await;
    assert_eq!(status, StatusCode::OK);
    let members = body["data"].as_array().expect("data array");
    let ids: Vec<String> = t
        .sandbox()
        .member_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let listed: Vec<&str> = members
        .iter()
        .map(|m| m["id"]["workspace_member_id"].as_str().expect("member id"))
        .collect();
    assert_eq!(listed, ids);
    assert!(members.len() >= 8);
    let workspace_id = t.sandbox().workspace_id().to_string();
    for m in members {
        assert_eq!(m["id"]["workspace_id"], workspace_id.as_str());
        assert!(
            m["first_name"].as_str().is_some_and(|s| !s.is_empty()),
            "{m}"
        );
        assert!(
            m["last_name"].as_str().is_some_and(|s| !s.is_empty()),
            "{m}"
        );
        assert_eq!(m["avatar_url"], Value::Null);
        assert!(
            m["email_address"]
                .as_str()
                .is_some_and(|e| e.ends_with("@acme-demo.test")),
            "{m}"
        );
        assert_timestamp(&m["created_at"]);
        assert_eq!(m.as_object().map(|o| o.len()), Some(7), "{m}");
    }
    let level = |wanted: &str| {
        members
            .iter()
            .filter(|m| m["access_level"] == wanted)
            .count()
    };
    assert_eq!(level("admin"), 1);
    assert_eq!(level("suspended"), 1);
    assert_eq!(level("member"), members.len() - 2);
    let admin = members
        .iter()
        .find(|m| m["access_level"] == "admin")
        .expect("an admin");
    assert_eq!(
        admin["id"]["workspace_member_id"],
        t.sandbox().admin_member_id().to_string()
    );
}

#[tokio::test]
async fn one_member_is_fetched_by_id_and_unknown_ids_are_404() {
    let t = spawn().await;
    let key = t.key();
    let (_, list) = t.get("/v2/workspace_members", &key).await;
    let second = &list["data"][1];
    let id = second["id"]["workspace_member_id"].as_str().expect("id");
    let (status, body) = t.get(&format!("/v2/workspace_members/{id}"), &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body["data"], second);

    let unknown = uuid::Uuid::new_v4();
    let (status, body) = t
        .get(&format!("/v2/workspace_members/{unknown}"), &key)
        .await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    assert_eq!(
        body["message"],
        format!("Workspace member with ID \"{unknown}\" not found.")
    );

    let (status, body) = t.get("/v2/workspace_members/not-a-uuid", &key).await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    assert_eq!(
        body["message"],
        "Workspace member with ID \"not-a-uuid\" not found."
    );
}
