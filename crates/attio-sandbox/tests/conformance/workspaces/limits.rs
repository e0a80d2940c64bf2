//! Attio's rate limits count per workspace: one workspace spending its budget leaves another's
//! intact.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::globex;
use crate::events::control;
use crate::spawn;

#[tokio::test]
async fn exhausting_one_workspaces_write_budget_leaves_anothers_intact() {
    let t = spawn().await;
    let acme = t.key();
    let other = t
        .sandbox()
        .mint_api_key_in(globex(&t), None)
        .expect("Globex");
    let (status, _) = control(
        &t,
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A write that changes nothing (an unknown task) still counts against the budget.
    let path = format!("/v2/tasks/{}", uuid::Uuid::new_v4());
    let write = |key: String| {
        let request = t.http.delete(t.url(&path)).bearer_auth(key);
        async move { request.send().await.expect("answers").status() }
    };
    // Seen within one second window: Acme refused, then Globex served, then Acme refused again.
    // A window boundary between them spoils a round; a few rounds always contain a clean one.
    let mut proven = false;
    for _round in 0..5 {
        let mut refused = false;
        for _ in 0..51 {
            if write(acme.clone()).await == StatusCode::TOO_MANY_REQUESTS {
                refused = true;
                break;
            }
        }
        assert!(refused, "Acme's 26th write within a second is refused");
        let globex_status = write(other.clone()).await;
        if write(acme.clone()).await != StatusCode::TOO_MANY_REQUESTS {
            continue;
        }
        assert_eq!(
            globex_status,
            StatusCode::NOT_FOUND,
            "Globex's write is served while Acme's budget is spent"
        );
        proven = true;
        break;
    }
    assert!(proven, "a round fitted in one second");
}
