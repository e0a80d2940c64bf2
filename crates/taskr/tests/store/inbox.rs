//! The webhook inbox (insert, claim with leases exclusive per workspace, apply and retry only
//! while the claim holds, defer and wake, health, purge) and the activity feed.

use std::collections::HashSet;
use std::sync::Arc;

use taskr::store::{
    inbox_lease, ActivityQuery, AppliedBatch, ClaimWrite, NewActivity, Store, WorkspaceId,
};
use uuid::Uuid;

use crate::fixtures::{delivery, linked, member, task, workspace_id};

on_both_backends!(
    a_delivery_is_stored_once_per_idempotency_key,
    batches_of_a_few_hundred_rows_are_stored_applied_and_put_back_whole,
    a_claim_leases_due_rows_until_the_lease_runs_out,
    concurrent_claims_never_take_the_same_row,
    released_leases_make_rows_due_at_once,
    applying_a_batch_updates_the_cache_and_feed_and_marks_its_rows_done,
    a_batch_for_a_workspace_nobody_links_only_marks_its_rows_done,
    a_retried_row_waits_and_reports_its_error,
    deferring_a_workspace_spares_leased_rows_and_waking_makes_rows_due,
    health_counts_only_late_rows_of_the_workspace,
    purging_forgets_only_applied_rows_received_before_the_cut,
    activity_comes_newest_first_in_pages_filtered_by_type_with_its_task,
    two_claimers_never_hold_rows_of_one_workspace_at_once,
    different_workspaces_are_claimed_by_different_holders_in_parallel,
    an_expired_claim_taken_over_cannot_apply_or_put_rows_back,
    rows_of_a_holder_are_claimable_once_its_lease_ends_unless_it_renews,
);

const LEASE: i64 = 1_000;
/// Two instances' holder ids.
const A: &str = "instance-a";
const B: &str = "instance-b";

fn activity(inbox_id: i64, index: i64, event_type: &str, subject: Option<Uuid>) -> NewActivity {
    NewActivity {
        inbox_id,
        event_index: index,
        event_type: event_type.to_owned(),
        actor_type: Some("workspace-member".to_owned()),
        actor_id: Some("actor".to_owned()),
        subject_kind: subject.map(|_| "task".to_owned()),
        subject_id: subject.map(|s| s.to_string()),
        occurred_ms: 1000 + index,
        event: None,
    }
}

async fn a_delivery_is_stored_once_per_idempotency_key(store: Arc<dyn Store>) {
    let ws = workspace_id();
    assert!(store.inbox_insert(&delivery("a", ws, 10)).await.unwrap());
    assert!(!store.inbox_insert(&delivery("a", ws, 11)).await.unwrap());
    let inserted = store
        .inbox_insert_many(&[
            delivery("a", ws, 12),
            delivery("b", ws, 12),
            delivery("c", ws, 12),
        ])
        .await
        .unwrap();
    assert_eq!(inserted, vec![false, true, true]);
    // A key twice in one batch: the first delivery carrying it is stored, the second is a
    // repeat; rows keep the batch's order.
    let inserted = store
        .inbox_insert_many(&[
            delivery("d", ws, 13),
            delivery("d", ws, 14),
            delivery("b", ws, 14),
            delivery("e", ws, 15),
        ])
        .await
        .unwrap();
    assert_eq!(inserted, vec![true, false, false, true]);
    let claimed = store.inbox_claim(A, 100, LEASE, 10).await.unwrap();
    let keys: Vec<_> = claimed.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(keys, vec!["a", "b", "c", "d", "e"]);
    assert_eq!(claimed[3].received_ms, 13);
    assert_eq!(claimed[0].body, b"{\"key\":\"a\"}");
    assert_eq!(claimed[0].received_ms, 10);
    assert_eq!(claimed[0].workspace_id, ws);
    assert_eq!(claimed[0].attempts, 0);
}

