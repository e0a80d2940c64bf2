//! Users, username keys and skeletons, sessions and OAuth states.

use std::sync::Arc;

use taskr::store::{OAuthState, Store, StoreError, UserId};

use crate::fixtures::user;

on_both_backends!(
    users_are_found_by_key_and_by_id,
    a_taken_key_and_a_lookalike_skeleton_are_refused_with_their_own_errors,
    username_keys_are_set_unless_another_user_has_them,
    sessions_end_at_their_expiry_and_on_log_out,
    oauth_states_are_taken_once,
    purging_removes_only_what_has_expired,
    a_users_time_zone_is_kept_and_read_with_their_session,
);

async fn a_users_time_zone_is_kept_and_read_with_their_session(store: Arc<dyn Store>) {
    let user = store
        .create_user("Zoe", "zoe", "zoe", "hash", 1)
        .await
        .unwrap();
    assert_eq!(user.time_zone, None);
    store
        .create_session(b"zone-session", user.id, 1, 100)
        .await
        .unwrap();
    store
        .set_time_zone(user.id, Some("Asia/Tokyo"))
        .await
        .unwrap();
    let session = store.session(b"zone-session", 2).await.unwrap().unwrap();
    assert_eq!(session.user.time_zone.as_deref(), Some("Asia/Tokyo"));
    let by_id = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(by_id.time_zone.as_deref(), Some("Asia/Tokyo"));
    let by_key = store.user_by_username_key("zoe").await.unwrap().unwrap();
    assert_eq!(by_key.user.time_zone.as_deref(), Some("Asia/Tokyo"));
    store.set_time_zone(user.id, None).await.unwrap();
    assert_eq!(
        store.user_by_id(user.id).await.unwrap().unwrap().time_zone,
        None
    );
}

async fn users_are_found_by_key_and_by_id(store: Arc<dyn Store>) {
    let alice = store
        .create_user("Alice", "alice", "a1ice", "argon-hash", 100)
        .await
        .unwrap();
    assert_eq!(alice.username, "Alice");
    let found = store.user_by_username_key("alice").await.unwrap().unwrap();
    assert_eq!(found.user.id, alice.id);
    assert_eq!(found.password_hash, "argon-hash");
    assert_eq!(
        store.user_by_id(alice.id).await.unwrap().unwrap().username,
        "Alice"
    );
    assert!(store.user_by_username_key("bob").await.unwrap().is_none());
    assert!(store
        .user_by_id(UserId(alice.id.0 + 100))
        .await
        .unwrap()
        .is_none());
    assert!(store.username_in_use("alice", "other").await.unwrap());
    assert!(store.username_in_use("other", "a1ice").await.unwrap());
    assert!(!store.username_in_use("bob", "b0b").await.unwrap());
    let bob = user(store.as_ref(), "bob").await;
    assert_ne!(bob.id, alice.id);
}

async fn a_taken_key_and_a_lookalike_skeleton_are_refused_with_their_own_errors(
    store: Arc<dyn Store>,
) {
    store
        .create_user("alice", "alice", "a1ice", "h", 1)
        .await
        .unwrap();
    let taken = store.create_user("ALICE", "alice", "other", "h", 2).await;
    assert!(matches!(taken, Err(StoreError::UsernameTaken)), "{taken:?}");
    let lookalike = store.create_user("аlice", "аlice", "a1ice", "h", 3).await;
    assert!(
        matches!(lookalike, Err(StoreError::UsernameLookalike)),
        "{lookalike:?}"
    );
}

async fn username_keys_are_set_unless_another_user_has_them(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let bob = user(store.as_ref(), "bob").await;
    assert!(store.users_without_skeleton().await.unwrap().is_empty());
    assert!(store
        .set_username_keys(alice.id, "alice2", "a1ice2")
        .await
        .unwrap());
    assert!(store
        .user_by_username_key("alice2")
        .await
        .unwrap()
        .is_some());
    assert!(!store
        .set_username_keys(bob.id, "alice2", "b0b")
        .await
        .unwrap());
    assert!(!store
        .set_username_keys(bob.id, "bob", "a1ice2")
        .await
        .unwrap());
    assert!(store.user_by_username_key("bob").await.unwrap().is_some());
}

async fn sessions_end_at_their_expiry_and_on_log_out(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    store
        .create_session(b"s1", alice.id, 100, 200)
        .await
        .unwrap();
    store
        .create_session(b"s2", alice.id, 100, 200)
        .await
        .unwrap();
    assert_eq!(
        store.session_user(b"s1", 199).await.unwrap().unwrap().id,
        alice.id
    );
    assert!(store.session_user(b"s1", 200).await.unwrap().is_none());
    assert!(store.session_user(b"nope", 150).await.unwrap().is_none());
    store.delete_session(b"s2").await.unwrap();
    assert!(store.session_user(b"s2", 150).await.unwrap().is_none());
}

async fn oauth_states_are_taken_once(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let state = OAuthState {
        state_hash: b"state".to_vec(),
        session_hash: b"session".to_vec(),
        user_id: alice.id,
        expires_at: 500,
    };
    store.put_oauth_state(&state).await.unwrap();
    let taken = store.take_oauth_state(b"state").await.unwrap().unwrap();
    assert_eq!(taken.session_hash, b"session");
    assert_eq!(taken.user_id, alice.id);
    assert_eq!(taken.expires_at, 500);
    assert!(store.take_oauth_state(b"state").await.unwrap().is_none());
}

async fn purging_removes_only_what_has_expired(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    store
        .create_session(b"old", alice.id, 1, 100)
        .await
        .unwrap();
    store
        .create_session(b"new", alice.id, 1, 300)
        .await
        .unwrap();
    for (hash, expires_at) in [(b"old-state", 100), (b"new-state", 300)] {
        let state = OAuthState {
            state_hash: hash.to_vec(),
            session_hash: b"s".to_vec(),
            user_id: alice.id,
            expires_at,
        };
        store.put_oauth_state(&state).await.unwrap();
    }
    assert_eq!(store.purge_expired(200).await.unwrap(), 2);
    assert_eq!(store.purge_expired(200).await.unwrap(), 0);
    assert!(store.session_user(b"new", 200).await.unwrap().is_some());
    assert!(store
        .take_oauth_state(b"new-state")
        .await
        .unwrap()
        .is_some());
    assert!(store
        .take_oauth_state(b"old-state")
        .await
        .unwrap()
        .is_none());
}

on_both_backends!(a_username_key_with_a_nul_character_is_nobody);

async fn a_username_key_with_a_nul_character_is_nobody(store: Arc<dyn Store>) {
    // PostgreSQL's TEXT cannot hold NUL; a log-in form with one must not become a 500.
    assert!(store
        .user_by_username_key("al\0ice")
        .await
        .unwrap()
        .is_none());
    store
        .create_user("alice", "alice", "a1ice", "h", 1)
        .await
        .unwrap();
    assert!(!store
        .username_in_use("al\0ice", "a\u{0}1ice")
        .await
        .unwrap());
    assert!(store.username_in_use("al\0ice", "a1ice").await.unwrap());
}
