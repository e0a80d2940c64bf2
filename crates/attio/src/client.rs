//! Typed REST calls against Attio's API host with one workspace-scoped token.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::webhooks::{CreatedWebhook, Subscription, Webhook, WebhookSecret};
use crate::{AccessToken, AttioError, Record, SelfInfo, Task, WorkspaceMember};

/// Page size for task backfills. Attio's default (500) is also the size we ask for.
pub const TASK_PAGE_LIMIT: usize = 500;

/// How often a rate-limited read is retried before the error goes to the caller.
const RATE_LIMIT_RETRIES: u32 = 3;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
pub(crate) struct Envelope<T> {
    pub data: T,
}

/// The fields of a task that `PATCH /v2/tasks/{id}` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_completed: Option<bool>,
    /// `Some(None)` removes the deadline; a deadline is an ISO 8601 timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<Option<String>>,
    /// The whole new set of assignees (workspace members).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "member_assignees"
    )]
    pub assignees: Option<Vec<Uuid>>,
}

impl TaskUpdate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Assignees as the write schema has them: `{referenced_actor_type, referenced_actor_id}`.
fn member_assignees<S: serde::Serializer>(
    members: &Option<Vec<Uuid>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let members = members.as_deref().unwrap_or_default();
    let mut seq = serializer.serialize_seq(Some(members.len()))?;
    for id in members {
        seq.serialize_element(&json!({
            "referenced_actor_type": "workspace-member",
            "referenced_actor_id": id,
        }))?;
    }
    seq.end()
}

/// One page of `GET /v2/tasks`.
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// True when the page was full, so another may follow.
    pub may_have_more: bool,
}

#[derive(Clone, Debug)]
pub struct Client {
    api_url: Url,
    token: AccessToken,
    http: reqwest::Client,
    rate_limit_retries: u32,
    observer: Option<Observer>,
}

/// Told how every request sent to the API ended: its HTTP status, or `None` when no answer came
/// (so that a caller can count calls by status without wrapping each method).
#[derive(Clone)]
pub struct Observer(std::sync::Arc<dyn Fn(Option<u16>) + Send + Sync>);

impl Observer {
    pub fn new(f: impl Fn(Option<u16>) + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

impl Client {
    pub fn new(api_url: Url, token: AccessToken, http: reqwest::Client) -> Self {
        Self {
            api_url,
            token,
            http,
            rate_limit_retries: RATE_LIMIT_RETRIES,
            observer: None,
        }
    }

    /// Reports the outcome of every request (retries included) to `observer`.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// How often a 429 is retried here (waiting out `Retry-After`) before it is returned. A
    /// caller with its own schedule, like a queue worker, sets 0 and gets the 429 at once.
    pub fn with_rate_limit_retries(mut self, retries: u32) -> Self {
        self.rate_limit_retries = retries;
        self
    }

    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.api_url.clone();
        url.set_path(path);
        url
    }

    /// The API URL with these path segments, each escaped (ids and slugs come from events and
    /// tasks: a `/` or `?` in one must not reach another path).
    pub(crate) fn url_of(&self, segments: &[&str]) -> Result<Url, AttioError> {
        let mut url = self.url("/");
        url.path_segments_mut()
            .map_err(|_| AttioError::Decode("API URL cannot be a base".into()))?
            .clear()
            .extend(segments);
        Ok(url)
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, AttioError> {
        self.send_json(Method::GET, url, None).await
    }

    /// Sends a request and reads a JSON answer. A 429 means Attio did not process the request,
    /// so it is retried (a few times, honouring `Retry-After`) whatever the method.
    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<T, AttioError> {
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose());
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            if let Some(observer) = &self.observer {
                (observer.0)(sent.as_ref().ok().map(|r| r.status().as_u16()));
            }
            let response = sent.map_err(AttioError::Transport)?;
            if response.status().is_success() {
                let bytes = response.bytes().await.map_err(AttioError::Transport)?;
                return serde_json::from_slice(&bytes)
                    .map_err(|e| AttioError::Decode(format!("{}: {e}", url.path())));
            }
            let error = AttioError::from_response(response).await;
            match error {
                AttioError::RateLimited { retry_after } if attempt < self.rate_limit_retries => {
                    attempt += 1;
                    let wait = retry_after
                        .unwrap_or(Duration::from_secs(1))
                        .min(MAX_RETRY_WAIT);
                    tracing::debug!(path = url.path(), ?wait, "rate limited by Attio; waiting");
                    tokio_sleep(wait).await;
                }
                other => return Err(other),
            }
        }
    }

    /// `GET /v2/self`: who the token belongs to, or that it is no longer active.
    pub async fn self_info(&self) -> Result<SelfInfo, AttioError> {
        self.get_json(self.url("/v2/self")).await
    }

    /// One page of tasks, oldest first.
    pub async fn list_tasks(&self, limit: usize, offset: usize) -> Result<TaskPage, AttioError> {
        let mut url = self.url("/v2/tasks");
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("offset", &offset.to_string())
            .append_pair("sort", "created_at:asc");
        let page: Envelope<Vec<Task>> = self.get_json(url).await?;
        Ok(TaskPage {
            may_have_more: page.data.len() >= limit,
            tasks: page.data,
        })
    }

