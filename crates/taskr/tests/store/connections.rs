//! Connections (put and replace, compare-and-set token updates, needs-reconnect, delete) and
//! their single-use OAuth flows.

use std::sync::Arc;

use taskr::store::{
    ConnectionFlow, ConnectionRecord, ConnectionStatus, Owner, SealedSlot, Store, StoreError,
    TokenUpdate, UserId,
};

use crate::fixtures::{provider, sealed, user, workspace_id};
use crate::harness::{run_on_postgres_with_sql, run_on_sqlite_with_sql, RawSql};

on_both_backends!(
    a_connection_is_put_read_and_replaced_under_the_same_id,
    each_user_sees_their_own_connections_and_their_workspaces,
    token_updates_only_apply_to_the_version_they_were_made_from,
    many_concurrent_readers_see_each_committed_write_and_nothing_torn,
    a_connection_that_needs_reconnecting_says_why_until_new_tokens_arrive,
    a_deleted_connection_is_gone,
    a_connection_flow_is_taken_once,
);

fn record(name: &str, owner: Owner, created_by: UserId, value: &[u8]) -> ConnectionRecord {
    ConnectionRecord {
        id: 0,
        provider: provider(name),
        owner,
        kind: "oauth2".to_owned(),
        value: sealed("k1", value),
        refresh: Some(sealed("k1", b"refresh")),
        expires_at: Some(1_000),
        scope: Some("read".to_owned()),
        hint: "abcd".to_owned(),
        status: ConnectionStatus::Active,
        status_reason: None,
        created_by,
        created_at: 10,
        updated_at: 10,
        version: 0,
    }
}

fn update(value: &[u8], refresh: Option<&[u8]>) -> TokenUpdate {
    TokenUpdate {
        value: sealed("k1", value),
        refresh: refresh.map(|r| sealed("k1", r)),
        expires_at: Some(2_000),
        scope: None,
        hint: "wxyz".to_owned(),
    }
}

async fn a_connection_is_put_read_and_replaced_under_the_same_id(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let owner = Owner::user(alice.id);
    let first = store
        .put_connection(&record("sequencer", owner.clone(), alice.id, b"v1"))
        .await
        .unwrap();
    assert!(first.id > 0);
    assert_eq!(first.version, 1);
    let read = store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.value, sealed("k1", b"v1"));
    assert_eq!(read.refresh, Some(sealed("k1", b"refresh")));
    assert_eq!(
        (read.expires_at, read.scope.as_deref()),
        (Some(1_000), Some("read"))
    );
    assert_eq!(read.status, ConnectionStatus::Active);

    let mut again = record("sequencer", owner.clone(), alice.id, b"v2");
    again.refresh = None;
    again.kind = "secret".to_owned();
    let second = store.put_connection(&again).await.unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.version, 2);
    assert_eq!(second.kind, "secret");
    assert_eq!(second.refresh, None);
    assert!(store
        .connection(&provider("other"), &owner)
        .await
        .unwrap()
        .is_none());
}

