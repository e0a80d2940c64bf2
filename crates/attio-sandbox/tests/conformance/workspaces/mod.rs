//! Many workspaces: the consent page's workspace choice, tokens that see only their own workspace,
//! ids of another workspace that answer as unknown ids, webhooks and rate limits per workspace,
//! and the workspace controls.

mod controls;
mod create;
mod foreign;
mod isolation;
mod limits;

use std::collections::HashSet;

use attio_sandbox::DEFAULT_REDIRECT_URI;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::receiver::Hook;
use crate::{location, query_value, request_id, spawn, TestSandbox};

/// A sandbox whose default app grants every scope, so consent-flow tokens reach every route.
pub async fn spawn_all_scopes() -> TestSandbox {
    let t = spawn().await;
    let all = attio_sandbox::ALL_SCOPES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    t.sandbox().set_app_scopes("sandbox-client", all);
    t
}

/// The second demo workspace ("Globex").
pub fn globex(t: &TestSandbox) -> Uuid {
    t.sandbox().workspace_ids()[1]
}

/// The consent page for the default app in `workspace` (the query's `workspace_id`).
pub async fn consent_in(t: &TestSandbox, workspace: Uuid) -> String {
    let workspace = workspace.to_string();
    t.consent_page(&[
        ("client_id", "sandbox-client"),
        ("response_type", "code"),
        ("redirect_uri", DEFAULT_REDIRECT_URI),
        ("state", "st"),
        ("workspace_id", &workspace),
    ])
    .await
}