    /// Every task in the workspace, paging with `limit`/`offset` until a short page.
    pub async fn all_tasks(&self) -> Result<Vec<Task>, AttioError> {
        self.all_tasks_paged(TASK_PAGE_LIMIT).await
    }

    /// [`Client::all_tasks`] with a chosen page size.
    pub async fn all_tasks_paged(&self, page_size: usize) -> Result<Vec<Task>, AttioError> {
        let page_size = page_size.max(1);
        let mut tasks = Vec::new();
        loop {
            let page = self.list_tasks(page_size, tasks.len()).await?;
            tasks.extend(page.tasks);
            if !page.may_have_more {
                return Ok(tasks);
            }
        }
    }

    pub async fn get_task(&self, task_id: Uuid) -> Result<Task, AttioError> {
        let page: Envelope<Task> = self
            .get_json(self.url(&format!("/v2/tasks/{task_id}")))
            .await?;
        Ok(page.data)
    }

    /// `PATCH /v2/tasks/{id}` with the fields of `update` that are set; Attio's answer is the
    /// task as it now is. A write is not retried on a 429 here (see
    /// [`Client::with_rate_limit_retries`]): the caller decides, usually by telling the user.
    pub async fn update_task(
        &self,
        task_id: Uuid,
        update: &TaskUpdate,
    ) -> Result<Task, AttioError> {
        let body = json!({ "data": update });
        let page: Envelope<Task> = self
            .send_json(
                Method::PATCH,
                self.url(&format!("/v2/tasks/{task_id}")),
                Some(&body),
            )
            .await?;
        Ok(page.data)
    }

    /// One record of an object (`people`, `companies`, or an object id).
    pub async fn get_record(&self, object: &str, record_id: Uuid) -> Result<Record, AttioError> {
        let url = self.url_of(&["v2", "objects", object, "records", &record_id.to_string()])?;
        let page: Envelope<Record> = self.get_json(url).await?;
        Ok(page.data)
    }

    /// Every workspace member (the endpoint is not paged).
    pub async fn list_members(&self) -> Result<Vec<WorkspaceMember>, AttioError> {
        let page: Envelope<Vec<WorkspaceMember>> =
            self.get_json(self.url("/v2/workspace_members")).await?;
        Ok(page.data)
    }
}

impl Client {
    /// `POST /v2/webhooks`. The answer is the only place Attio shows the secret.
    pub async fn create_webhook(
        &self,
        target_url: &str,
        subscriptions: &[Subscription],
    ) -> Result<CreatedWebhook, AttioError> {
        #[derive(Deserialize)]
        struct WithSecret {
            #[serde(flatten)]
            webhook: Webhook,
            secret: String,
        }
        let body = json!({"data": {"target_url": target_url, "subscriptions": subscriptions}});
        let created: Envelope<WithSecret> = self
            .send_json(Method::POST, self.url("/v2/webhooks"), Some(&body))
            .await?;
        Ok(CreatedWebhook {
            webhook: created.data.webhook,
            secret: WebhookSecret::new(created.data.secret),
        })
    }

    /// One page of `GET /v2/webhooks` (`limit` between 10 and 100).
    pub async fn list_webhooks(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Webhook>, AttioError> {
        let mut url = self.url("/v2/webhooks");
        url.query_pairs_mut()
            .append_pair("limit", &limit.clamp(10, 100).to_string())
            .append_pair("offset", &offset.to_string());
        let page: Envelope<Vec<Webhook>> = self.get_json(url).await?;
        Ok(page.data)
    }

    pub async fn get_webhook(&self, webhook_id: Uuid) -> Result<Webhook, AttioError> {
        let page: Envelope<Webhook> = self
            .get_json(self.url(&format!("/v2/webhooks/{webhook_id}")))
            .await?;
        Ok(page.data)
    }

    /// `PATCH /v2/webhooks/{id}` with the fields to change.
    pub async fn update_webhook(
        &self,
        webhook_id: Uuid,
        target_url: Option<&str>,
        subscriptions: Option<&[Subscription]>,
    ) -> Result<Webhook, AttioError> {
        let mut data = serde_json::Map::new();
        if let Some(url) = target_url {
            data.insert("target_url".into(), json!(url));
        }
        if let Some(subscriptions) = subscriptions {
            data.insert("subscriptions".into(), json!(subscriptions));
        }
        let body = json!({ "data": data });
        let page: Envelope<Webhook> = self
            .send_json(
                Method::PATCH,
                self.url(&format!("/v2/webhooks/{webhook_id}")),
                Some(&body),
            )
            .await?;
        Ok(page.data)
    }

    pub async fn delete_webhook(&self, webhook_id: Uuid) -> Result<(), AttioError> {
        let _: serde_json::Value = self
            .send_json(
                Method::DELETE,
                self.url(&format!("/v2/webhooks/{webhook_id}")),
                None,
            )
            .await?;
        Ok(())
    }
}

async fn tokio_sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}
