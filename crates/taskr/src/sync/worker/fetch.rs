//! Reading what a batch of deliveries names from Attio, at Attio's pace: single reads for a few
//! tasks, pages of `GET /v2/tasks` when that costs fewer requests, a few reads in flight at
//! once, and a stop at the first sign that Attio is down or rate limiting (the rest waits for
//! the next attempt instead of spending requests that cannot succeed). Every task comes out
//! fetched, gone (404), or failed with the reason; nothing is retried here.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use attio::{AttioError, Task, WorkspaceMember, TASK_PAGE_LIMIT};
use uuid::Uuid;

use crate::attio_gateway::open_token;
use crate::store::{UpstreamProblem, WorkspaceId};
use crate::sync::health::problem_of;
use crate::sync::SyncService;

/// Below this many tasks single reads are used whatever a listing would cost: at Attio's
/// 100 reads/s they take well under a second, and they move far less data than pages of 500.
const MIN_PAGED: usize = 16;
/// Single reads in flight at once for one workspace.
const PARALLEL_READS: usize = 8;
/// Transient failures (5xx, no answer) in a row, with no success between, after which Attio is
/// taken to be down for this pass. One failing task alone does not stop the others.
const FAILURES_BEFORE_STOP: usize = 3;

/// Why something could not be read; it decides when the worker tries again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Class {
    /// 429: try again when `Retry-After` says.
    RateLimited(Option<Duration>),
    /// 5xx, a dropped connection, a time-out: Attio should be back soon.
    Transient,
    /// No token of the workspace works: wait for a user to reconnect.
    NoAccess,
    /// Anything else (a 400, an unreadable body): not expected to pass soon.
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub class: Class,
    pub message: String,
}

impl Failure {
    fn of(error: &AttioError) -> Self {
        let class = match error {
            AttioError::RateLimited { retry_after } => Class::RateLimited(*retry_after),
            e if e.is_auth_failure() => Class::NoAccess,
            e if e.is_transient() => Class::Transient,
            _ => Class::Other,
        };
        Self {
            class,
            message: error.to_string(),
        }
    }
}

/// What one pass read.
#[derive(Default)]
pub(super) struct Fetched {
    pub tasks: Vec<Task>,
    /// Tasks Attio answered 404 for: deleted.
    pub gone: Vec<Uuid>,
    pub members: Option<Vec<WorkspaceMember>>,
    pub failed: HashMap<Uuid, Failure>,
    pub members_failed: Option<Failure>,
    /// Whether any call reached the point of an answer (or of finding no usable token).
    pub asked: bool,
    /// The last problem Attio showed in this pass; `None` with `asked` means all was well.
    pub problem: Option<UpstreamProblem>,
    /// Set when Attio as a whole failed this pass (it rate limited Taskr, or it failed
    /// transiently and answered nothing): whatever was not read waits with it, and so does the
    /// rest of the workspace's inbox.
    pub outage: Option<Failure>,
    /// Whether any read was answered (a task, a 404, a page, the members).
    answered: bool,
    last_transient: Option<Failure>,
    /// Requests made, for logs.
    pub requests: usize,
}

/// Reads `tasks` (and the member list when `members`) with the workspace's links, oldest
/// first. A link whose token Attio refuses is marked broken and the next one carries on.
pub(super) async fn fetch(
    state: &SyncService,
    workspace: WorkspaceId,
    tasks: Vec<Uuid>,
    members: bool,
) -> anyhow::Result<Fetched> {
    let mut out = Fetched::default();
    let mut pending = Pending { tasks, members };
    let links = state.store.active_links(workspace).await?;
    if links.is_empty() && state.store.link_count(workspace).await? == 0 {
        // Nobody links the workspace any more: there is no cache to update.
        return Ok(out);
    }
    // Listing costs ceil(tasks in the workspace / page size) requests; the cache's count plus
    // the tasks named (some may be new) bounds the workspace's size.
    let estimate = state.store.task_count(workspace).await? as usize + pending.tasks.len();
    let pages = estimate.div_ceil(TASK_PAGE_LIMIT).max(1);
    let by_listing = pending.tasks.len() >= MIN_PAGED && pages < pending.tasks.len();
    for link in links {
        let client = state
            .attio
            .client(open_token(&state.cipher, &link)?)
            // A 429 comes back at once: the inbox's schedule honours its Retry-After without
            // holding up other workspaces.
            .with_rate_limit_retries(0);
        let mut reader = Reader {
            client,
            out: &mut out,
            in_a_row: 0,
        };
        match reader.read(&mut pending, by_listing).await {
            Ok(()) => {
                if out.outage.is_none() && !out.answered {
                    out.outage = out.last_transient.clone();
                }
                return Ok(out);
            }
            Err(refused) => {
                tracing::warn!(user = %link.user_id, error = %refused, "Attio refused a token; marking the link broken");
                state
                    .store
                    .mark_link_broken(link.user_id, &refused.to_string())
                    .await?;
                state.coordinator.user_changed(link.user_id);
            }
        }
    }
    // No token works: what is left waits for a user to reconnect.
    let failure = Failure {
        class: Class::NoAccess,
        message: "no working Attio connection for this workspace; a user must reconnect".into(),
    };
    out.asked = true;
    out.problem = Some(UpstreamProblem::NoAccess);
    for id in pending.tasks {
        out.failed.insert(id, failure.clone());
    }
    if pending.members {
        out.members_failed = Some(failure);
    }
    Ok(out)
}

