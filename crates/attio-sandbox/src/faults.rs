//! Fault injection and Attio's rate limits for the sandbox's own answers: which request gets
//! added latency, a 5xx, a 429 or a dropped connection. Rate limits count per workspace (the
//! token's); fault rules are global unless a rule names a workspace. Rates are applied deterministically (an
//! error-diffusion counter per rule), so a rate of 0.25 faults exactly every fourth matching
//! request and tests never flake.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

/// Attio's documented limits (attio-api.md 2.2).
pub(crate) const READS_PER_SECOND: u32 = 100;
pub(crate) const WRITES_PER_SECOND: u32 = 25;

/// One rule, as posted to `/_sandbox/faults`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FaultRule {
    pub path_prefix: String,
    pub latency: Duration,
    pub error_rate: f64,
    pub error_status: u16,
    pub rate_limit_rate: f64,
    pub retry_after: Duration,
    pub drop_connection_rate: f64,
    /// Only requests whose bearer token belongs to this workspace match; `None`: any request.
    pub workspace_id: Option<Uuid>,
    /// The rule covers this many more matching requests, then disappears; `None`: forever.
    pub remaining: Option<u32>,
}

struct ActiveRule {
    rule: FaultRule,
    /// Error-diffusion counters: drop, 429, 5xx.
    debt: [f64; 3],
}

/// What happens to one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FaultAction {
    Pass,
    DropConnection,
    TooManyRequests { retry_after: SystemTime },
    ServerError(u16),
}

#[derive(Default)]
pub(crate) struct Faults {
    rules: Vec<ActiveRule>,
    rate_limits: bool,
    /// Per workspace (`None`: requests without a known token), the current one-second window
    /// (Unix seconds) and the reads and writes counted in it.
    windows: HashMap<Option<Uuid>, (u64, u32, u32)>,
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(ActiveRule {
            rule,
            debt: [0.0; 3],
        });
    }

    /// Removes every rule (rate limits keep their setting).
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|r| r.rule.clone()).collect()
    }

    pub fn set_rate_limits(&mut self, enabled: bool) {
        self.rate_limits = enabled;
        self.windows.clear();
    }

    pub fn rate_limits(&self) -> bool {
        self.rate_limits
    }

    /// Decides one request of `workspace` (that of its bearer token, if known): the latency to
    /// add (every matching rule's, summed) and the answer. The first matching rule whose counter
    /// comes due decides; rate limits apply to `/v2/`, counted per workspace.
    pub fn decide(
        &mut self,
        path: &str,
        is_read: bool,
        workspace: Option<Uuid>,
        now: SystemTime,
    ) -> (Duration, FaultAction) {
        let mut latency = Duration::ZERO;
        let mut action = FaultAction::Pass;
        for active in self
            .rules
            .iter_mut()
            .filter(|r| path.starts_with(&r.rule.path_prefix))
            .filter(|r| r.rule.workspace_id.is_none_or(|w| workspace == Some(w)))
        {
            let rule = &mut active.rule;
            latency = latency.saturating_add(rule.latency);
            if let Some(remaining) = &mut rule.remaining {
                *remaining = remaining.saturating_sub(1);
            }
            let rates = [
                rule.drop_connection_rate,
                rule.rate_limit_rate,
                rule.error_rate,
            ];
            let mut due = [false; 3];
            for ((debt, rate), due) in active.debt.iter_mut().zip(rates).zip(&mut due) {
                *debt += rate;
                if *debt >= 1.0 - 1e-9 {
                    *debt -= 1.0;
                    *due = true;
                }
            }
            if action != FaultAction::Pass {
                continue;
            }
            action = match due {
                [true, _, _] => FaultAction::DropConnection,
                [_, true, _] => FaultAction::TooManyRequests {
                    retry_after: whole_seconds_after(now, rule.retry_after),
                },
                [_, _, true] => FaultAction::ServerError(rule.error_status),
                _ => FaultAction::Pass,
            };
        }
        self.rules.retain(|r| r.rule.remaining != Some(0));
        if action == FaultAction::Pass && self.rate_limits && path.starts_with("/v2/") {
            action = self.count(workspace, is_read, now);
        }
        (latency, action)
    }

    /// Counts a request against its workspace's current second; over the limit it is refused
    /// until the next second.
    fn count(&mut self, workspace: Option<Uuid>, is_read: bool, now: SystemTime) -> FaultAction {
        let second = unix_seconds(now);
        let window = self.windows.entry(workspace).or_default();
        if window.0 != second {
            *window = (second, 0, 0);
        }
        let (count, limit) = if is_read {
            (&mut window.1, READS_PER_SECOND)
        } else {
            (&mut window.2, WRITES_PER_SECOND)
        };
        if *count >= limit {
            return FaultAction::TooManyRequests {
                retry_after: UNIX_EPOCH + Duration::from_secs(second + 1),
            };
        }
        *count += 1;
        FaultAction::Pass
    }
}

fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `now + wait`, rounded up to a whole second (an HTTP-date has no fractions), at least the
/// next second.
fn whole_seconds_after(now: SystemTime, wait: Duration) -> SystemTime {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    UNIX_EPOCH + Duration::from_secs(unix_seconds(now) + seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str) -> FaultRule {
        FaultRule {
            path_prefix: prefix.to_owned(),
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_status: 500,
            rate_limit_rate: 0.0,
            retry_after: Duration::from_secs(1),
            drop_connection_rate: 0.0,
            workspace_id: None,
            remaining: None,
        }
    }

    #[test]
    fn rates_fault_an_exact_share_of_matching_requests() {
        let mut faults = Faults::default();
        faults.add(FaultRule {
            error_rate: 0.25,
            ..rule("/v2/tasks")
        });
        let now = SystemTime::now();
        let answers: Vec<bool> = (0..8)
            .map(|_| faults.decide("/v2/tasks/1", true, None, now).1 != FaultAction::Pass)
            .collect();
        assert_eq!(
            answers,
            [false, false, false, true, false, false, false, true]
        );
        assert_eq!(
            faults.decide("/v2/self", true, None, now).1,
            FaultAction::Pass,
            "other paths are untouched"
        );
    }

    #[test]
    fn limited_rules_expire_and_clear_removes_the_rest() {
        let mut faults = Faults::default();
        faults.add(FaultRule {
            drop_connection_rate: 1.0,
            remaining: Some(2),
            ..rule("/v2/")
        });
        faults.add(FaultRule {
            latency: Duration::from_millis(5),
            ..rule("/")
        });
        let now = SystemTime::now();
        for _ in 0..2 {
            assert_eq!(
                faults.decide("/v2/tasks", true, None, now),
                (Duration::from_millis(5), FaultAction::DropConnection)
            );
        }
        assert_eq!(
            faults.decide("/v2/tasks", true, None, now).1,
            FaultAction::Pass
        );
        faults.clear();
        assert_eq!(
            faults.decide("/v2/tasks", true, None, now),
            (Duration::ZERO, FaultAction::Pass)
        );
    }

    #[test]
    fn rate_limits_allow_25_writes_and_100_reads_per_second() {
        let mut faults = Faults::default();
        faults.set_rate_limits(true);
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let passed = |faults: &mut Faults, read| {
            (0..150)
                .filter(|_| faults.decide("/v2/tasks", read, None, now).1 == FaultAction::Pass)
                .count()
        };
        assert_eq!(passed(&mut faults, false), 25);
        assert_eq!(passed(&mut faults, true), 100);
        assert_eq!(
            faults.decide("/v2/tasks", true, None, now).1,
            FaultAction::TooManyRequests {
                retry_after: UNIX_EPOCH + Duration::from_secs(1_700_000_001)
            }
        );
        assert_eq!(
            faults.decide("/oauth/token", false, None, now).1,
            FaultAction::Pass
        );
        faults.set_rate_limits(false);
        assert_eq!(passed(&mut faults, false), 150);
    }

    #[test]
    fn each_workspace_has_its_own_rate_limit_budget() {
        let mut faults = Faults::default();
        faults.set_rate_limits(true);
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let (a, b) = (Some(Uuid::from_u128(1)), Some(Uuid::from_u128(2)));
        let passed = |faults: &mut Faults, workspace| {
            (0..40)
                .filter(|_| {
                    faults.decide("/v2/tasks", false, workspace, now).1 == FaultAction::Pass
                })
                .count()
        };
        assert_eq!(passed(&mut faults, a), 25);
        assert_eq!(passed(&mut faults, a), 0, "A's budget is spent");
        assert_eq!(passed(&mut faults, b), 25, "B's budget is untouched");
    }

    #[test]
    fn a_rule_naming_a_workspace_matches_only_its_requests() {
        let mut faults = Faults::default();
        let a = Uuid::from_u128(1);
        faults.add(FaultRule {
            error_rate: 1.0,
            workspace_id: Some(a),
            ..rule("/v2/")
        });
        let now = SystemTime::now();
        let decide =
            |faults: &mut Faults, workspace| faults.decide("/v2/tasks", true, workspace, now).1;
        assert_eq!(decide(&mut faults, Some(a)), FaultAction::ServerError(500));
        assert_eq!(
            decide(&mut faults, Some(Uuid::from_u128(2))),
            FaultAction::Pass
        );
        assert_eq!(decide(&mut faults, None), FaultAction::Pass);
    }
}
