//! Whether a workspace's cached data is current, and saying so in words: the worker, the
//! reconciler and "Sync now" record how Attio answered them, the inbox knows what is late, and
//! the tasks page turns both into its live status. Changes are published on the live channel so
//! that open pages update by themselves.

use std::time::Duration;

use attio::AttioError;

use crate::live::{Change, LiveEvent};
use crate::store::{InboxHealth, UpstreamProblem, Workspace, WorkspaceId};
use crate::sync::SyncService;

/// A pending delivery counts as waiting once it has been put back at least once, or once it is
/// this old without having been applied. A healthy worker applies a delivery within tens of
/// milliseconds, so a fresh one is not "delayed"; five seconds is far beyond that and far
/// below anything a reader would call current.
pub const LATE_AFTER_MS: i64 = 5_000;

/// The problem an error from Attio shows about the workspace as a whole; `None` for answers
/// that say nothing about Attio's health (a 404, a 400, a body Taskr could not read).
pub fn problem_of(error: &AttioError) -> Option<UpstreamProblem> {
    match error {
        AttioError::Unauthorized(_) | AttioError::Forbidden(_) => Some(UpstreamProblem::NoAccess),
        AttioError::RateLimited { .. } => Some(UpstreamProblem::RateLimited),
        AttioError::Api { status, .. } if *status >= 500 => Some(UpstreamProblem::Status(*status)),
        AttioError::Transport(_) => Some(UpstreamProblem::Unreachable),
        _ => None,
    }
}

/// Records how Attio answered a read of the workspace (`None`: it answered) and tells open
/// pages when that changes what they say.
pub async fn record(
    state: &SyncService,
    workspace: WorkspaceId,
    problem: Option<UpstreamProblem>,
) -> anyhow::Result<()> {
    if state
        .store
        .record_upstream(workspace, problem, crate::now_ms())
        .await?
    {
        tracing::info!(%workspace, problem = ?problem, "Attio's health for the workspace changed");
        state
            .coordinator
            .publish(LiveEvent::new(workspace, Change::Health));
    }
    Ok(())
}

/// The words for a problem, as the end of "Live updates delayed … — ".
pub fn reason(problem: UpstreamProblem) -> String {
    match problem {
        UpstreamProblem::Status(status) => format!("Attio is answering {status}"),
        UpstreamProblem::RateLimited => "Attio is rate limiting Taskr".to_owned(),
        UpstreamProblem::Unreachable => "Attio cannot be reached".to_owned(),
        UpstreamProblem::NoAccess => {
            "Attio no longer accepts Taskr's access; a user must reconnect".to_owned()
        }
    }
}

/// The tasks page's status lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHealth {
    /// The live-status sentence, or `None` when live updates are on and nothing is late (the
    /// page then shows what it knows of the webhook).
    pub delayed: Option<String>,
    /// The last full sync is older than the reconcile interval (with some grace).
    pub sync_stale: bool,
}

/// What the page says, from what the store knows. `now_ms` and the interval are passed in so
/// that the wording can be tested without a clock.
pub fn assess(
    workspace: &Workspace,
    inbox: &InboxHealth,
    reconcile_interval: Duration,
    now_ms: i64,
) -> PageHealth {
    let problem = workspace.upstream_problem;
    let delayed = if inbox.waiting > 0 {
        let why = match (problem, &inbox.last_error) {
            (Some(problem), _) => reason(problem),
            (None, Some(error)) => format!(
                "the last attempt failed: {}",
                error.chars().take(160).collect::<String>()
            ),
            (None, None) => "Taskr is catching up".to_owned(),
        };
        let since = inbox.oldest_received_ms.unwrap_or(now_ms);
        Some(format!(
            "Live updates delayed: {} waiting since {} — {why}.",
            plural(inbox.waiting, "change"),
            clock(since, now_ms)
        ))
    } else {
        problem.map(|problem| {
            let since = workspace.upstream_problem_since_ms.unwrap_or(now_ms);
            format!(
                "Live updates delayed since {} — {}.",
                clock(since, now_ms),
                reason(problem)
            )
        })
    };
    PageHealth {
        delayed,
        sync_stale: sync_is_stale(workspace.last_synced_at, reconcile_interval, now_ms / 1000),
    }
}

/// A sync is stale when it is older than the reconcile interval plus the time a pass may take
/// (the interval again, at most a minute): a reconciler that works never lets it get there.
pub fn sync_is_stale(last_synced: Option<i64>, interval: Duration, now: i64) -> bool {
    let interval = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
    let grace = interval.min(60);
    last_synced.is_some_and(|at| now.saturating_sub(at) > interval.saturating_add(grace))
}