/// SQLite writes a batch in several multi-row statements (up to 64 rows each); what a caller
/// sees must not depend on where one statement ends and the next begins.
async fn batches_of_a_few_hundred_rows_are_stored_applied_and_put_back_whole(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    store
        .inbox_insert(&delivery("seen-before", ws.id, 1))
        .await
        .unwrap();
    // 200 deliveries: a key repeated across statement boundaries (0 and 70, 5 and 199), and
    // one stored by an earlier batch.
    let keys: Vec<String> = (0..200)
        .map(|i| match i {
            70 => "k0".to_owned(),
            199 => "k5".to_owned(),
            130 => "seen-before".to_owned(),
            i => format!("k{i}"),
        })
        .collect();
    let rows: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| delivery(key, ws.id, 10 + i as i64))
        .collect();
    let inserted = store.inbox_insert_many(&rows).await.unwrap();
    let expected: Vec<bool> = (0..200).map(|i| ![70, 130, 199].contains(&i)).collect();
    assert_eq!(inserted, expected);

    let claimed = store.inbox_claim(A, 1_000, LEASE, 500).await.unwrap();
    assert_eq!(claimed.len(), 198, "197 new rows and the one stored before");
    let stored: Vec<&str> = claimed[1..]
        .iter()
        .map(|r| r.idempotency_key.as_str())
        .collect();
    let first_seen: Vec<&str> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| expected[*i])
        .map(|(_, k)| k.as_str())
        .collect();
    assert_eq!(stored, first_seen, "rows keep the batch's order");
    assert_eq!(
        claimed[71].received_ms,
        10 + 71,
        "the first delivery of a key is kept"
    );

    // Apply 150 rows (with 300 feed entries) and put the other 48 back.
    let (done, back) = claimed.split_at(150);
    let batch = AppliedBatch {
        workspace_id: ws.id,
        activities: done
            .iter()
            .flat_map(|r| {
                [
                    activity(r.id, 0, "note.created", None),
                    activity(r.id, 1, "note.deleted", None),
                ]
            })
            .collect(),
        done: done.iter().map(|r| r.id).collect(),
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &batch, 2_000).await.unwrap(),
        ClaimWrite::Written
    );
    let back_ids: Vec<i64> = back.iter().map(|r| r.id).collect();
    assert_eq!(
        store
            .inbox_retry(A, ws.id, &back_ids, 9_000, "later")
            .await
            .unwrap(),
        ClaimWrite::Written
    );
    let backlog = store.inbox_backlog(ws.id).await.unwrap();
    assert_eq!((backlog.waiting, backlog.failing), (48, 48));
    let feed = store
        .activity(
            ws.id,
            &ActivityQuery {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(feed.total, 300);
    // Newest first: the last row's second event, then its first.
    assert_eq!(
        (
            feed.entries[0].event_type.as_str(),
            feed.entries[1].event_type.as_str()
        ),
        ("note.deleted", "note.created")
    );
    assert!(feed.entries[0].id > feed.entries[1].id);
    let again = store.inbox_claim(A, 9_000, LEASE, 500).await.unwrap();
    let again_ids: Vec<i64> = again.iter().map(|r| r.id).collect();
    assert_eq!(
        again_ids, back_ids,
        "exactly the rows put back come due again"
    );
    assert!(again.iter().all(|r| r.attempts == 1));
}

async fn a_claim_leases_due_rows_until_the_lease_runs_out(store: Arc<dyn Store>) {
    let ws = workspace_id();
    assert_eq!(store.inbox_next_due().await.unwrap(), None);
    for (key, at) in [("a", 10), ("b", 20), ("c", 30), ("later", 500)] {
        store.inbox_insert(&delivery(key, ws, at)).await.unwrap();
    }
    assert_eq!(store.inbox_next_due().await.unwrap(), Some(10));
    let first = store.inbox_claim(A, 100, LEASE, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first[0].id < first[1].id, "oldest first");
    assert!(
        store
            .inbox_claim(A, 100, LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "the workspace's third row waits while rows of it are leased, even for the same holder"
    );
    assert_eq!(
        store.inbox_next_due().await.unwrap(),
        Some(100 + LEASE),
        "its rows come due when the workspace's leases end"
    );
    let after_lease = store.inbox_claim(B, 100 + LEASE, LEASE, 10).await.unwrap();
    let ids: HashSet<i64> = after_lease.iter().map(|r| r.id).collect();
    assert_eq!(
        ids.len(),
        4,
        "expired leases and the rows now due are all claimable, by another holder too"
    );
}

async fn concurrent_claims_never_take_the_same_row(store: Arc<dyn Store>) {
    // Six instances drain 60 rows of 12 workspaces, claiming 4 rows at a time; each records
    // the workspaces it holds, and no workspace may be held by two at once.
    let workspaces: Vec<WorkspaceId> = (0..12).map(|_| workspace_id()).collect();
    let rows: Vec<_> = (0..60)
        .map(|i| delivery(&format!("d{i}"), workspaces[i as usize % 12], i))
        .collect();
    store.inbox_insert_many(&rows).await.unwrap();
    let held = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let claimers = (0..6).map(|n| {
        let (store, held, workspaces) = (store.clone(), held.clone(), workspaces.clone());
        tokio::spawn(async move {
            let me = format!("instance-{n}");
            let mut mine = Vec::new();
            for _ in 0..10_000 {
                if pending(store.as_ref(), &workspaces).await == 0 {
                    return mine;
                }
                let batch = store.inbox_claim(&me, 1_000, 60_000, 4).await.unwrap();
                let mut by_ws: std::collections::BTreeMap<WorkspaceId, Vec<i64>> =
                    Default::default();
                for row in batch {
                    mine.push(row.id);
                    by_ws.entry(row.workspace_id).or_default().push(row.id);
                }
                for ws in by_ws.keys() {
                    let before = held.lock().unwrap().insert(*ws, me.clone());
                    assert_eq!(
                        before, None,
                        "{ws} claimed by {me} while {before:?} held it"
                    );
                }
                tokio::task::yield_now().await;
                for (ws, done) in by_ws {
                    // Off the books first: another claim can only succeed once the lease goes.
                    held.lock().unwrap().remove(&ws);
                    let batch = AppliedBatch {
                        workspace_id: ws,
                        done,
                        ..Default::default()
                    };
                    let written = store.inbox_apply(&me, &batch, 1_000).await.unwrap();
                    assert_eq!(written, ClaimWrite::Written);
                    assert!(store.lease_release(&inbox_lease(ws), &me).await.unwrap());
                }
            }
            panic!("{me} never saw the inbox drained");
        })
    });
    let mut seen = HashSet::new();
    for claimer in claimers.collect::<Vec<_>>() {
        for id in claimer.await.unwrap() {
            assert!(seen.insert(id), "row {id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 60);
}

/// Pending rows of these workspaces.
async fn pending(store: &dyn Store, workspaces: &[WorkspaceId]) -> u64 {
    let mut total = 0;
    for ws in workspaces {
        total += store.inbox_backlog(*ws).await.unwrap().waiting;
    }
    total
}

async fn released_leases_make_rows_due_at_once(store: Arc<dyn Store>) {
    let ws = workspace_id();
    store.inbox_insert(&delivery("a", ws, 10)).await.unwrap();
    store.inbox_insert(&delivery("b", ws, 10)).await.unwrap();
    assert_eq!(store.inbox_claim(A, 100, LEASE, 10).await.unwrap().len(), 2);
    assert_eq!(store.inbox_release_leases().await.unwrap(), 2);
    assert_eq!(
        store.lease_holder(&inbox_lease(ws), 101).await.unwrap(),
        None
    );
    assert_eq!(store.inbox_claim(B, 101, LEASE, 10).await.unwrap().len(), 2);
}

async fn applying_a_batch_updates_the_cache_and_feed_and_marks_its_rows_done(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let old = task(ws.id, "old", false, "2024-01-01", &[]);
    store
        .replace_workspace_cache(ws.id, &[], std::slice::from_ref(&old), 1)
        .await
        .unwrap();
    store.inbox_insert(&delivery("a", ws.id, 10)).await.unwrap();
    store.inbox_insert(&delivery("b", ws.id, 11)).await.unwrap();
    let claimed = store.inbox_claim(A, 100, LEASE, 10).await.unwrap();
    let new = task(ws.id, "new", false, "2024-01-02", &[]);
    let ann = member(ws.id, Uuid::new_v4(), "Ann");
    let batch = AppliedBatch {
        workspace_id: ws.id,
        upserts: vec![new.clone()],
        deletions: vec![old.id.task_id],
        members: Some(vec![ann.clone()]),
        activities: vec![
            activity(claimed[0].id, 0, "task.created", Some(new.id.task_id)),
            activity(claimed[1].id, 0, "task.deleted", Some(old.id.task_id)),
        ],
        done: claimed.iter().map(|r| r.id).collect(),
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &batch, 200).await.unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(store.task(ws.id, new.id.task_id).await.unwrap(), Some(new));
    assert!(store.task(ws.id, old.id.task_id).await.unwrap().is_none());
    assert_eq!(store.members(ws.id).await.unwrap(), vec![ann]);
    let backlog = store.inbox_backlog(ws.id).await.unwrap();
    assert_eq!((backlog.waiting, backlog.failing), (0, 0));
    assert!(store
        .inbox_claim(A, 100 + LEASE, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.inbox_next_due().await.unwrap(), None);

    // Applying the same batch again (a retry after a lost answer) adds nothing to the feed.
    assert_eq!(
        store.inbox_apply(A, &batch, 300).await.unwrap(),
        ClaimWrite::Written
    );
    let query = ActivityQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.activity(ws.id, &query).await.unwrap().total, 2);
}

async fn a_batch_for_a_workspace_nobody_links_only_marks_its_rows_done(store: Arc<dyn Store>) {
    let gone = workspace_id();
    store.inbox_insert(&delivery("a", gone, 10)).await.unwrap();
    let claimed = store.inbox_claim(A, 100, LEASE, 10).await.unwrap();
    let batch = AppliedBatch {
        workspace_id: gone,
        upserts: vec![task(gone, "orphan", false, "2024-01-01", &[])],
        activities: vec![activity(claimed[0].id, 0, "task.created", None)],
        done: vec![claimed[0].id],
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &batch, 200).await.unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(store.task_count(gone).await.unwrap(), 0);
    assert_eq!(store.inbox_backlog(gone).await.unwrap().waiting, 0);
}

async fn a_retried_row_waits_and_reports_its_error(store: Arc<dyn Store>) {
    let ws = workspace_id();
    store.inbox_insert(&delivery("a", ws, 10)).await.unwrap();
    store.inbox_insert(&delivery("b", ws, 10)).await.unwrap();
    let claimed = store.inbox_claim(A, 100, LEASE, 1).await.unwrap();
    let retried = store
        .inbox_retry(A, ws, &[claimed[0].id], 5_000, "Attio answered 503")
        .await
        .unwrap();
    assert_eq!(retried, ClaimWrite::Written);
    let backlog = store.inbox_backlog(ws).await.unwrap();
    assert_eq!((backlog.waiting, backlog.failing), (2, 1));
    assert_eq!(backlog.last_error.as_deref(), Some("Attio answered 503"));
    let now = store.inbox_claim(A, 101, LEASE, 10).await.unwrap();
    assert_eq!(now.len(), 1, "only the row that was not put back");
    assert_ne!(now[0].id, claimed[0].id);
    // At 5,000 the put-back row is due, and the other's lease has run out.
    let later = store.inbox_claim(A, 5_000, LEASE, 10).await.unwrap();
    assert_eq!(later.len(), 2);
    assert_eq!((later[0].id, later[0].attempts), (claimed[0].id, 1));
    assert!(store
        .inbox_backlog(workspace_id())
        .await
        .unwrap()
        .last_error
        .is_none());
}

async fn deferring_a_workspace_spares_leased_rows_and_waking_makes_rows_due(store: Arc<dyn Store>) {
    let (ws, other) = (workspace_id(), workspace_id());
    for key in ["leased", "a", "b"] {
        store.inbox_insert(&delivery(key, ws, 10)).await.unwrap();
    }
    store
        .inbox_insert(&delivery("other", other, 10))
        .await
        .unwrap();
    let leased = store.inbox_claim(A, 100, LEASE, 1).await.unwrap();
    assert_eq!(leased[0].idempotency_key, "leased");
    assert_eq!(store.inbox_defer(ws, 9_000, 100).await.unwrap(), 2);
    let due: Vec<_> = store.inbox_claim(A, 100, LEASE, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].workspace_id, other,
        "another workspace's row is not deferred"
    );
    // At 2,000 the leases of the first claims ran out; the deferred rows still wait.
    let again = store.inbox_claim(A, 2_000, LEASE, 10).await.unwrap();
    let keys: HashSet<_> = again.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(keys, HashSet::from(["leased", "other"]));

    // The rows claimed again at 2,000 are applied.
    for row in &again {
        let batch = AppliedBatch {
            workspace_id: row.workspace_id,
            done: vec![row.id],
            ..Default::default()
        };
        assert_eq!(
            store.inbox_apply(A, &batch, 2_000).await.unwrap(),
            ClaimWrite::Written
        );
    }
    assert_eq!(store.inbox_wake(ws, 2_500).await.unwrap(), 2);
    assert_eq!(store.inbox_wake(ws, 2_500).await.unwrap(), 0);
    let woken = store.inbox_claim(A, 2_500, LEASE, 10).await.unwrap();
    let keys: HashSet<_> = woken.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(keys, HashSet::from(["a", "b"]));
}

async fn health_counts_only_late_rows_of_the_workspace(store: Arc<dyn Store>) {
    let (ws, other) = (workspace_id(), workspace_id());
    store
        .inbox_insert(&delivery("old", ws, 1_000))
        .await
        .unwrap();
    store
        .inbox_insert(&delivery("fresh", ws, 9_500))
        .await
        .unwrap();
    store
        .inbox_insert(&delivery("retried", ws, 9_600))
        .await
        .unwrap();
    store
        .inbox_insert(&delivery("elsewhere", other, 1_000))
        .await
        .unwrap();
    let claimed = store.inbox_claim(A, 9_700, LEASE, 10).await.unwrap();
    let retried = claimed
        .iter()
        .find(|r| r.idempotency_key == "retried")
        .unwrap();
    let put_back = store
        .inbox_retry(A, ws, &[retried.id], 20_000, "rate limited")
        .await
        .unwrap();
    assert_eq!(put_back, ClaimWrite::Written);

    let health = store.inbox_health(ws, 10_000, 2_000).await.unwrap();
    assert_eq!(
        health.waiting, 2,
        "the old row and the retried one, not the fresh one"
    );
    assert_eq!(health.oldest_received_ms, Some(1_000));
    assert_eq!(health.last_error.as_deref(), Some("rate limited"));
    assert_eq!(
        health.next_late_ms,
        Some(11_500),
        "the fresh row (received at 9,500) becomes late 2,000 ms later"
    );
    let calm = store
        .inbox_health(workspace_id(), 10_000, 2_000)
        .await
        .unwrap();
    assert_eq!(
        (
            calm.waiting,
            calm.oldest_received_ms,
            calm.last_error,
            calm.next_late_ms
        ),
        (0, None, None, None)
    );
}

async fn purging_forgets_only_applied_rows_received_before_the_cut(store: Arc<dyn Store>) {
    let ws = workspace_id();
    for (key, at) in [("old-done", 10), ("new-done", 500), ("old-pending", 10)] {
        store.inbox_insert(&delivery(key, ws, at)).await.unwrap();
    }
    let claimed = store.inbox_claim(A, 1_000, LEASE, 2).await.unwrap();
    let done = AppliedBatch {
        workspace_id: ws,
        done: claimed.iter().map(|r| r.id).collect(),
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &done, 1_000).await.unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(store.inbox_purge(100).await.unwrap(), 1);
    assert_eq!(store.inbox_purge(100).await.unwrap(), 0);
    // A purged key may come again; a kept one is still a duplicate.
    assert!(store
        .inbox_insert(&delivery("old-done", ws, 2_000))
        .await
        .unwrap());
    assert!(!store
        .inbox_insert(&delivery("new-done", ws, 2_000))
        .await
        .unwrap());
    assert_eq!(store.inbox_backlog(ws).await.unwrap().waiting, 2);
}

async fn activity_comes_newest_first_in_pages_filtered_by_type_with_its_task(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (_, other) = linked(store.as_ref(), "bob").await;
    let kept = task(ws.id, "kept", false, "2024-01-01", &[]);
    store
        .replace_workspace_cache(ws.id, &[], std::slice::from_ref(&kept), 1)
        .await
        .unwrap();
    let types = [
        "task.created",
        "task.updated",
        "task.created",
        "task.deleted",
        "note.created",
    ];
    let activities: Vec<_> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let subject = if i == 2 {
                kept.id.task_id
            } else {
                Uuid::new_v4()
            };
            activity(1, i as i64, t, Some(subject))
        })
        .collect();
    let batch = AppliedBatch {
        workspace_id: ws.id,
        activities,
        ..Default::default()
    };
    for id in [ws.id, other.id] {
        assert!(store
            .lease_acquire(&inbox_lease(id), A, 0, LEASE)
            .await
            .unwrap());
    }
    assert_eq!(
        store.inbox_apply(A, &batch, 10).await.unwrap(),
        ClaimWrite::Written
    );
    let elsewhere = AppliedBatch {
        workspace_id: other.id,
        activities: vec![activity(2, 0, "task.created", None)],
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &elsewhere, 10).await.unwrap(),
        ClaimWrite::Written
    );

    let query = |event_type: Option<&str>, limit, offset| ActivityQuery {
        event_type: event_type.map(String::from),
        limit,
        offset,
        ..Default::default()
    };
    let all = store.activity(ws.id, &query(None, 2, 0)).await.unwrap();
    assert_eq!(all.total, 5);
    let got: Vec<_> = all.entries.iter().map(|a| a.event_type.as_str()).collect();
    assert_eq!(got, vec!["note.created", "task.deleted"]);
    assert!(all.entries[0].id > all.entries[1].id);
    let created = store
        .activity(ws.id, &query(Some("task.created"), 10, 0))
        .await
        .unwrap();
    assert_eq!(created.total, 2);
    assert_eq!(
        created.entries[0].task.as_ref(),
        Some(&kept),
        "joined with its cached task"
    );
    assert_eq!(created.entries[1].task, None, "a task that is not cached");
    assert_eq!(created.entries[0].occurred_ms, 1002);
    assert_eq!(created.entries[0].actor_id.as_deref(), Some("actor"));
    let next = store
        .activity(ws.id, &query(Some("task.created"), 1, 1))
        .await
        .unwrap();
    assert_eq!(next.entries.len(), 1);
    assert_eq!(next.entries[0].id, created.entries[1].id);
    assert_eq!(
        store
            .activity(other.id, &query(None, 10, 0))
            .await
            .unwrap()
            .total,
        1
    );
}

async fn two_claimers_never_hold_rows_of_one_workspace_at_once(store: Arc<dyn Store>) {
    let ws = workspace_id();
    for (key, at) in [("a", 10), ("b", 20), ("c", 30)] {
        store.inbox_insert(&delivery(key, ws, at)).await.unwrap();
    }
    let mine = store.inbox_claim(A, 100, LEASE, 1).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        store.lease_holder(&inbox_lease(ws), 100).await.unwrap(),
        Some(A.to_owned())
    );
    assert!(
        store
            .inbox_claim(B, 100, LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "B may not take the workspace's other due rows while A holds some"
    );
    // A finishes its batch and gives the workspace up: B takes the rest at once.
    let batch = AppliedBatch {
        workspace_id: ws,
        done: vec![mine[0].id],
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &batch, 150).await.unwrap(),
        ClaimWrite::Written
    );
    assert!(store.lease_release(&inbox_lease(ws), A).await.unwrap());
    let theirs = store.inbox_claim(B, 160, LEASE, 10).await.unwrap();
    let keys: Vec<_> = theirs.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(keys, vec!["b", "c"]);
}

