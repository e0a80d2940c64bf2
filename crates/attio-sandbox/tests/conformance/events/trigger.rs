//! Every one of the 27 event types can be produced by a real change and lands, signed, exactly
//! once (`record.merged` twice, as Attio sends it).

use attio_sandbox::EVENT_TYPES;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{control, member};
use crate::receiver::{Hook, DEADLINE};
use crate::{assert_flat_error, spawn};

#[tokio::test]
async fn every_event_type_is_triggered_by_a_real_change_and_lands_exactly() {
    let t = spawn().await;
    let hook = Hook::new(&t, &EVENT_TYPES).await;
    let admin = member(t.sandbox().admin_member_id());
    let mut total = 0;
    for event_type in EVENT_TYPES {
        t.sandbox()
            .trigger(event_type)
            .unwrap_or_else(|e| panic!("{event_type}: {e}"));
        let expected = if event_type == "record.merged" { 2 } else { 1 };
        total += expected;
        let events = hook.events(total).await;
        assert!(t.sandbox().wait_for_idle(DEADLINE).await);
        assert_eq!(
            hook.receiver.received().len(),
            total,
            "{event_type} emitted only itself"
        );
        for event in &events[total - expected..] {
            assert_eq!(event["event_type"], event_type);
            assert_eq!(event["actor"], admin, "{event_type}");
            assert!(event["id"]["workspace_id"].is_string(), "{event}");
        }
    }
}

#[tokio::test]
async fn the_trigger_control_acts_as_system_and_rejects_unknown_types() {
    let t = spawn().await;
    let hook = Hook::new(&t, &["list.created"]).await;
    let (status, _) = control(
        &t,
        Method::POST,
        "/_sandbox/trigger",
        Some(json!({"event_type": "list.created"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hook.exactly(&t, 1).await[0]["actor"], super::system());
    for body in [
        json!({"event_type": "task.completed"}),
        json!({}),
        json!({"event_type": "list.created", "x": 1}),
    ] {
        let (status, error) = control(&t, Method::POST, "/_sandbox/trigger", Some(body)).await;
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    assert!(t.sandbox().trigger("nope").is_err());
}