async fn each_user_sees_their_own_connections_and_their_workspaces(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let bob = user(store.as_ref(), "bob").await;
    let (acme, globex) = (workspace_id(), workspace_id());
    for (provider, owner) in [
        ("zeta", Owner::user(alice.id)),
        ("alpha", Owner::workspace(acme)),
        ("beta", Owner::user(bob.id)),
        ("gamma", Owner::workspace(globex)),
    ] {
        store
            .put_connection(&record(provider, owner, alice.id, b"v"))
            .await
            .unwrap();
    }
    let visible = |user, ws| {
        let store = store.clone();
        async move {
            store
                .connections_visible_to(user, ws)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.provider)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(visible(alice.id, Some(acme)).await, vec!["alpha", "zeta"]);
    assert_eq!(visible(alice.id, None).await, vec!["zeta"]);
    assert_eq!(visible(bob.id, Some(globex)).await, vec!["beta", "gamma"]);
}

/// More readers at once than SQLite's point-read connections (the rest read through the
/// pool): every read is a whole committed version, never older than one a reader saw before,
/// and the last write is what everyone reads after it.
async fn many_concurrent_readers_see_each_committed_write_and_nothing_torn(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let owner = Owner::user(alice.id);
    let first = store
        .put_connection(&record("sequencer", owner.clone(), alice.id, b"v1"))
        .await
        .unwrap();
    let readers: Vec<_> = (0..12)
        .map(|_| {
            let (store, owner) = (store.clone(), owner.clone());
            tokio::spawn(async move {
                let mut last = 0;
                for _ in 0..60 {
                    let read = store
                        .connection(&provider("sequencer"), &owner)
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(read.version >= last, "never an older version");
                    let expected = format!("v{}", read.version);
                    assert_eq!(read.value, sealed("k1", expected.as_bytes()), "not torn");
                    last = read.version;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut version = first.version;
    for _ in 0..20 {
        let value = format!("v{}", version + 1);
        assert!(store
            .update_tokens(first.id, version, &update(value.as_bytes(), None), 50)
            .await
            .unwrap());
        version += 1;
    }
    for reader in readers {
        reader.await.unwrap();
    }
    let read = store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.version, version);
    assert_eq!(read.value, sealed("k1", format!("v{version}").as_bytes()));
}

async fn token_updates_only_apply_to_the_version_they_were_made_from(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let owner = Owner::user(alice.id);
    let c = store
        .put_connection(&record("sequencer", owner.clone(), alice.id, b"v1"))
        .await
        .unwrap();
    assert!(store
        .update_tokens(c.id, c.version, &update(b"v2", None), 50)
        .await
        .unwrap());
    // A second refresh made from the same version lost the race.
    assert!(!store
        .update_tokens(c.id, c.version, &update(b"v3", Some(b"r3")), 51)
        .await
        .unwrap());
    let read = store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.version, c.version + 1);
    assert_eq!(read.value, sealed("k1", b"v2"));
    assert_eq!(
        read.refresh,
        Some(sealed("k1", b"refresh")),
        "kept when none came"
    );
    assert_eq!(read.scope.as_deref(), Some("read"), "kept when none came");
    assert_eq!(
        (read.expires_at, read.hint.as_str(), read.updated_at),
        (Some(2_000), "wxyz", 50)
    );
    assert!(store
        .update_tokens(c.id, read.version, &update(b"v4", Some(b"r4")), 52)
        .await
        .unwrap());
    let read = store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.refresh, Some(sealed("k1", b"r4")));
}

async fn a_connection_that_needs_reconnecting_says_why_until_new_tokens_arrive(
    store: Arc<dyn Store>,
) {
    let alice = user(store.as_ref(), "alice").await;
    let owner = Owner::user(alice.id);
    let c = store
        .put_connection(&record("sequencer", owner.clone(), alice.id, b"v1"))
        .await
        .unwrap();
    store
        .mark_needs_reconnect(c.id, "refresh token revoked", 60)
        .await
        .unwrap();
    let read = store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, ConnectionStatus::NeedsReconnect);
    assert_eq!(read.status_reason.as_deref(), Some("refresh token revoked"));
    assert_eq!((read.version, read.updated_at), (c.version + 1, 60));
    assert!(!store
        .update_tokens(c.id, c.version, &update(b"stale", None), 61)
        .await
        .unwrap());
    assert!(store
        .update_tokens(c.id, read.version, &update(b"v2", None), 62)
        .await
        .unwrap());
    let read = store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.status, read.status_reason),
        (ConnectionStatus::Active, None)
    );
}

async fn a_deleted_connection_is_gone(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let owner = Owner::workspace(workspace_id());
    store
        .put_connection(&record("sequencer", owner.clone(), alice.id, b"v1"))
        .await
        .unwrap();
    let deleted = store
        .delete_connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.owner, owner);
    assert!(store
        .connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .delete_connection(&provider("sequencer"), &owner)
        .await
        .unwrap()
        .is_none());
}

