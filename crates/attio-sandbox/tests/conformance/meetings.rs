//! `GET /v2/meetings` as Attio's document describes it: every field of a meeting, paging by
//! cursor, sorting by start, and the filters.

use reqwest::StatusCode;
use serde_json::{json, Value};

async fn list(t: &crate::TestSandbox, key: &str, query: &str) -> (StatusCode, Value) {
    t.get(&format!("/v2/meetings{query}"), key).await
}

fn titles(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["title"].as_str().expect("a title").to_owned())
        .collect()
}

#[tokio::test]
async fn meetings_have_every_field_and_page_by_cursor_in_start_order() {
    let t = crate::spawn().await;
    let key = t.key();
    let (status, all) = list(&t, &key, "").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["pagination"], json!({"next_cursor": null}));
    let meetings = all["data"].as_array().unwrap();
    assert_eq!(meetings.len(), 2, "the demo's two meetings");
    for meeting in meetings {
        for field in [
            "id",
            "title",
            "description",
            "is_all_day",
            "start",
            "end",
            "participants",
            "linked_records",
            "created_at",
            "created_by_actor",
        ] {
            assert!(meeting.get(field).is_some(), "{field} in {meeting}");
        }
        assert_eq!(meeting["created_by_actor"]["type"], "system");
        crate::assert_timestamp(&meeting["created_at"]);
    }
    let ascending = titles(&all);

    let (_, first) = list(&t, &key, "?limit=1").await;
    assert_eq!(titles(&first), ascending[..1]);
    let cursor = first["pagination"]["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = list(&t, &key, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(titles(&second), ascending[1..]);
    assert_eq!(second["pagination"]["next_cursor"], Value::Null);

    let (_, descending) = list(&t, &key, "?sort=start_desc").await;
    let mut reversed = ascending.clone();
    reversed.reverse();
    assert_eq!(titles(&descending), reversed);

    let second_start = meetings[1]["start"]["datetime"].as_str().unwrap();
    let (_, before) = list(&t, &key, &format!("?starts_before={second_start}")).await;
    assert_eq!(
        titles(&before),
        ascending[..1],
        "starts_before is exclusive"
    );
    let (_, nobody) = list(&t, &key, "?participants=someone%40example.test").await;
    assert_eq!(titles(&nobody), Vec::<String>::new(), "no meeting has them");

    for bad in [
        "?limit=0",
        "?limit=201",
        "?sort=title",
        "?cursor=somewhere",
        "?ends_from=soon",
        "?linked_object=people",
    ] {
        let (status, body) = list(&t, &key, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "validation_type", "{bad}: {body}");
    }
}
