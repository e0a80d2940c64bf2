//! One instance SIGKILLed while 300 task changes stream from the sandbox through nginx to two
//! instances: every delivery Taskr acknowledged is in the inbox, each once; every change is in
//! the activity feed exactly once; and the cache ends equal to Attio.
//!
//! Why nothing is applied twice even around the kill: nginx passes a POST to the other
//! instance only when its connection failed (no `non_idempotent` in `proxy_next_upstream`), a
//! delivery cut mid-way gets a 502 and is sent again with the same `Idempotency-Key` (one inbox
//! row per key), and activity rows are unique per (inbox row, event index).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use super::cluster::{loopback, skipped, Cluster};

const STEPS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_an_instance_killed_mid_stream_loses_no_acknowledged_delivery_and_applies_none_twice(
) {
    if skipped("through_nginx_an_instance_killed_mid_stream_loses_no_acknowledged_delivery_and_applies_none_twice") {
        return;
    }
    let mut cluster = Cluster::start(1000).await;
    cluster.connected_user("crash", loopback(2)).await;
    assert!(
        cluster
            .sandbox
            .sandbox
            .wait_for_idle(Duration::from_secs(20))
            .await,
        "the link's own deliveries are done"
    );
    let mut db = PgConnection::connect(cluster.database.url().expose())
        .await
        .unwrap();
    let webhook_id: Uuid = sqlx::query_scalar::<_, String>("SELECT webhook_id FROM webhooks")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .parse()
        .unwrap();
    let task_acks = |sandbox: &attio_sandbox::Sandbox| {
        sandbox
            .deliveries(webhook_id)
            .iter()
            .filter(|a| a.succeeded && a.event_type.starts_with("task."))
            .count()
    };

    // 300 changes: each step creates two tasks, then completes (3 in 5) or deletes the first.
    let stream = {
        let sandbox = cluster.sandbox.sandbox.clone();
        tokio::spawn(async move {
            let mut expected = BTreeMap::new();
            for step in 0..STEPS {
                let first = sandbox.create_task_as_member(&format!("Proxy probe {step}a"));
                let second = sandbox.create_task_as_member(&format!("Proxy probe {step}b"));
                expected.insert(second, false);
                if step % 5 < 3 {
                    assert!(sandbox.complete_task(first));
                    expected.insert(first, true);
                } else {
                    assert!(sandbox.delete_task(first));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            expected
        })
    };
    // Midway, the first instance dies without a word.
    let sandbox = cluster.sandbox.sandbox.clone();
    crate::helpers::wait_until(
        "a third of the changes acknowledged",
        Duration::from_secs(30),
        || {
            let acks = task_acks(&sandbox);
            async move { acks >= STEPS }
        },
    )
    .await;
    let killed = &mut cluster.instances[0].child;
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let acked_at_kill = task_acks(&sandbox);
    assert!(
        acked_at_kill < 3 * STEPS,
        "the kill came before the stream ended ({acked_at_kill} acknowledged)"
    );
    let expected = stream.await.unwrap();
    assert!(
        sandbox.wait_for_idle(Duration::from_secs(60)).await,
        "the sandbox delivered everything through the surviving instance"
    );
    // The survivor applies the rest, including the rows the dead one had claimed (once their
    // lease runs out).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
                .fetch_one(&mut db)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} inbox rows never applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let attempts = sandbox.deliveries(webhook_id);
    let failed = attempts.iter().filter(|a| !a.succeeded).count();
    eprintln!(
        "killed after {acked_at_kill} of {} changes were acknowledged; {failed} attempts failed and were retried",
        3 * STEPS
    );
    let task_keys: BTreeSet<&str> = attempts
        .iter()
        .filter(|a| a.event_type.starts_with("task."))
        .map(|a| a.idempotency_key.as_str())
        .collect();
    assert_eq!(task_keys.len(), 3 * STEPS, "one message per change");
    let acknowledged: BTreeSet<&str> = attempts
        .iter()
        .filter(|a| a.succeeded)
        .map(|a| a.idempotency_key.as_str())
        .collect();
    assert!(
        task_keys.is_subset(&acknowledged),
        "every change was acknowledged in the end"
    );
    let stored: Vec<String> = sqlx::query("SELECT idempotency_key FROM inbox")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let stored_set: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
    assert_eq!(stored.len(), stored_set.len(), "one inbox row per key");
    let lost: Vec<_> = acknowledged.difference(&stored_set).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");

    // Each change's effect in the feed exactly once: one entry per (event type, task).
    let feed: Vec<(String, String)> =
        sqlx::query("SELECT event_type, subject_id FROM activity WHERE event_type LIKE 'task.%'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.get(0),
                    row.get::<Option<String>, _>(1).unwrap_or_default(),
                )
            })
            .collect();
    let distinct: BTreeSet<&(String, String)> = feed.iter().collect();
    assert_eq!(feed.len(), 3 * STEPS, "one feed entry per change");
    assert_eq!(distinct.len(), feed.len(), "no change in the feed twice");
    let (inbox_rows, activity_rows): (i64, i64) = (
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
            .fetch_one(&mut db)
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT COUNT(*) FROM activity")
            .fetch_one(&mut db)
            .await
            .unwrap(),
    );
    assert_eq!(inbox_rows, activity_rows, "each delivery applied once");

    // The cache equals Attio: the same probe tasks, each as complete as there.
    let sandbox_ids: BTreeSet<Uuid> = sandbox
        .task_ids_in(sandbox.workspace_id())
        .into_iter()
        .filter(|id| expected.contains_key(id))
        .collect();
    assert_eq!(
        sandbox_ids,
        expected.keys().copied().collect(),
        "the sandbox holds what the stream left"
    );
    let cached: BTreeMap<Uuid, bool> =
        sqlx::query("SELECT task_id, is_completed FROM tasks WHERE data LIKE '%Proxy probe%'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get::<String, _>(0).parse().unwrap(), row.get(1)))
            .collect();
    assert_eq!(cached, expected, "the cache equals Attio");
}