async fn a_connection_flow_is_taken_once(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let flow = ConnectionFlow {
        state_hash: b"state".to_vec(),
        session_hash: b"session".to_vec(),
        user_id: alice.id,
        provider: provider("sequencer"),
        owner: Owner::workspace(workspace_id()),
        verifier: sealed("k1", b"pkce verifier"),
        return_to: "/connections".to_owned(),
        expires_at: 900,
    };
    store.put_connection_flow(&flow).await.unwrap();
    let taken = store.take_connection_flow(b"state").await.unwrap().unwrap();
    assert_eq!(taken.owner, flow.owner);
    assert_eq!(taken.verifier, flow.verifier);
    assert_eq!(
        (taken.session_hash, taken.return_to),
        (flow.session_hash, flow.return_to)
    );
    assert_eq!((taken.user_id, taken.expires_at), (alice.id, 900));
    assert!(store
        .take_connection_flow(b"state")
        .await
        .unwrap()
        .is_none());
}

/// A row whose provider no longer parses as a `ProviderName` (written by hand, or under other
/// rules) is reported as unreadable, naming the row and the name; it is never trusted, and
/// key rotation still re-seals its values (their context is the stored text).
async fn a_stored_provider_that_no_longer_parses_is_reported_not_trusted(
    store: Arc<dyn Store>,
    sql: RawSql,
) {
    let alice = user(store.as_ref(), "alice").await;
    let owner = Owner::user(alice.id);
    let stored = store
        .put_connection(&record("sequencer", owner.clone(), alice.id, b"v1"))
        .await
        .unwrap();
    store
        .put_connection_flow(&ConnectionFlow {
            state_hash: b"state".to_vec(),
            session_hash: b"session".to_vec(),
            user_id: alice.id,
            provider: provider("sequencer"),
            owner: owner.clone(),
            verifier: sealed("k1", b"pkce verifier"),
            return_to: "/connections".to_owned(),
            expires_at: 900,
        })
        .await
        .unwrap();
    sql.execute("UPDATE connections SET provider = 'Not A/Name'")
        .await;
    sql.execute("UPDATE connection_flows SET provider = 'Not A/Name'")
        .await;

    fn unreadable<T>(result: Result<T, StoreError>) -> String {
        match result {
            Err(StoreError::Corrupt(message)) => message,
            Err(e) => panic!("expected Corrupt, got {e:?}"),
            Ok(_) => panic!("a row with a bad provider name was read"),
        }
    }
    let message = unreadable(store.connections_visible_to(alice.id, None).await);
    assert!(
        message.contains(&format!("connection {}", stored.id))
            && message.contains("\"Not A/Name\" is not a provider name"),
        "{message}"
    );
    let message = unreadable(store.take_connection_flow(b"state").await);
    assert!(
        message.contains("\"Not A/Name\" is not a provider name"),
        "{message}"
    );

    let stale = store.sealed_values_not_under("k2").await.unwrap();
    let contexts: Vec<_> = stale
        .iter()
        .filter(|v| matches!(v.slot, SealedSlot::ConnectionValue { .. }))
        .map(|v| v.context.clone())
        .collect();
    assert_eq!(
        contexts,
        vec![taskr::store::contexts::connection(
            "Not A/Name",
            "user",
            &owner.id,
            "value"
        )]
    );
}

#[tokio::test]
async fn a_stored_provider_that_no_longer_parses_is_reported_not_trusted_on_sqlite() {
    run_on_sqlite_with_sql(a_stored_provider_that_no_longer_parses_is_reported_not_trusted).await
}

#[tokio::test]
async fn a_stored_provider_that_no_longer_parses_is_reported_not_trusted_on_postgres() {
    run_on_postgres_with_sql(a_stored_provider_that_no_longer_parses_is_reported_not_trusted).await
}