/// What is still to be read; a link that is refused hands it to the next.
struct Pending {
    tasks: Vec<Uuid>,
    members: bool,
}

struct Reader<'a> {
    client: attio::Client,
    /// Its `outage`, once set, fails whatever is not read yet.
    out: &'a mut Fetched,
    in_a_row: usize,
}

impl Reader<'_> {
    /// Reads everything pending; `Err` with the refusal when the token is refused (what is still
    /// pending is left in `pending`).
    async fn read(&mut self, pending: &mut Pending, by_listing: bool) -> Result<(), AttioError> {
        if pending.members {
            self.out.requests += 1;
            let answer = self.client.list_members().await;
            match answer {
                Ok(members) => {
                    self.answered();
                    self.out.members = Some(members);
                }
                Err(e) if e.is_auth_failure() => return Err(e),
                Err(e) => self.out.members_failed = Some(self.failed(&e)),
            }
            pending.members = false;
        }
        if by_listing && self.out.outage.is_none() {
            self.list(&mut pending.tasks).await?;
        }
        // What a listing did not show is confirmed (or read) one by one: offset paging can skip
        // a row while tasks are deleted concurrently, so absence alone proves nothing.
        while !pending.tasks.is_empty() {
            if let Some(outage) = &self.out.outage {
                for id in pending.tasks.drain(..) {
                    self.out.failed.insert(id, outage.clone());
                }
                break;
            }
            let take = pending.tasks.len().min(PARALLEL_READS);
            let chunk: Vec<Uuid> = pending.tasks.drain(..take).collect();
            let mut reads = tokio::task::JoinSet::new();
            for (index, id) in chunk.iter().copied().enumerate() {
                let client = self.client.clone();
                reads.spawn(async move { (index, id, client.get_task(id).await) });
            }
            let mut answers: Vec<Option<Result<Task, AttioError>>> =
                chunk.iter().map(|_| None).collect();
            while let Some(joined) = reads.join_next().await {
                // A read that panicked has no answer; its task is failed below.
                if let Ok((index, _, answer)) = joined {
                    answers[index] = Some(answer);
                }
            }
            self.out.requests += chunk.len();
            let mut refused = None;
            for (id, answer) in chunk.into_iter().zip(answers) {
                let answer = answer.unwrap_or_else(|| {
                    Err(AttioError::Decode("the read of this task stopped".into()))
                });
                match answer {
                    Ok(task) => {
                        self.answered();
                        self.out.tasks.push(task);
                    }
                    Err(AttioError::NotFound(_)) => {
                        self.answered();
                        self.out.gone.push(id);
                    }
                    Err(e) if e.is_auth_failure() => {
                        pending.tasks.push(id);
                        refused = Some(e);
                    }
                    Err(e) => {
                        let failure = self.failed(&e);
                        self.out.failed.insert(id, failure);
                    }
                }
            }
            if let Some(refused) = refused {
                return Err(refused);
            }
        }
        Ok(())
    }

    /// Pages through the workspace's tasks, keeping the wanted ones, until all are found or the
    /// last page; `wanted` keeps what was not found.
    async fn list(&mut self, wanted: &mut Vec<Uuid>) -> Result<(), AttioError> {
        let mut missing: HashSet<Uuid> = wanted.iter().copied().collect();
        let mut offset = 0;
        while !missing.is_empty() {
            self.out.requests += 1;
            match self.client.list_tasks(TASK_PAGE_LIMIT, offset).await {
                Ok(page) => {
                    self.answered();
                    offset += page.tasks.len();
                    let more = page.may_have_more;
                    for task in page.tasks {
                        if missing.remove(&task.id.task_id) {
                            self.out.tasks.push(task);
                        }
                    }
                    if !more {
                        break;
                    }
                }
                Err(e) if e.is_auth_failure() => {
                    wanted.retain(|id| missing.contains(id));
                    return Err(e);
                }
                Err(e) => {
                    // A failed page: single reads will not do better while Attio is down or
                    // rate limiting, so they wait too; on any other error they take over.
                    let failure = self.failed(&e);
                    if matches!(failure.class, Class::RateLimited(_) | Class::Transient) {
                        self.out.outage = Some(failure);
                    }
                    break;
                }
            }
        }
        wanted.retain(|id| missing.contains(id));
        Ok(())
    }

    fn answered(&mut self) {
        self.out.asked = true;
        self.out.answered = true;
        self.in_a_row = 0;
    }

    /// Notes a failure that is not a refused token; sets the outage when Attio as a whole is
    /// the problem.
    fn failed(&mut self, error: &AttioError) -> Failure {
        self.out.asked = true;
        if let Some(problem) = problem_of(error) {
            self.out.problem = Some(problem);
        }
        let failure = Failure::of(error);
        match failure.class {
            Class::RateLimited(_) => self.out.outage = Some(failure.clone()),
            Class::Transient => {
                self.in_a_row += 1;
                self.out.last_transient = Some(failure.clone());
                if self.in_a_row >= FAILURES_BEFORE_STOP {
                    self.out.outage = Some(failure.clone());
                }
            }
            Class::NoAccess | Class::Other => {}
        }
        failure
    }
}
