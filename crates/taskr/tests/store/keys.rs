//! Key rotation's view of the store: every sealed value, found by key id and re-sealed with a
//! compare-and-set.

use std::sync::Arc;

use taskr::store::{contexts, ConnectionFlow, Owner, SealedSlot, Store};

use crate::fixtures::{link, sealed, user, webhook, workspace};

on_both_backends!(every_sealed_value_is_found_by_its_key_and_resealed_once);

async fn every_sealed_value_is_found_by_its_key_and_resealed_once(store: Arc<dyn Store>) {
    assert!(store.sealed_key_ids().await.unwrap().is_empty());
    let alice = user(store.as_ref(), "alice").await;
    let ws = workspace("Acme");
    let mut alices = link(&alice, &ws, 1);
    alices.token = sealed("old-a", b"token");
    store.save_link(&ws, &alices).await.unwrap();
    store
        .insert_webhook(&webhook(ws.id, "old-b"))
        .await
        .unwrap();
    let mut connection = crate_record(&alice, ws.id);
    connection.value = sealed("old-c", b"value");
    connection.refresh = Some(sealed("current", b"refresh"));
    let connection = store.put_connection(&connection).await.unwrap();
    let flow = ConnectionFlow {
        state_hash: b"state".to_vec(),
        session_hash: b"session".to_vec(),
        user_id: alice.id,
        provider: "sequencer".to_owned(),
        owner: Owner::user(alice.id),
        verifier: sealed("old-d", b"verifier"),
        return_to: "/".to_owned(),
        expires_at: 900,
    };
    store.put_connection_flow(&flow).await.unwrap();

    assert_eq!(
        store.sealed_key_ids().await.unwrap(),
        vec!["current", "old-a", "old-b", "old-c", "old-d"]
    );
    let mut stale = store.sealed_values_not_under("current").await.unwrap();
    stale.sort_by_key(|v| v.sealed.key_id.clone());
    let slots: Vec<_> = stale
        .iter()
        .map(|v| (v.slot.clone(), v.context.clone()))
        .collect();
    let owner = ws.id.to_string();
    assert_eq!(
        slots,
        vec![
            (
                SealedSlot::AttioToken { user: alice.id.0 },
                contexts::attio_token(alice.id.0)
            ),
            (
                SealedSlot::WebhookSecret {
                    workspace: ws.id.to_string()
                },
                contexts::webhook_secret(&ws.id.to_string())
            ),
            (
                SealedSlot::ConnectionValue { id: connection.id },
                contexts::connection("sequencer", "workspace", &owner, "value")
            ),
            (
                SealedSlot::FlowVerifier {
                    state_hash: b"state".to_vec()
                },
                contexts::flow_verifier(b"state")
            ),
        ]
    );

    for value in &stale {
        let new = sealed("current", format!("resealed {}", value.context).as_bytes());
        assert!(store
            .reseal(&value.slot, &value.sealed, &new)
            .await
            .unwrap());
        // The old value is gone: a second rotation of it (or a stale one) changes nothing.
        assert!(!store
            .reseal(&value.slot, &value.sealed, &new)
            .await
            .unwrap());
    }
    assert_eq!(store.sealed_key_ids().await.unwrap(), vec!["current"]);
    assert!(store
        .sealed_values_not_under("current")
        .await
        .unwrap()
        .is_empty());
    let read = store.link(alice.id).await.unwrap().unwrap();
    assert_eq!(read.token.key_id, "current");
    let refresh = sealed("current", b"refresh");
    let slot = SealedSlot::ConnectionRefresh { id: connection.id };
    let newer = sealed("next", b"refresh");
    assert!(store.reseal(&slot, &refresh, &newer).await.unwrap());
    let read = store
        .connection("sequencer", &Owner::workspace(ws.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.refresh, Some(newer));
}

fn crate_record(
    alice: &taskr::store::User,
    ws: taskr::store::WorkspaceId,
) -> taskr::store::ConnectionRecord {
    taskr::store::ConnectionRecord {
        id: 0,
        provider: "sequencer".to_owned(),
        owner: Owner::workspace(ws),
        kind: "oauth2".to_owned(),
        value: sealed("k", b"v"),
        refresh: None,
        expires_at: None,
        scope: None,
        hint: String::new(),
        status: taskr::store::ConnectionStatus::Active,
        status_reason: None,
        created_by: alice.id,
        created_at: 1,
        updated_at: 1,
        version: 0,
    }
}
