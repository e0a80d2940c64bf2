//! Attio links, their workspaces (sync errors, upstream problems) and webhooks.

use std::sync::Arc;

use taskr::store::{LinkStatus, Store, TaskFilter, TaskQuery, UpstreamProblem};

use crate::fixtures::{link, linked, task, user, webhook, workspace};

on_both_backends!(
    a_saved_link_is_read_back_and_replaced,
    a_broken_link_is_no_longer_active,
    deleting_the_last_link_deletes_the_workspace_and_its_cache,
    sync_errors_and_upstream_problems_are_recorded_per_workspace,
    a_workspace_has_one_webhook_that_can_be_replaced_and_deleted,
);

async fn a_saved_link_is_read_back_and_replaced(store: Arc<dyn Store>) {
    let alice = user(store.as_ref(), "alice").await;
    let bob = user(store.as_ref(), "bob").await;
    let ws = workspace("Acme");
    let mut alices = link(&alice, &ws, 20);
    store.save_link(&ws, &alices).await.unwrap();
    store.save_link(&ws, &link(&bob, &ws, 10)).await.unwrap();

    let read = store.link(alice.id).await.unwrap().unwrap();
    assert_eq!(read.workspace_id, ws.id);
    assert_eq!(read.member_id, alices.member_id);
    assert_eq!(read.token, alices.token);
    assert_eq!(read.status, LinkStatus::Active);
    let workspace = store.workspace_for_user(alice.id).await.unwrap().unwrap();
    assert_eq!(workspace.info.id, ws.id);
    assert_eq!(workspace.info.name, "Acme");
    assert_eq!(workspace.last_synced_at, None);
    assert_eq!(store.link_count(ws.id).await.unwrap(), 2);
    assert_eq!(store.linked_workspaces().await.unwrap(), vec![ws.id]);
    let active: Vec<_> = store
        .active_links(ws.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.user_id)
        .collect();
    assert_eq!(active, vec![bob.id, alice.id], "oldest first");

    alices.scopes = "task:read webhook:read-write".to_owned();
    alices.member_id = None;
    let renamed = taskr::store::WorkspaceInfo {
        name: "Acme Inc".to_owned(),
        ..ws.clone()
    };
    store.save_link(&renamed, &alices).await.unwrap();
    let read = store.link(alice.id).await.unwrap().unwrap();
    assert_eq!(read.scopes, alices.scopes);
    assert_eq!(read.member_id, None);
    let workspace = store.workspace_for_user(bob.id).await.unwrap().unwrap();
    assert_eq!(workspace.info.name, "Acme Inc");
    assert_eq!(store.link_count(ws.id).await.unwrap(), 2);
}

async fn a_broken_link_is_no_longer_active(store: Arc<dyn Store>) {
    let (alice, ws) = linked(store.as_ref(), "alice").await;
    store.mark_link_broken(alice.id, "revoked").await.unwrap();
    let read = store.link(alice.id).await.unwrap().unwrap();
    assert_eq!(read.status, LinkStatus::Broken);
    assert_eq!(read.broken_reason.as_deref(), Some("revoked"));
    assert!(store.active_links(ws.id).await.unwrap().is_empty());
    assert_eq!(store.link_count(ws.id).await.unwrap(), 1);
}

async fn deleting_the_last_link_deletes_the_workspace_and_its_cache(store: Arc<dyn Store>) {
    let (alice, ws) = linked(store.as_ref(), "alice").await;
    let bob = user(store.as_ref(), "bob").await;
    store.save_link(&ws, &link(&bob, &ws, 2)).await.unwrap();
    let tasks = [task(ws.id, "one", false, "2024-01-01", &[])];
    store
        .replace_workspace_cache(ws.id, &[], &tasks, 5)
        .await
        .unwrap();
    store.insert_webhook(&webhook(ws.id, "k1")).await.unwrap();

    let deleted = store.delete_link(alice.id).await.unwrap().unwrap();
    assert_eq!(deleted.user_id, alice.id);
    assert!(store.link(alice.id).await.unwrap().is_none());
    assert_eq!(
        store.task_count(ws.id).await.unwrap(),
        1,
        "bob still links it"
    );

    store.delete_link(bob.id).await.unwrap().unwrap();
    assert_eq!(store.task_count(ws.id).await.unwrap(), 0);
    assert!(store.linked_workspaces().await.unwrap().is_empty());
    assert!(store.webhook_for_workspace(ws.id).await.unwrap().is_none());
    let query = TaskQuery {
        filter: TaskFilter::All,
        search: None,
        sort: Default::default(),
        limit: 10,
        offset: 0,
    };
    assert_eq!(store.tasks(ws.id, &query).await.unwrap().total, 0);
    assert!(store.delete_link(bob.id).await.unwrap().is_none());
}

