//! A meeting's call recordings as Attio's document describes them: listed by cursor, deleted
//! with a 204, and each with a transcript paged by cursor.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::lookup::person;
use crate::meetings::meeting_body;
use crate::{assert_flat_error, TestSandbox};

/// The first seeded meeting's id.
async fn first_meeting(t: &TestSandbox, key: &str) -> String {
    let (_, meetings) = t.get("/v2/meetings", key).await;
    meetings["data"][0]["id"]["meeting_id"]
        .as_str()
        .expect("a meeting")
        .to_owned()
}

async fn record(t: &TestSandbox, key: &str, meeting: &str) -> String {
    let body = json!({"data": {"video_url": "https://media.example.com/call.mp4"}});
    let (status, created) = t
        .call(
            Method::POST,
            &format!("/v2/meetings/{meeting}/call_recordings"),
            key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["data"]["id"]["call_recording_id"]
        .as_str()
        .expect("a recording id")
        .to_owned()
}

fn recording_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["id"]["call_recording_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn recordings_are_listed_by_cursor_and_deleted_with_a_204() {
    let t = crate::spawn().await;
    let key = t.key();
    let meeting = first_meeting(&t, &key).await;
    let base = format!("/v2/meetings/{meeting}/call_recordings");
    let (status, empty) = t.get(&base, &key).await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(
        empty,
        json!({"data": [], "pagination": {"next_cursor": null}})
    );
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(record(&t, &key, &meeting).await);
    }
    let (_, all) = t.get(&base, &key).await;
    assert_eq!(recording_ids(&all), made, "oldest first");
    assert_eq!(all["data"][0]["status"], "completed");
    let (_, first) = t.get(&format!("{base}?limit=2"), &key).await;
    assert_eq!(recording_ids(&first), made[..2]);
    let cursor = first["pagination"]["next_cursor"]
        .as_str()
        .expect("a next page");
    let (_, rest) = t
        .get(&format!("{base}?limit=2&cursor={cursor}"), &key)
        .await;
    assert_eq!(recording_ids(&rest), made[2..]);
    assert_eq!(rest["pagination"]["next_cursor"], Value::Null);

    let one = format!("{base}/{}", made[1]);
    let response = t
        .http
        .delete(t.url(&one))
        .bearer_auth(&key)
        .send()
        .await
        .expect("delete answers");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.text().await.unwrap(), "", "a 204 has no body");
    let (status, gone) = t.get(&one, &key).await;
    assert_flat_error(status, &gone, (404, "invalid_request_error", "not_found"));
    let (status, again) = t.call(Method::DELETE, &one, &key, None).await;
    assert_flat_error(status, &again, (404, "invalid_request_error", "not_found"));
    let (_, left) = t.get(&base, &key).await;
    assert_eq!(recording_ids(&left), [made[0].clone(), made[2].clone()]);
    let (status, other) = t
        .call(Method::DELETE, &format!("{base}/{}", made[0]), &key, None)
        .await;
    assert_eq!((status, other), (StatusCode::NO_CONTENT, Value::Null));

    let nowhere = uuid::Uuid::new_v4();
    let (status, body) = t
        .get(&format!("/v2/meetings/{nowhere}/call_recordings"), &key)
        .await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    for bad in ["?limit=0", "?limit=201", "?cursor=later"] {
        let (status, body) = t.get(&format!("{base}{bad}"), &key).await;
        assert_flat_error(
            status,
            &body,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let plain_http = json!({"data": {"video_url": "http://media.example.com/call.mp4"}});
    let (status, body) = t.call(Method::POST, &base, &key, Some(&plain_http)).await;
    assert_flat_error(
        status,
        &body,
        (400, "invalid_request_error", "validation_type"),
    );

    let scoped = |scopes: &[&str]| {
        t.sandbox()
            .mint_api_key(Some(scopes.iter().map(|s| (*s).to_owned()).collect()))
    };
    let (status, _) = t.get(&base, &scoped(&["call_recording:read"])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "meeting:read is needed too");
    let readers = scoped(&["call_recording:read", "meeting:read"]);
    let (status, listed) = t.get(&base, &readers).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("{base}/{}", made[2]),
            &readers,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "deleting needs read-write");
}