/// Runs the consent flow in `workspace` as `member` and exchanges the code for a token.
pub async fn token_in(t: &TestSandbox, workspace: Uuid, member: Uuid) -> String {
    let page = consent_in(t, workspace).await;
    let (request_id, workspace, member) =
        (request_id(&page), workspace.to_string(), member.to_string());
    let response = t
        .answer(&[
            ("request_id", &request_id),
            ("workspace_id", &workspace),
            ("decision", "approve"),
            ("member_id", &member),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let url = url::Url::parse(location(&response)).expect("absolute redirect");
    let code = query_value(&url, "code").expect("a code");
    let (status, body) = t.exchange_code(&code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("a token").to_owned()
}

/// A token of the admin of `workspace`, through the consent flow.
pub async fn admin_token(t: &TestSandbox, workspace: Uuid) -> String {
    let admin = t
        .sandbox()
        .admin_member_id_in(workspace)
        .expect("a known workspace");
    token_in(t, workspace, admin).await
}

/// The `id.<field>` of every item of a `{"data": [...]}` answer.
pub fn ids(answer: &Value, field: &str) -> HashSet<String> {
    answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a data array: {answer}"))
        .iter()
        .map(|item| {
            item["id"][field]
                .as_str()
                .unwrap_or_else(|| panic!("id.{field} in {item}"))
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_consent_page_offers_every_workspace_and_the_chosen_ones_members() {
    let t = spawn().await;
    let (acme, globex) = (t.sandbox().workspace_id(), globex(&t));
    let default = t
        .consent_page(&[
            ("client_id", "sandbox-client"),
            ("response_type", "code"),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("state", "st"),
        ])
        .await;
    for expected in [
        "wants to access <strong>Acme Demo</strong>".to_owned(),
        "<form method=\"get\" action=\"/authorize\"".to_owned(),
        format!("<option value=\"{acme}\" selected>Acme Demo</option>"),
        format!("<option value=\"{globex}\">Globex</option>"),
        format!("name=\"workspace_id\" value=\"{acme}\""),
        "name=\"state\" value=\"st\"".to_owned(),
        "Alice Moreau".to_owned(),
    ] {
        assert!(
            default.contains(&expected),
            "the default page lacks {expected}"
        );
    }
    assert!(
        !default.contains("Hank Scorpio"),
        "no Globex member by default"
    );

    let page = consent_in(&t, globex).await;
    for expected in [
        "wants to access <strong>Globex</strong>".to_owned(),
        format!("<option value=\"{globex}\" selected>Globex</option>"),
        format!("name=\"workspace_id\" value=\"{globex}\""),
        "Hank Scorpio".to_owned(),
        "Lena Fischer".to_owned(),
    ] {
        assert!(page.contains(&expected), "Globex's page lacks {expected}");
    }
    assert!(
        !page.contains("Alice Moreau"),
        "no Acme member on Globex's page"
    );
    assert!(!page.contains("Rosa Delgado"), "no suspended member");
}

#[tokio::test]
async fn the_consent_page_refuses_an_unknown_workspace_or_a_member_of_another() {
    let t = spawn().await;
    let (acme, globex) = (t.sandbox().workspace_id(), globex(&t));
    for workspace_id in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let response = t
            .http
            .get(t.url("/authorize"))
            .query(&[
                ("client_id", "sandbox-client"),
                ("response_type", "code"),
                ("redirect_uri", DEFAULT_REDIRECT_URI),
                ("workspace_id", &workspace_id),
            ])
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{workspace_id}");
        assert!(response
            .text()
            .await
            .expect("body")
            .contains("Unknown workspace"));
    }
    let acme_admin = t.sandbox().admin_member_id().to_string();
    let globex_admin = t
        .sandbox()
        .admin_member_id_in(globex)
        .expect("Globex")
        .to_string();
    let cases = [
        (
            globex.to_string(),
            acme_admin.clone(),
            "an Acme member in Globex",
        ),
        (
            acme.to_string(),
            globex_admin.clone(),
            "a Globex member in Acme",
        ),
        (
            Uuid::new_v4().to_string(),
            acme_admin,
            "an unknown workspace",
        ),
    ];
    for (workspace, member, case) in cases {
        let page = consent_in(&t, acme).await;
        let request_id = request_id(&page);
        let response = t
            .answer(&[
                ("request_id", &request_id),
                ("workspace_id", &workspace),
                ("decision", "approve"),
                ("member_id", &member),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
    }
}

#[tokio::test]
async fn an_answer_without_workspace_id_signs_in_to_the_workspace_the_page_showed() {
    let t = spawn().await;
    let globex = globex(&t);
    let member = t.sandbox().member_ids_in(globex)[2].to_string();
    let page = consent_in(&t, globex).await;
    let request_id = request_id(&page);
    let response = t
        .answer(&[
            ("request_id", &request_id),
            ("decision", "approve"),
            ("member_id", &member),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let url = url::Url::parse(location(&response)).expect("absolute redirect");
    let (_, token) = t
        .exchange_code(&query_value(&url, "code").expect("a code"))
        .await;
    let token = token["access_token"].as_str().expect("a token");
    let (_, me) = t.get("/v2/self", token).await;
    assert_eq!(me["workspace_id"], globex.to_string());
    assert_eq!(me["authorized_by_workspace_member_id"], member);
}

#[tokio::test]
async fn tokens_from_the_consent_flow_see_only_their_own_workspace() {
    let t = spawn_all_scopes().await;
    let sandbox = t.sandbox();
    let workspaces = [sandbox.workspace_id(), globex(&t)];
    let mut seen: Vec<HashSet<String>> = Vec::new();
    for (workspace, (name, slug, tasks, people)) in workspaces.into_iter().zip([
        ("Acme Demo", "acme-demo", 48, 12),
        ("Globex", "globex", 12, 6),
    ]) {
        let member = sandbox.member_ids_in(workspace)[1];
        let token = token_in(&t, workspace, member).await;
        let (_, me) = t.get("/v2/self", &token).await;
        assert_eq!(me["active"], true);
        assert_eq!(me["workspace_id"], workspace.to_string());
        assert_eq!(me["workspace_name"], name);
        assert_eq!(me["workspace_slug"], slug);
        assert_eq!(me["authorized_by_workspace_member_id"], member.to_string());

        let mut all = HashSet::new();
        let (_, answer) = t.get("/v2/tasks", &token).await;
        let task_ids = ids(&answer, "task_id");
        assert_eq!(task_ids.len(), tasks, "{name}'s tasks");
        let expected: HashSet<String> = sandbox
            .task_ids_in(workspace)
            .iter()
            .map(Uuid::to_string)
            .collect();
        assert_eq!(task_ids, expected, "{name}'s tasks are exactly its own");
        let (_, members) = t.get("/v2/workspace_members", &token).await;
        let expected: HashSet<String> = sandbox
            .member_ids_in(workspace)
            .iter()
            .map(Uuid::to_string)
            .collect();
        assert_eq!(
            ids(&members, "workspace_member_id"),
            expected,
            "{name}'s members"
        );
        let (_, records) = t
            .call(
                Method::POST,
                "/v2/objects/people/records/query",
                &token,
                Some(&json!({"limit": 100})),
            )
            .await;
        assert_eq!(ids(&records, "record_id").len(), people, "{name}'s people");
        let (_, notes) = t.get("/v2/notes", &token).await;
        let (_, lists) = t.get("/v2/lists", &token).await;
        let (_, meetings) = t.get("/v2/meetings", &token).await;
        let (_, objects) = t.get("/v2/objects/people/attributes", &token).await;
        for (answer, field) in [
            (&answer, "task_id"),
            (&members, "workspace_member_id"),
            (&records, "record_id"),
            (&notes, "note_id"),
            (&lists, "list_id"),
            (&meetings, "meeting_id"),
            (&objects, "attribute_id"),
        ] {
            assert_eq!(
                ids(answer, "workspace_id"),
                HashSet::from([workspace.to_string()]),
                "every {field} of {name} names its workspace"
            );
            all.extend(ids(answer, field));
        }
        seen.push(all);
    }
    assert!(
        seen[0].is_disjoint(&seen[1]),
        "the two workspaces share no id: {:?}",
        seen[0].intersection(&seen[1]).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn webhooks_are_listed_and_delivered_only_in_their_own_workspace() {
    let t = spawn().await;
    let (acme, globex) = (t.sandbox().workspace_id(), globex(&t));
    // One receiver per workspace; the Acme one registered through the usual all-scope key.
    let a = Hook::new(&t, &["task.created"]).await;
    let b_key = t.sandbox().mint_api_key_in(globex, None).expect("Globex");
    let b_receiver = crate::receiver::Receiver::start().await;
    let body = json!({"data": {"target_url": b_receiver.url,
        "subscriptions": [{"event_type": "task.created", "filter": null}]}});
    let (status, created) = t
        .call(Method::POST, "/v2/webhooks", &b_key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let b_secret = created["data"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let b_id = created["data"]["id"]["webhook_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(created["data"]["id"]["workspace_id"], globex.to_string());

    let (_, listed) = t.get("/v2/webhooks", &b_key).await;
    assert_eq!(ids(&listed, "webhook_id"), HashSet::from([b_id.clone()]));
    let (_, listed) = t.get("/v2/webhooks", &a.key).await;
    assert_eq!(ids(&listed, "webhook_id"), HashSet::from([a.id.clone()]));
    assert_eq!(t.sandbox().webhook_ids_in(globex).len(), 1);

    let globex_task = t
        .sandbox()
        .create_task_in(globex, "Globex only")
        .expect("Globex");
    let acme_task = t.sandbox().create_task_in(acme, "Acme only").expect("Acme");
    let events = a.exactly(&t, 1).await;
    assert_eq!(events[0]["id"]["task_id"], acme_task.to_string());
    assert_eq!(events[0]["id"]["workspace_id"], acme.to_string());
    let received = b_receiver.wait_for(1).await;
    assert_eq!(
        received.len(),
        1,
        "Globex's webhook got only Globex's event"
    );
    let delivery = &received[0];
    assert_eq!(delivery.event()["id"]["task_id"], globex_task.to_string());
    assert_eq!(delivery.event()["id"]["workspace_id"], globex.to_string());
    assert_eq!(delivery.json()["webhook_id"], b_id.as_str());
    let signature = delivery.header("attio-signature");
    assert_eq!(
        signature,
        crate::receiver::signature(&b_secret, &delivery.body)
    );
    assert_ne!(
        signature,
        crate::receiver::signature(&a.secret, &delivery.body),
        "not signed with Acme's secret"
    );
}