async fn sync_errors_and_upstream_problems_are_recorded_per_workspace(store: Arc<dyn Store>) {
    let (alice, ws) = linked(store.as_ref(), "alice").await;
    let (bob, other) = linked(store.as_ref(), "bob").await;
    store
        .record_sync_error(ws.id, "Attio said no")
        .await
        .unwrap();
    let read = store.workspace_for_user(alice.id).await.unwrap().unwrap();
    assert_eq!(read.sync_error.as_deref(), Some("Attio said no"));
    store
        .replace_workspace_cache(ws.id, &[], &[], 77)
        .await
        .unwrap();
    let read = store.workspace_for_user(alice.id).await.unwrap().unwrap();
    assert_eq!(read.sync_error, None, "a full sync clears the error");
    assert_eq!(read.last_synced_at, Some(77));

    let steps = [
        (Some(UpstreamProblem::RateLimited), 1000, true, Some(1000)),
        (Some(UpstreamProblem::RateLimited), 2000, false, Some(1000)),
        (Some(UpstreamProblem::Status(503)), 3000, true, Some(1000)),
        (None, 4000, true, None),
        (None, 5000, false, None),
        (Some(UpstreamProblem::Unreachable), 6000, true, Some(6000)),
    ];
    for (problem, now, changed, since) in steps {
        assert_eq!(
            store.record_upstream(ws.id, problem, now).await.unwrap(),
            changed,
            "{problem:?} at {now}"
        );
        let read = store.workspace_for_user(alice.id).await.unwrap().unwrap();
        assert_eq!(read.upstream_problem, problem, "at {now}");
        assert_eq!(read.upstream_problem_since_ms, since, "at {now}");
    }
    let untouched = store.workspace_for_user(bob.id).await.unwrap().unwrap();
    assert_eq!(untouched.info.id, other.id);
    assert_eq!(untouched.upstream_problem, None);
    assert_eq!(untouched.sync_error, None);
}

async fn a_workspace_has_one_webhook_that_can_be_replaced_and_deleted(store: Arc<dyn Store>) {
    let (alice, ws) = linked(store.as_ref(), "alice").await;
    let first = webhook(ws.id, "k1");
    assert!(store.insert_webhook(&first).await.unwrap());
    assert!(!store.insert_webhook(&webhook(ws.id, "k1")).await.unwrap());
    let read = store
        .webhook_by_id(first.webhook_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.workspace_id, ws.id);
    assert_eq!(read.secret, first.secret);
    assert_eq!(read.target_url, first.target_url);

    let second = webhook(ws.id, "k2");
    store.replace_webhook(&second).await.unwrap();
    assert!(store
        .webhook_by_id(first.webhook_id)
        .await
        .unwrap()
        .is_none());
    let read = store.webhook_for_workspace(ws.id).await.unwrap().unwrap();
    assert_eq!(read.webhook_id, second.webhook_id);

    store
        .set_webhook_status(ws.id, "degraded", 99)
        .await
        .unwrap();
    let read = store.webhook_for_workspace(ws.id).await.unwrap().unwrap();
    assert_eq!((read.status.as_str(), read.checked_at), ("degraded", 99));

    store
        .set_webhook_note(ws.id, Some("Attio cannot reach Taskr"))
        .await
        .unwrap();
    let note = store
        .workspace_for_user(alice.id)
        .await
        .unwrap()
        .unwrap()
        .webhook_note;
    assert_eq!(note.as_deref(), Some("Attio cannot reach Taskr"));
    store.set_webhook_note(ws.id, None).await.unwrap();
    let note = store
        .workspace_for_user(alice.id)
        .await
        .unwrap()
        .unwrap()
        .webhook_note;
    assert_eq!(note, None);

    store.delete_webhook(ws.id).await.unwrap();
    assert!(store.webhook_for_workspace(ws.id).await.unwrap().is_none());
}
