//! `workspace-member.created` (a member is added) and `call-recording.created` (a recording
//! finishes).

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{control, member, system, token_actor, workspace};
use crate::receiver::Hook;
use crate::spawn;

#[tokio::test]
async fn adding_a_member_emits_workspace_member_created() {
    let t = spawn().await;
    let key = t.key();
    let hook = Hook::new(&t, &["workspace-member.created"]).await;
    let body =
        json!({"first_name": "Jo", "last_name": "Park", "email_address": "jo.park@acme-demo.test"});
    let (status, added) = control(&t, Method::POST, "/_sandbox/members", Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["data"]["access_level"], "member");
    let first = added["data"]["id"]["workspace_member_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, again) = control(&t, Method::POST, "/_sandbox/members", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    let second = t
        .sandbox()
        .add_member("Lee", "Chen", "lee.chen@acme-demo.test")
        .expect("added");
    assert!(t
        .sandbox()
        .add_member("", "Chen", "x@acme-demo.test")
        .is_err());
    let (_, members) = t.get(&format!("/v2/workspace_members/{first}"), &key).await;
    assert_eq!(members["data"]["email_address"], "jo.park@acme-demo.test");

    let event = |id: String, actor| {
        json!({"event_type": "workspace-member.created",
               "id": {"workspace_id": workspace(&t), "workspace_member_id": id}, "actor": actor})
    };
    assert_eq!(
        hook.exactly(&t, 2).await,
        [
            event(first, system()),
            event(second.to_string(), member(t.sandbox().admin_member_id())),
        ]
    );
}

#[tokio::test]
async fn a_finished_call_recording_emits_call_recording_created() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let (_, meetings) = t.get("/v2/meetings", &key).await;
    let meeting = meetings["data"][1]["id"]["meeting_id"]
        .as_str()
        .expect("a meeting")
        .to_owned();
    let hook = Hook::new(&t, &["call-recording.created"]).await;
    let path = format!("/v2/meetings/{meeting}/call_recordings");
    let body = json!({"data": {"video_url": "https://media.example.com/call.mp4"}});
    let (status, created) = t.call(Method::POST, &path, &key, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["status"], "completed");
    let recording = created["data"]["id"]["call_recording_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, read) = t.get(&format!("{path}/{recording}"), &key).await;
    assert_eq!(
        (status, read["data"]["id"].clone()),
        (StatusCode::OK, created["data"]["id"].clone())
    );
    let (status, from_control) = control(
        &t,
        Method::POST,
        "/_sandbox/call-recordings",
        Some(json!({"meeting_id": meeting})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{from_control}");
    let second = from_control["data"]["id"]["call_recording_id"].clone();
    let bad = json!({"data": {"video_url": "not a url"}});
    assert_eq!(
        t.call(Method::POST, &path, &key, Some(&bad)).await.0,
        StatusCode::BAD_REQUEST
    );

    let id = |recording| json!({"workspace_id": workspace(&t), "meeting_id": meeting, "call_recording_id": recording});
    assert_eq!(
        hook.exactly(&t, 2).await,
        [
            json!({"event_type": "call-recording.created", "id": id(json!(recording)), "actor": actor}),
            json!({"event_type": "call-recording.created", "id": id(second), "actor": system()}),
        ]
    );
}
