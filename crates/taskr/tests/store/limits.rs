//! The shared limits' SQL (`coordination::limits::postgres`), with the clock in the test's
//! hands: the per-address window rolls over as GCRA says, concurrent attempts never get past
//! the burst, the throttle waits exactly as the in-memory one, keys are stored only as HMACs,
//! and rows that no longer limit anything are pruned (also while a flood is going on).
//! PostgreSQL only: with SQLite these limits live in memory (unit tests in the crate).

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use taskr::accounts::{LoginThrottle, ThrottlePolicy};
use taskr::coordination::limits::postgres::{PgLimits, PRUNE_EVERY};
use taskr::crypto::{Cipher, KeyMaterial};

use crate::harness::FreshDatabase;

/// A moment far from zero, so that "now minus a span" stays positive.
const T0: i64 = 1_700_000_000_000;

/// Runs `test` with limits of `per_minute` and `policy` on a fresh, migrated database.
async fn with_limits<F, Fut>(per_minute: u32, policy: ThrottlePolicy, test: F)
where
    F: FnOnce(Arc<PgLimits>, PgPool) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = FreshDatabase::create().await else {
        return;
    };
    // Opening the store runs the migrations.
    drop(taskr::store::connect(&db.url).await.unwrap());
    let pool = PgPool::connect(db.url.expose()).await.unwrap();
    let limits = Arc::new(PgLimits::new(
        pool.clone(),
        NonZeroU32::new(per_minute).unwrap(),
        policy,
        Cipher::new(&KeyMaterial::generate()),
    ));
    let outcome = tokio::spawn(test(limits, pool.clone())).await;
    pool.close().await;
    db.drop_it().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn rows(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn hits(limits: &PgLimits, address: &str, now: i64, n: usize) -> Vec<bool> {
    let mut answers = Vec::new();
    for _ in 0..n {
        answers.push(limits.hit_address(address, now).await.unwrap());
    }
    answers
}

#[tokio::test]
async fn an_address_gets_its_burst_then_one_attempt_per_interval_as_the_window_rolls() {
    // 3 a minute: a burst of 3, then one every 20 s.
    with_limits(3, ThrottlePolicy::default(), |limits, _| async move {
        let a = "192.0.2.1";
        assert_eq!(hits(&limits, a, T0, 4).await, [true, true, true, false]);
        assert!(
            limits.hit_address("192.0.2.2", T0).await.unwrap(),
            "another address has its own budget"
        );
        assert!(!limits.hit_address(a, T0 + 19_999).await.unwrap());
        assert_eq!(
            hits(&limits, a, T0 + 20_000, 2).await,
            [true, false],
            "one attempt back after one interval"
        );
        // Refused attempts cost nothing: the whole burst is back one minute after the last
        // attempt let through.
        assert_eq!(
            hits(&limits, a, T0 + 80_000, 4).await,
            [true, true, true, false]
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_attempts_from_one_address_never_get_past_the_burst() {
    with_limits(5, ThrottlePolicy::default(), |limits, _| async move {
        let attempts: Vec<_> = (0..40)
            .map(|_| {
                let limits = limits.clone();
                tokio::spawn(async move { limits.hit_address("198.51.100.7", T0).await.unwrap() })
            })
            .collect();
        let mut allowed = 0;
        for attempt in attempts {
            allowed += usize::from(attempt.await.unwrap());
        }
        assert_eq!(allowed, 5);
    })
    .await;
}

#[tokio::test]
async fn the_throttle_waits_exactly_as_the_in_memory_throttle_does() {
    let policy = ThrottlePolicy::default();
    let memory = LoginThrottle::new(policy.clone());
    with_limits(100, policy, |limits, _| async move {
        for failures in 1..=16u32 {
            limits.record_failure("account:alice", T0).await.unwrap();
            let wait = limits
                .throttle_wait("account:alice", T0)
                .await
                .unwrap()
                .unwrap_or(Duration::ZERO);
            assert_eq!(wait, memory.delay_after(failures), "after {failures}");
        }
        assert_eq!(
            limits
                .throttle_wait("account:alice", T0 + 300_000)
                .await
                .unwrap(),
            None,
            "the longest wait is 5 minutes"
        );
        assert_eq!(
            limits.throttle_wait("device:alice", T0).await.unwrap(),
            None,
            "the known device's count is its own"
        );
    })
    .await;
}

#[tokio::test]
async fn a_success_clears_the_throttle_and_a_forgotten_key_starts_over() {
    let policy = ThrottlePolicy {
        free_failures: 1,
        ..Default::default()
    };
    let forget = i64::try_from(policy.forget_after.as_millis()).unwrap();
    with_limits(100, policy, |limits, _| async move {
        for _ in 0..3 {
            limits.record_failure("account:bob", T0).await.unwrap();
        }
        assert_eq!(
            limits.throttle_wait("account:bob", T0).await.unwrap(),
            Some(Duration::from_secs(2))
        );
        limits.record_success("account:bob").await.unwrap();
        assert_eq!(limits.throttle_wait("account:bob", T0).await.unwrap(), None);

        for _ in 0..3 {
            limits.record_failure("account:bob", T0).await.unwrap();
        }
        // An hour later the old failures are forgotten: this is the first again (free).
        limits
            .record_failure("account:bob", T0 + forget)
            .await
            .unwrap();
        assert_eq!(
            limits
                .throttle_wait("account:bob", T0 + forget)
                .await
                .unwrap(),
            None
        );
        limits
            .record_failure("account:bob", T0 + forget)
            .await
            .unwrap();
        assert_eq!(
            limits
                .throttle_wait("account:bob", T0 + forget)
                .await
                .unwrap(),
            Some(Duration::from_secs(1)),
            "the second failure waits the first delay"
        );
    })
    .await;
}

#[tokio::test]
async fn throttle_keys_are_stored_only_as_hmacs() {
    with_limits(100, ThrottlePolicy::default(), |limits, pool| async move {
        limits
            .record_failure("account:my-password-typed-as-a-name", T0)
            .await
            .unwrap();
        let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key_hash FROM login_throttle")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].len(), 32, "an HMAC-SHA256");
        assert!(!String::from_utf8_lossy(&stored[0]).contains("my-password"));
    })
    .await;
}

#[tokio::test]
async fn pruning_deletes_exactly_the_rows_that_no_longer_limit_anything() {
    let policy = ThrottlePolicy::default();
    let forget = i64::try_from(policy.forget_after.as_millis()).unwrap();
    with_limits(3, policy, |limits, pool| async move {
        // An interval is 20 s: "early" is whole again at T0 + 20 s, "late" at T0 + 70 s.
        limits.hit_address("192.0.2.10", T0).await.unwrap();
        limits.hit_address("192.0.2.11", T0 + 50_000).await.unwrap();
        limits.record_failure("account:old", T0).await.unwrap();
        limits
            .record_failure("account:recent", T0 + 50_000)
            .await
            .unwrap();
        assert_eq!(limits.prune_expired(T0 + 19_999).await.unwrap(), 0);
        assert_eq!(limits.prune_expired(T0 + 30_000).await.unwrap(), 1);
        assert_eq!(rows(&pool, "auth_rate_limits").await, 1);
        assert_eq!(
            hits(&limits, "192.0.2.11", T0 + 50_000, 3).await,
            [true, true, false],
            "the kept row still counts"
        );
        assert_eq!(limits.prune_expired(T0 + forget).await.unwrap(), 2);
        let kept: Vec<i64> = sqlx::query_scalar("SELECT last_failure_ms FROM login_throttle")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(kept, [T0 + 50_000], "the recent account's failure is kept");
    })
    .await;
}

#[tokio::test]
async fn a_flood_from_many_addresses_is_pruned_while_it_goes_on() {
    // 60 a minute: each address's row stops limiting one second after its attempt.
    with_limits(60, ThrottlePolicy::default(), |limits, pool| async move {
        let flood = 3_000;
        for n in 0..flood {
            let address = format!("10.{}.{}.{}", n / 65_536, (n / 256) % 256, n % 256);
            let now = T0 + i64::from(n) * 10;
            assert!(limits.hit_address(&address, now).await.unwrap());
        }
        // Alive at the end: the last 100 (one second's worth); besides those, at most what
        // arrived since the last prune.
        let left = rows(&pool, "auth_rate_limits").await;
        let bound = 100 + i64::try_from(PRUNE_EVERY).unwrap();
        assert!(
            left <= bound,
            "{left} rows after a flood of {flood}, more than {bound}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_upkeep_holds_the_throttle_to_its_capacity_keeping_the_newest() {
    let policy = ThrottlePolicy {
        capacity: 10,
        ..Default::default()
    };
    with_limits(100, policy, |limits, pool| async move {
        for n in 0..25 {
            limits
                .record_failure(&format!("account:user{n}"), T0 + n)
                .await
                .unwrap();
        }
        limits.prune(T0 + 25).await.unwrap();
        let kept: Vec<i64> = sqlx::query_scalar(
            "SELECT last_failure_ms - $1 FROM login_throttle ORDER BY last_failure_ms",
        )
        .bind(T0)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(kept, (15..25).collect::<Vec<i64>>());
    })
    .await;
}
