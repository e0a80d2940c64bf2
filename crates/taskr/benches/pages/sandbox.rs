//! The Attio sandbox in the bench process: Taskr's OAuth app registered on it, the demo
//! workspace grown to the wanted number of tasks through the public API, and the later changes
//! whose webhooks fill Taskr's activity feed.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use attio_sandbox::{Sandbox, SpawnedSandbox};
use serde_json::{json, Value};
use time::macros::date;
use uuid::Uuid;

use crate::server::AttioApp;

/// Task texts of the added tasks, by what they link to (task `i` uses list `i % 4`), in the
/// manner of the demo seed.
const UNLINKED: &[&str] = &[
    "Update the pipeline forecast",
    "Clean up duplicate contacts in the CRM",
    "Draft the customer newsletter",
    "Prepare slides for the all-hands meeting",
    "Audit open opportunities older than 90 days",
];
const ABOUT_PERSON: &[&str] = &[
    "Call {p} about the renewal",
    "Follow up with {p} after the demo",
    "Send {p} the onboarding checklist",
    "Ask {p} for feedback on the new dashboard",
];
const ABOUT_COMPANY: &[&str] = &[
    "Send the renewal quote to {c}",
    "Review usage data for {c}",
    "Chase the unpaid invoice from {c}",
    "Update the account plan for {c}",
];
const ABOUT_BOTH: &[&str] = &[
    "Book an on-site visit at {c} with {p}",
    "Agree next steps for {c} with {p}",
    "Send {p} the {c} renewal summary",
];

/// A person or company of the demo workspace that tasks can link to.
struct Record {
    object: &'static str,
    id: Uuid,
    name: String,
}

/// What the added tasks are made of: the demo workspace's records and members.
struct Cast {
    people: Vec<Record>,
    companies: Vec<Record>,
    members: Vec<Uuid>,
}

/// Starts the sandbox with Taskr (at `taskr_base`) registered as an OAuth app, exactly as
/// `AttioMode::EmbeddedSandbox` does in `app.rs`. Webhook retries and the per-target delivery
/// rate are relaxed so that the feed's changes arrive in seconds, not on Attio's schedule.
pub async fn start(taskr_base: &str) -> Result<(SpawnedSandbox, AttioApp)> {
    let client_secret = hex::encode(rand::random::<[u8; 24]>());
    let sandbox = Sandbox::new(attio_sandbox::Config {
        apps: vec![attio_sandbox::OAuthApp {
            name: "Taskr".to_owned(),
            client_id: "taskr-bench".to_owned(),
            client_secret: client_secret.clone(),
            // `Settings::attio_redirect_uri` of the public URL Taskr is started with.
            redirect_uris: vec![format!("{taskr_base}/integrations/attio/callback")],
            scopes: taskr::app::ATTIO_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }],
        retry_base: Duration::from_millis(200),
        target_rate_per_second: 10_000,
        provider: None,
        ..Default::default()
    })
    .spawn()
    .await
    .context("starting the sandbox")?;
    let app = AttioApp {
        url: sandbox.base_url(),
        client_id: "taskr-bench".to_owned(),
        client_secret,
    };
    Ok((sandbox, app))
}

/// The sandbox's REST API with an admin key, as a script of the workspace's owner would use it.
pub struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    pub fn new(sandbox: &SpawnedSandbox) -> Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder().no_proxy().build()?,
            base: sandbox.base_url(),
            key: sandbox.sandbox.mint_api_key(None),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "{method} {path}: {status} {body}");
        Ok(body)
    }

    /// Every task id of the workspace, oldest first.
    pub async fn task_ids(&self) -> Result<Vec<Uuid>> {
        let mut ids = Vec::new();
        loop {
            let path = format!("/v2/tasks?limit=500&offset={}", ids.len());
            let page = self.call(reqwest::Method::GET, &path, None).await?;
            let data = page["data"].as_array().context("a task list")?;
            for task in data {
                ids.push(uuid(&task["id"]["task_id"])?);
            }
            if data.len() < 500 {
                return Ok(ids);
            }
        }
    }

    async fn records(&self, object: &'static str) -> Result<Vec<Record>> {
        let path = format!("/v2/objects/{object}/records/query");
        let page = self
            .call(reqwest::Method::POST, &path, Some(json!({})))
            .await?;
        let data = page["data"].as_array().context("a record list")?;
        data.iter()
            .map(|record| {
                let name = &record["values"]["name"][0];
                Ok(Record {
                    object,
                    id: uuid(&record["id"]["record_id"])?,
                    name: name["full_name"]
                        .as_str()
                        .or(name["value"].as_str())
                        .context("a record name")?
                        .to_owned(),
                })
            })
            .collect()
    }
}