/// "5 minutes", "90 seconds", "2 hours": the reconcile interval in words.
pub fn interval_words(interval: Duration) -> String {
    let secs = interval.as_secs();
    if secs >= 3600 && secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else if secs >= 120 && secs % 60 == 0 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "14:02 UTC" today, "2026-11-29 14:02 UTC" on another day.
fn clock(at_ms: i64, now_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000));
    let now = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000));
    let (Ok(at), Ok(now)) = (at, now) else {
        return "an unknown time".to_owned();
    };
    let formatted = if at.date() == now.date() {
        at.format(time::macros::format_description!("[hour]:[minute] UTC"))
    } else {
        at.format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
    };
    formatted.unwrap_or_else(|_| "an unknown time".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WorkspaceInfo;

    // 2026-11-30 14:02:00 UTC and ten minutes later.
    const AT: i64 = 1_796_047_320_000;
    const NOW: i64 = AT + 600_000;

    fn workspace(problem: Option<UpstreamProblem>, last_synced: Option<i64>) -> Workspace {
        Workspace {
            info: WorkspaceInfo {
                id: WorkspaceId::default(),
                name: "W".into(),
                slug: "w".into(),
            },
            last_synced_at: last_synced,
            sync_error: None,
            webhook_note: None,
            upstream_problem: problem,
            upstream_problem_since_ms: problem.map(|_| AT),
        }
    }

    fn waiting(n: u64, error: Option<&str>) -> InboxHealth {
        InboxHealth {
            waiting: n,
            oldest_received_ms: (n > 0).then_some(AT),
            last_error: error.map(str::to_owned),
            next_late_ms: None,
        }
    }

    #[test]
    fn a_backlog_is_counted_dated_and_explained() {
        let interval = Duration::from_secs(300);
        let cases = [
            (
                Some(UpstreamProblem::Status(503)),
                waiting(12, Some("x")),
                "Live updates delayed: 12 changes waiting since 14:02 UTC — Attio is answering 503.",
            ),
            (
                Some(UpstreamProblem::RateLimited),
                waiting(1, None),
                "Live updates delayed: 1 change waiting since 14:02 UTC — Attio is rate limiting Taskr.",
            ),
            (
                Some(UpstreamProblem::NoAccess),
                waiting(0, None),
                "Live updates delayed since 14:02 UTC — Attio no longer accepts Taskr's access; a user must reconnect.",
            ),
            (
                Some(UpstreamProblem::Unreachable),
                waiting(0, None),
                "Live updates delayed since 14:02 UTC — Attio cannot be reached.",
            ),
            (
                None,
                waiting(2, Some("disk full")),
                "Live updates delayed: 2 changes waiting since 14:02 UTC — the last attempt failed: disk full.",
            ),
        ];
        for (problem, inbox, expected) in cases {
            let health = assess(&workspace(problem, Some(NOW / 1000)), &inbox, interval, NOW);
            assert_eq!(health.delayed.as_deref(), Some(expected));
            assert!(!health.sync_stale);
        }
        let fine = assess(
            &workspace(None, Some(NOW / 1000)),
            &waiting(0, None),
            interval,
            NOW,
        );
        assert_eq!(fine.delayed, None, "nothing to say when all is well");
    }

    #[test]
    fn a_sync_is_stale_past_the_interval_and_its_grace() {
        let interval = Duration::from_secs(300);
        let now = NOW / 1000;
        assert!(!sync_is_stale(Some(now - 300), interval, now));
        assert!(!sync_is_stale(Some(now - 360), interval, now));
        assert!(sync_is_stale(Some(now - 361), interval, now));
        assert!(
            !sync_is_stale(None, interval, now),
            "the first sync is another message"
        );
        assert!(sync_is_stale(Some(now - 21), Duration::from_secs(10), now));
    }

    #[test]
    fn problems_round_trip_through_their_stored_form() {
        for problem in [
            UpstreamProblem::Status(503),
            UpstreamProblem::RateLimited,
            UpstreamProblem::Unreachable,
            UpstreamProblem::NoAccess,
        ] {
            assert_eq!(UpstreamProblem::parse(&problem.code()), Some(problem));
        }
        assert_eq!(UpstreamProblem::parse("status:abc"), None);
        assert_eq!(interval_words(Duration::from_secs(300)), "5 minutes");
        assert_eq!(interval_words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(interval_words(Duration::from_secs(7200)), "2 hours");
    }
}
