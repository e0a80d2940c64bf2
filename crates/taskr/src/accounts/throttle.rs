//! Per-account throttling of failed log-ins, on top of the per-address limit: an attacker with
//! many addresses still gets only a few guesses at one account before each further guess has to
//! wait, and the wait doubles with every failure.
//!
//! A throttle keyed by username alone would let anyone lock anyone out by failing on purpose.
//! So a browser that has logged in to an account before carries a "known device" cookie for it
//! (an HMAC of the account key, so nothing is stored) and is throttled on its own count, which
//! only someone holding that cookie can raise. Unknown usernames are throttled exactly like
//! known ones, so the answer says nothing about whether an account exists.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the delay grows.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures allowed before any wait.
    pub free_failures: u32,
    /// The first wait; each further failure doubles it.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// A key with no failure for this long is forgotten.
    pub forget_after: Duration,
    /// At most this many keys are tracked; the stalest is dropped to make room.
    pub capacity: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            forget_after: Duration::from_secs(3600),
            capacity: 100_000,
        }
    }
}

struct Entry {
    failures: u32,
    last_failure: Instant,
    next_allowed: Instant,
}

/// Failure counts per throttle key (an account, or an account on a known device).
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when the key must wait before its next attempt is even checked.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.entries().get(key) {
            Some(entry) if entry.next_allowed > now => Err(entry.next_allowed - now),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut entries = self.entries();
        if !entries.contains_key(key) && entries.len() >= self.policy.capacity {
            let forget_before = now.checked_sub(self.policy.forget_after);
            entries.retain(|_, e| Some(e.last_failure) > forget_before);
            if entries.len() >= self.policy.capacity {
                if let Some(stalest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_failure)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&stalest);
                }
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            next_allowed: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        entry.next_allowed = now + self.delay_after(entry.failures);
    }

    pub fn record_success(&self, key: &str) {
        self.entries().remove(key);
    }

    /// The wait after `failures` failures in a row.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.policy.free_failures);
        if over == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (over - 1).min(20);
        self.policy
            .first_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay)
    }

    /// Forgets keys with no failure for `forget_after`.
    pub fn retain_recent(&self, now: Instant) {
        let forget_before = now.checked_sub(self.policy.forget_after);
        self.entries()
            .retain(|_, e| Some(e.last_failure) > forget_before);
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(capacity: usize) -> LoginThrottle {
        LoginThrottle::new(ThrottlePolicy {
            capacity,
            ..Default::default()
        })
    }

    #[test]
    fn the_wait_starts_after_the_free_failures_doubles_and_is_capped() {
        let t = throttle(10);
        let waits: Vec<u64> = (0..=16).map(|f| t.delay_after(f).as_secs()).collect();
        assert_eq!(&waits[..9], &[0, 0, 0, 0, 0, 0, 1, 2, 4]);
        assert_eq!(waits[16], 300);
    }

    #[test]
    fn a_key_waits_after_repeated_failures_and_a_success_clears_it() {
        let t = throttle(10);
        let now = Instant::now();
        for _ in 0..5 {
            assert!(t.check("alice", now).is_ok());
            t.record_failure("alice", now);
        }
        assert!(t.check("alice", now).is_ok(), "five failures are free");
        t.record_failure("alice", now);
        assert_eq!(t.check("alice", now), Err(Duration::from_secs(1)));
        assert!(t.check("alice", now + Duration::from_secs(1)).is_ok());
        assert!(t.check("bob", now).is_ok(), "other keys are untouched");
        t.record_success("alice");
        assert!(t.check("alice", now).is_ok());
    }

    #[test]
    fn tracking_is_bounded_and_forgets_old_keys() {
        let t = throttle(3);
        let start = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            t.record_failure(key, start + Duration::from_secs(i as u64));
        }
        assert_eq!(t.len(), 3, "the stalest key made room");
        t.retain_recent(start + Duration::from_secs(3 + 3600));
        assert_eq!(t.len(), 0);
    }
}