/// Every page of a transcript, following `next_cursor`.
async fn transcript_pages(t: &TestSandbox, key: &str, path: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next = path.to_owned();
    loop {
        let (status, page) = t.get(&next, key).await;
        assert_eq!(status, StatusCode::OK, "{next}: {page}");
        let cursor = page["pagination"]["next_cursor"].clone();
        pages.push(page);
        match cursor.as_str() {
            Some(cursor) => next = format!("{path}?cursor={cursor}"),
            None => break,
        }
        assert!(pages.len() < 20, "the pages end");
    }
    pages
}

#[tokio::test]
async fn a_recording_has_a_transcript_spoken_by_the_meetings_people_and_paged_by_cursor() {
    let t = crate::spawn().await;
    let key = t.key();
    let (_, email, name) = person(&t, 2).await;
    let participants = json!([
        {"email_address": email, "is_organizer": true, "status": "accepted"},
        {"email_address": "guest.speaker@example.test", "is_organizer": false, "status": "accepted"},
    ]);
    let (status, meeting) = t
        .call(
            Method::POST,
            "/v2/meetings",
            &key,
            Some(&meeting_body(json!("transcribed"), participants)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{meeting}");
    let meeting = meeting["data"]["id"]["meeting_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let recording = record(&t, &key, &meeting).await;
    let path = format!("/v2/meetings/{meeting}/call_recordings/{recording}/transcript");
    let pages = transcript_pages(&t, &key, &path).await;
    assert!(pages.len() >= 2, "more than one page: {}", pages.len());
    let first = &pages[0]["data"];
    assert_eq!(
        first["id"],
        json!({"workspace_id": t.sandbox().workspace_id(), "meeting_id": meeting,
               "call_recording_id": recording})
    );
    assert!(first["web_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/calls/{meeting}/{recording}/transcript")));
    let segments: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["data"]["transcript"].as_array().unwrap().clone())
        .collect();
    assert_eq!(pages[0]["data"]["transcript"].as_array().unwrap().len(), 50);
    for pair in segments.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(a["start_time"].as_f64() < a["end_time"].as_f64(), "{a}");
        assert!(
            a["end_time"].as_f64() <= b["start_time"].as_f64(),
            "{a} {b}"
        );
    }
    let speakers: Vec<&str> = segments
        .iter()
        .map(|s| s["speaker"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(speakers[0], name, "the person's name");
    assert!(speakers.contains(&"guest.speaker"), "an unnamed address");
    // The raw transcript says the same words, on every page.
    let raw = first["raw_transcript"].as_str().unwrap();
    assert!(pages.iter().all(|p| p["data"]["raw_transcript"] == raw));
    let words: Vec<&str> = raw
        .lines()
        .flat_map(|line| {
            let (_, said) = line.split_once(": ").expect("[mm:ss] Name: words");
            said.split(' ')
        })
        .collect();
    let spoken: Vec<&str> = segments
        .iter()
        .map(|s| s["speech"].as_str().unwrap())
        .collect();
    assert_eq!(words, spoken);
    assert!(raw.starts_with(&format!(
        "[00:00] {name}: Hello, everyone, and welcome to Renewal call."
    )));
    assert_eq!(
        transcript_pages(&t, &key, &path).await,
        pages,
        "deterministic"
    );

    // A seeded meeting's recording is spoken by the workspace's members.
    let seeded = first_meeting(&t, &key).await;
    let other = record(&t, &key, &seeded).await;
    let (status, page) = t
        .get(
            &format!("/v2/meetings/{seeded}/call_recordings/{other}/transcript"),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["data"]["transcript"][0]["speaker"]["name"],
        "Alice Moreau"
    );

    let (status, body) = t.get(&format!("{path}?cursor=onwards"), &key).await;
    assert_flat_error(
        status,
        &body,
        (400, "invalid_request_error", "validation_type"),
    );
    let unknown = format!(
        "/v2/meetings/{meeting}/call_recordings/{}/transcript",
        uuid::Uuid::new_v4()
    );
    let (status, body) = t.get(&unknown, &key).await;
    assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    let meetings_only = t
        .sandbox()
        .mint_api_key(Some(vec!["meeting:read".to_owned()]));
    let (status, _) = t.get(&path, &meetings_only).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "call_recording:read is needed"
    );
}