async fn different_workspaces_are_claimed_by_different_holders_in_parallel(store: Arc<dyn Store>) {
    let (one, two) = (workspace_id(), workspace_id());
    store
        .inbox_insert(&delivery("one-a", one, 10))
        .await
        .unwrap();
    store
        .inbox_insert(&delivery("two-a", two, 20))
        .await
        .unwrap();
    store
        .inbox_insert(&delivery("one-b", one, 30))
        .await
        .unwrap();
    let a = store.inbox_claim(A, 100, LEASE, 1).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].workspace_id, one);
    assert_eq!(
        store.lease_holder(&inbox_lease(two), 100).await.unwrap(),
        None,
        "a lease that brought no rows (the limit came first) is given back"
    );
    let b = store.inbox_claim(B, 100, LEASE, 10).await.unwrap();
    let keys: Vec<_> = b.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["two-a"],
        "B takes the other workspace, not one-b"
    );
    assert_eq!(
        store.lease_holder(&inbox_lease(two), 100).await.unwrap(),
        Some(B.to_owned())
    );
}

async fn an_expired_claim_taken_over_cannot_apply_or_put_rows_back(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    store.inbox_insert(&delivery("a", ws.id, 10)).await.unwrap();
    let stale = store.inbox_claim(A, 100, LEASE, 10).await.unwrap();
    // A stalls past its lease; B takes the workspace and its rows over.
    let fresh = store.inbox_claim(B, 100 + LEASE, LEASE, 10).await.unwrap();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].id, stale[0].id);
    let older = task(ws.id, "older read", false, "2024-01-01", &[]);
    let late = AppliedBatch {
        workspace_id: ws.id,
        upserts: vec![older.clone()],
        activities: vec![activity(stale[0].id, 0, "task.updated", None)],
        done: vec![stale[0].id],
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(A, &late, 1_200).await.unwrap(),
        ClaimWrite::LeaseLost
    );
    assert_eq!(
        store.task(ws.id, older.id.task_id).await.unwrap(),
        None,
        "nothing of the refused batch is written"
    );
    assert_eq!(store.inbox_backlog(ws.id).await.unwrap().waiting, 1);
    let retried = store
        .inbox_retry(A, ws.id, &[stale[0].id], 9_000, "late")
        .await
        .unwrap();
    assert_eq!(retried, ClaimWrite::LeaseLost);
    assert_eq!(store.inbox_backlog(ws.id).await.unwrap().failing, 0);
    assert!(!store.inbox_renew(A, ws.id, 1_200, LEASE).await.unwrap());
    // B's claim is intact and commits.
    let current = AppliedBatch {
        workspace_id: ws.id,
        done: vec![fresh[0].id],
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply(B, &current, 1_300).await.unwrap(),
        ClaimWrite::Written
    );
    assert_eq!(store.inbox_backlog(ws.id).await.unwrap().waiting, 0);
}

async fn rows_of_a_holder_are_claimable_once_its_lease_ends_unless_it_renews(
    store: Arc<dyn Store>,
) {
    let ws = workspace_id();
    store.inbox_insert(&delivery("a", ws, 10)).await.unwrap();
    assert_eq!(store.inbox_claim(A, 100, LEASE, 10).await.unwrap().len(), 1);
    assert!(store.inbox_renew(A, ws, 900, LEASE).await.unwrap());
    assert!(
        store
            .inbox_claim(B, 100 + LEASE, LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "renewed at 900: the rows stay A's until 1,900"
    );
    assert!(store
        .inbox_claim(B, 1_899, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    let taken = store.inbox_claim(B, 1_900, LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1, "A stopped renewing: B takes its rows over");
    assert_eq!(
        store.lease_holder(&inbox_lease(ws), 1_900).await.unwrap(),
        Some(B.to_owned())
    );
}
