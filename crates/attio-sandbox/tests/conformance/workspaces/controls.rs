//! The sandbox controls and the console take a `workspace_id` (body or query), defaulting to the
//! first workspace; API keys belong to the workspace they are minted in.

use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::{globex, ids};
use crate::events::control;
use crate::receiver::Receiver;
use crate::spawn;

#[tokio::test]
async fn api_keys_belong_to_the_workspace_they_are_minted_in() {
    let t = spawn().await;
    let globex = globex(&t);
    let cases = [
        (
            json!({}),
            t.sandbox().workspace_id(),
            "no workspace_id: the first",
        ),
        (json!({"workspace_id": globex}), globex, "Globex"),
        (
            json!({"workspace_id": globex, "scopes": ["task:read"]}),
            globex,
            "Globex, one scope",
        ),
    ];
    for (body, expected, case) in cases {
        let (status, answer) = control(&t, Method::POST, "/_sandbox/api-keys", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{case}: {answer}");
        assert_eq!(answer["workspace_id"], expected.to_string(), "{case}");
        let key = answer["token"].as_str().expect("a key");
        let (_, me) = t.get("/v2/self", key).await;
        assert_eq!(me["workspace_id"], expected.to_string(), "{case}");
        assert_eq!(
            me["authorized_by_workspace_member_id"],
            t.sandbox()
                .admin_member_id_in(expected)
                .expect("known")
                .to_string(),
            "{case}: the workspace's admin"
        );
    }
    let (status, _) = control(
        &t,
        Method::POST,
        "/_sandbox/api-keys",
        Some(json!({"workspace_id": Uuid::new_v4()})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown workspace");
    let (status, _) = control(
        &t,
        Method::POST,
        "/_sandbox/api-keys",
        Some(json!({"workspace_id": "globex"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not a UUID");
    assert!(t.sandbox().mint_api_key_in(Uuid::new_v4(), None).is_none());
}

#[tokio::test]
async fn controls_act_on_the_workspace_they_name() {
    let t = spawn().await;
    let globex = globex(&t);
    let key = t.sandbox().mint_api_key_in(globex, None).expect("Globex");
    let receiver = Receiver::start().await;
    let body = json!({"data": {"target_url": receiver.url,
        "subscriptions": [{"event_type": "workspace-member.created", "filter": null},
                          {"event_type": "task.created", "filter": null}]}});
    let (status, created) = t
        .call(Method::POST, "/v2/webhooks", &key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let webhook = created["data"]["id"]["webhook_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (status, member) = control(
        &t,
        Method::POST,
        "/_sandbox/members",
        Some(
            json!({"workspace_id": globex, "first_name": "Nia", "last_name": "Obi",
            "email_address": "nia@globex-corp.test"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member["data"]["id"]["workspace_id"], globex.to_string());
    let path = format!("/_sandbox/trigger?workspace_id={globex}");
    let (status, _) = control(
        &t,
        Method::POST,
        &path,
        Some(json!({"event_type": "task.created"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let received = receiver.wait_for(2).await;
    let types: Vec<_> = received
        .iter()
        .map(|r| r.event()["event_type"].clone())
        .collect();
    assert_eq!(types, ["workspace-member.created", "task.created"]);

    let (_, first) = control(&t, Method::GET, "/_sandbox/webhooks", None).await;
    assert!(
        ids(&first, "webhook_id").is_empty(),
        "the first workspace has none"
    );
    let (_, listed) = control(
        &t,
        Method::GET,
        &format!("/_sandbox/webhooks?workspace_id={globex}"),
        None,
    )
    .await;
    assert_eq!(
        ids(&listed, "webhook_id"),
        std::collections::HashSet::from([webhook.clone()])
    );
    assert!(t.sandbox().wait_for_idle(crate::receiver::DEADLINE).await);
    let deliveries = format!("/_sandbox/webhooks/{webhook}/deliveries");
    let (status, _) = control(&t, Method::GET, &deliveries, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not a webhook of the first workspace"
    );
    let (status, log) = control(
        &t,
        Method::GET,
        &format!("{deliveries}?workspace_id={globex}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["data"].as_array().map(Vec::len), Some(2));

    let unknown = Uuid::new_v4();
    for (method, path, body) in [
        (
            Method::POST,
            "/_sandbox/trigger".to_owned(),
            json!({"workspace_id": unknown, "event_type": "task.created"}),
        ),
        (
            Method::GET,
            format!("/_sandbox/webhooks?workspace_id={unknown}"),
            json!(null),
        ),
        (
            Method::POST,
            "/_sandbox/members".to_owned(),
            json!({"workspace_id": unknown,
            "first_name": "A", "last_name": "B", "email_address": "a@b.test"}),
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (status, _) = control(&t, method, &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = control(
        &t,
        Method::POST,
        &format!(
            "/_sandbox/trigger?workspace_id={}",
            t.sandbox().workspace_id()
        ),
        Some(json!({"workspace_id": globex, "event_type": "task.created"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "query and body disagree");
}

#[tokio::test]
async fn the_console_shows_and_changes_the_chosen_workspace() {
    let t = spawn().await;
    let globex = globex(&t);
    let page = t
        .http
        .get(t.url(&format!("/?workspace_id={globex}")))
        .send()
        .await
        .expect("the console answers")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("<h1>Globex</h1>"));
    assert!(page.contains("Hank Scorpio") && !page.contains("Alice Moreau"));
    assert!(page.contains(&format!(
        "<option value=\"{globex}\" selected>Globex</option>"
    )));
    assert!(page.contains(&format!("name=\"workspace_id\" value=\"{globex}\"")));
    let before = t.sandbox().task_ids_in(globex).len();
    let response = t
        .http
        .post(t.url("/_sandbox/console/tasks"))
        .form(&[
            ("content", "From the console"),
            ("workspace_id", &globex.to_string()),
        ])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(crate::location(&response).contains(&format!("workspace_id={globex}")));
    assert_eq!(t.sandbox().task_ids_in(globex).len(), before + 1);
    assert_eq!(
        t.sandbox().task_ids_in(t.sandbox().workspace_id()).len(),
        48
    );
    let response = t
        .http
        .get(t.url(&format!("/?workspace_id={}", Uuid::new_v4())))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