fn uuid(value: &Value) -> Result<Uuid> {
    let raw = value.as_str().context("an id")?;
    Uuid::parse_str(raw).with_context(|| format!("{raw:?} is not a UUID"))
}

/// Adds tasks until the workspace holds `count`. Done before Taskr connects, so no webhook
/// exists yet and Taskr gets them all in its first sync, as an established workspace would.
pub async fn seed_tasks(sandbox: &SpawnedSandbox, count: usize) -> Result<()> {
    let api = Api::new(sandbox)?;
    let existing = api.task_ids().await?.len();
    if count < existing {
        bail!("{count} tasks: the demo workspace already has {existing}; pick a size of at least {existing}");
    }
    let cast = Cast {
        people: api.records("people").await?,
        companies: api.records("companies").await?,
        members: sandbox.sandbox.member_ids(),
    };
    for i in existing..count {
        api.call(reqwest::Method::POST, "/v2/tasks", Some(new_task(i, &cast)))
            .await?;
    }
    let now = api.task_ids().await?.len();
    ensure!(now == count, "the sandbox holds {now} tasks, not {count}");
    Ok(())
}

/// Task `i` of the added ones: links by `i % 4`, `i % 3` assignees, a deadline (past or
/// future) unless `i % 5` is 0 or 3, and completed when `i % 3 == 1`, like the demo seed.
fn new_task(i: usize, cast: &Cast) -> Value {
    let person = &cast.people[(i * 5) % cast.people.len()];
    let company = &cast.companies[(i * 7) % cast.companies.len()];
    let (templates, links): (&[&str], Vec<&Record>) = match i % 4 {
        0 => (UNLINKED, vec![]),
        1 => (ABOUT_PERSON, vec![person]),
        2 => (ABOUT_COMPANY, vec![company]),
        _ => (ABOUT_BOTH, vec![person, company]),
    };
    let content = templates[(i / 4) % templates.len()]
        .replace("{p}", &person.name)
        .replace("{c}", &company.name);
    let mut assignees: Vec<Uuid> = (0..i % 3)
        .map(|k| cast.members[(i * 2 + k * 5) % cast.members.len()])
        .collect();
    assignees.dedup();
    let deadline = match i % 5 {
        0 | 3 => None,
        1 | 4 => Some(date!(2026 - 06 - 01) + time::Duration::days((i % 150) as i64)),
        _ => Some(date!(2027 - 01 - 15) + time::Duration::days((i % 400) as i64)),
    };
    json!({"data": {
        "content": content,
        "format": "plaintext",
        "deadline_at": deadline.map(|d| format!("{d}T17:00:00.000000000Z")),
        "is_completed": i % 3 == 1,
        "linked_records": links.iter().map(|r| json!({
            "target_object": r.object, "target_record_id": r.id,
        })).collect::<Vec<_>>(),
        "assignees": assignees.iter().map(|id| json!({
            "referenced_actor_type": "workspace-member", "referenced_actor_id": id,
        })).collect::<Vec<_>>(),
    }})
}

/// Waits until Taskr has registered its webhook (it does on connecting).
pub async fn wait_for_webhook(sandbox: &SpawnedSandbox, limit: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    while sandbox.sandbox.webhook_ids().is_empty() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "Taskr registered no webhook within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// `changes` deadline moves over the oldest tasks, each to a date no earlier change used, so
/// every one is a real change: one `task.updated` each, delivered to Taskr's webhook.
pub async fn move_deadlines(sandbox: &SpawnedSandbox, changes: usize) -> Result<()> {
    let api = Api::new(sandbox)?;
    let ids = api.task_ids().await?;
    for i in 0..changes {
        let day = date!(2027 - 03 - 01) + time::Duration::days(i as i64);
        let body = json!({"data": {"deadline_at": format!("{day}T17:00:00.000000000Z")}});
        let path = format!("/v2/tasks/{}", ids[i % ids.len()]);
        api.call(reqwest::Method::PATCH, &path, Some(body)).await?;
    }
    ensure!(
        sandbox.sandbox.wait_for_idle(Duration::from_secs(60)).await,
        "the sandbox did not deliver the changes within 60 s"
    );
    Ok(())
}
