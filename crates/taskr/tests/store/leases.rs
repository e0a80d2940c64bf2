//! Named leases: exclusive until they expire, extended by their holder, given up one by one or
//! all at once (with the holder's inbox rows), and taken by exactly one of several racers.

use std::sync::Arc;

use taskr::store::{inbox_lease, Store};

use crate::fixtures::{delivery, workspace_id};

on_both_backends!(
    a_lease_is_exclusive_until_it_expires_and_its_holder_extends_it,
    only_the_holder_renews_or_releases_a_lease,
    releasing_all_of_a_holders_leases_frees_its_inbox_rows_at_once,
    of_many_racing_for_a_free_lease_exactly_one_gets_it,
);

const TTL: i64 = 1_000;

async fn a_lease_is_exclusive_until_it_expires_and_its_holder_extends_it(store: Arc<dyn Store>) {
    assert!(store.lease_acquire("job", "a", 100, TTL).await.unwrap());
    assert!(!store.lease_acquire("job", "b", 200, TTL).await.unwrap());
    assert_eq!(
        store.lease_holder("job", 200).await.unwrap().as_deref(),
        Some("a")
    );
    // Taking it again extends it: to 1,500.
    assert!(store.lease_acquire("job", "a", 500, TTL).await.unwrap());
    assert!(
        !store.lease_acquire("job", "b", 1_200, TTL).await.unwrap(),
        "extended past 1,100"
    );
    assert_eq!(store.lease_holder("job", 1_500).await.unwrap(), None);
    assert!(
        store.lease_acquire("job", "b", 1_500, TTL).await.unwrap(),
        "expired: anyone may take it"
    );
    assert!(!store.lease_acquire("job", "a", 1_600, TTL).await.unwrap());
    assert!(
        store.lease_acquire("other", "a", 1_600, TTL).await.unwrap(),
        "leases are independent by name"
    );
}

async fn only_the_holder_renews_or_releases_a_lease(store: Arc<dyn Store>) {
    assert!(
        !store.lease_renew("job", "a", 100, TTL).await.unwrap(),
        "renewing never takes a lease that was not held"
    );
    assert_eq!(store.lease_holder("job", 100).await.unwrap(), None);
    assert!(store.lease_acquire("job", "a", 100, TTL).await.unwrap());
    assert!(store.lease_renew("job", "a", 900, TTL).await.unwrap());
    assert!(!store.lease_acquire("job", "b", 1_500, TTL).await.unwrap());
    assert!(!store.lease_renew("job", "b", 1_500, TTL).await.unwrap());
    assert!(!store.lease_release("job", "b").await.unwrap());
    assert_eq!(
        store.lease_holder("job", 1_500).await.unwrap().as_deref(),
        Some("a")
    );
    assert!(store.lease_release("job", "a").await.unwrap());
    assert!(!store.lease_release("job", "a").await.unwrap());
    assert!(!store.lease_renew("job", "a", 1_600, TTL).await.unwrap());
    assert!(
        store.lease_acquire("job", "b", 1_600, TTL).await.unwrap(),
        "a released lease is free before it would have expired"
    );
}

async fn releasing_all_of_a_holders_leases_frees_its_inbox_rows_at_once(store: Arc<dyn Store>) {
    let (ws, theirs) = (workspace_id(), workspace_id());
    store.inbox_insert(&delivery("a", ws, 10)).await.unwrap();
    store.inbox_insert(&delivery("b", ws, 20)).await.unwrap();
    store
        .inbox_insert(&delivery("c", theirs, 30))
        .await
        .unwrap();
    assert!(store
        .lease_acquire("reconciler", "a", 100, TTL)
        .await
        .unwrap());
    assert!(store.lease_acquire("sync:x", "a", 100, TTL).await.unwrap());
    assert!(store.lease_acquire("sync:y", "b", 100, TTL).await.unwrap());
    assert_eq!(
        store.inbox_claim("a", 100, 60_000, 2).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.inbox_claim("b", 100, 60_000, 10).await.unwrap().len(),
        1
    );

    assert_eq!(
        store.lease_release_all("a").await.unwrap(),
        3,
        "reconciler, sync:x and the workspace's inbox lease"
    );
    assert!(store
        .lease_acquire("reconciler", "b", 101, TTL)
        .await
        .unwrap());
    assert!(store.lease_acquire("sync:x", "b", 101, TTL).await.unwrap());
    let taken = store.inbox_claim("b", 101, 60_000, 10).await.unwrap();
    let keys: Vec<_> = taken.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["a", "b"],
        "a's rows, long before their lease would end"
    );
    assert_eq!(
        store
            .lease_holder(&inbox_lease(ws), 101)
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        store.lease_holder("sync:y", 101).await.unwrap().as_deref(),
        Some("b"),
        "another holder's leases stay"
    );
    assert_eq!(store.lease_release_all("nobody").await.unwrap(), 0);
}

async fn of_many_racing_for_a_free_lease_exactly_one_gets_it(store: Arc<dyn Store>) {
    // Expired, so every racer's upsert takes the update path, not only the insert.
    assert!(store.lease_acquire("job", "old", 0, 10).await.unwrap());
    let racers = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .lease_acquire("job", &format!("racer-{n}"), 100, TTL)
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for racer in racers.collect::<Vec<_>>() {
        won += usize::from(racer.await.unwrap());
    }
    assert_eq!(won, 1);
    assert!(store
        .lease_holder("job", 100)
        .await
        .unwrap()
        .is_some_and(|h| h.starts_with("racer-")));
}
