//! The per-workspace cache: full replacement, pages of tasks with filters, members, one task.

use std::sync::Arc;

use taskr::store::{CacheDiff, Store, TaskFilter, TaskQuery};
use uuid::Uuid;

use crate::fixtures::{linked, member, task};

on_both_backends!(
    a_full_replacement_reports_what_changed,
    tasks_come_open_first_oldest_first_in_pages_and_filtered,
    members_are_replaced_as_a_whole,
    a_task_is_only_found_in_its_own_workspace,
);

fn page(filter: TaskFilter, limit: u32, offset: u32) -> TaskQuery {
    TaskQuery {
        filter,
        limit,
        offset,
    }
}

async fn a_full_replacement_reports_what_changed(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let a = task(ws.id, "a", false, "2024-01-01", &[]);
    let b = task(ws.id, "b", false, "2024-01-02", &[]);
    let c = task(ws.id, "c", false, "2024-01-03", &[]);
    let diff = store
        .replace_workspace_cache(ws.id, &[], &[a.clone(), b.clone(), c.clone()], 1)
        .await
        .unwrap();
    assert_eq!(
        diff,
        CacheDiff {
            added: 3,
            changed: 0,
            removed: 0
        }
    );

    let mut b2 = b.clone();
    b2.is_completed = true;
    let d = task(ws.id, "d", false, "2024-01-04", &[]);
    let diff = store
        .replace_workspace_cache(ws.id, &[], &[a.clone(), b2.clone(), d.clone()], 2)
        .await
        .unwrap();
    assert_eq!(
        diff,
        CacheDiff {
            added: 1,
            changed: 1,
            removed: 1
        }
    );
    assert_eq!(store.task_count(ws.id).await.unwrap(), 3);
    let stored = store.task(ws.id, b.id.task_id).await.unwrap().unwrap();
    assert!(stored.is_completed);
    assert!(store.task(ws.id, c.id.task_id).await.unwrap().is_none());

    let same = store
        .replace_workspace_cache(ws.id, &[], &[a, b2, d], 3)
        .await
        .unwrap();
    assert!(same.is_empty());
}

async fn tasks_come_open_first_oldest_first_in_pages_and_filtered(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (ann, ben) = (Uuid::new_v4(), Uuid::new_v4());
    let tasks = vec![
        task(ws.id, "done-early", true, "2024-01-01T00:00:00Z", &[ann]),
        task(
            ws.id,
            "open-late",
            false,
            "2024-03-01T00:00:00Z",
            &[ann, ben],
        ),
        task(ws.id, "open-early", false, "2024-01-02T00:00:00Z", &[]),
        task(ws.id, "done-late", true, "2024-02-01T00:00:00Z", &[ben]),
        task(ws.id, "open-mid", false, "2024-02-01T00:00:00Z", &[ben]),
    ];
    store
        .replace_workspace_cache(ws.id, &[], &tasks, 1)
        .await
        .unwrap();
    let names = |list: taskr::store::TaskList| {
        let names: Vec<String> = list
            .tasks
            .into_iter()
            .map(|t| t.content_plaintext)
            .collect();
        (list.total, names)
    };
    let all = names(
        store
            .tasks(ws.id, &page(TaskFilter::All, 10, 0))
            .await
            .unwrap(),
    );
    assert_eq!(
        all,
        (
            5,
            vec![
                "open-early",
                "open-mid",
                "open-late",
                "done-early",
                "done-late"
            ]
            .into_iter()
            .map(String::from)
            .collect()
        )
    );
    let second = names(
        store
            .tasks(ws.id, &page(TaskFilter::All, 2, 2))
            .await
            .unwrap(),
    );
    assert_eq!(second, (5, vec!["open-late".into(), "done-early".into()]));
    let open = names(
        store
            .tasks(ws.id, &page(TaskFilter::Open, 10, 0))
            .await
            .unwrap(),
    );
    assert_eq!(open.0, 3);
    let completed = names(
        store
            .tasks(ws.id, &page(TaskFilter::Completed, 10, 0))
            .await
            .unwrap(),
    );
    assert_eq!(
        completed,
        (2, vec!["done-early".into(), "done-late".into()])
    );
    let bens = names(
        store
            .tasks(ws.id, &page(TaskFilter::AssignedTo(ben), 2, 1))
            .await
            .unwrap(),
    );
    assert_eq!(bens, (3, vec!["open-late".into(), "done-late".into()]));
    let nobodys = store
        .tasks(ws.id, &page(TaskFilter::AssignedTo(Uuid::new_v4()), 10, 0))
        .await
        .unwrap();
    assert_eq!((nobodys.total, nobodys.tasks.len()), (0, 0));
}

async fn members_are_replaced_as_a_whole(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let ids = [Uuid::new_v4(), Uuid::new_v4()];
    let members = vec![member(ws.id, ids[0], "Ann"), member(ws.id, ids[1], "Ben")];
    store
        .replace_workspace_cache(ws.id, &members, &[], 1)
        .await
        .unwrap();
    let mut read: Vec<String> = store
        .members(ws.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.first_name)
        .collect();
    read.sort();
    assert_eq!(read, vec!["Ann", "Ben"]);
    let fewer = vec![member(ws.id, ids[1], "Benedict")];
    store
        .replace_workspace_cache(ws.id, &fewer, &[], 2)
        .await
        .unwrap();
    let read = store.members(ws.id).await.unwrap();
    assert_eq!(read, fewer);
}

async fn a_task_is_only_found_in_its_own_workspace(store: Arc<dyn Store>) {
    let (_, acme) = linked(store.as_ref(), "alice").await;
    let (_, globex) = linked(store.as_ref(), "bob").await;
    let secret = task(acme.id, "acme only", false, "2024-01-01", &[]);
    store
        .replace_workspace_cache(acme.id, &[], std::slice::from_ref(&secret), 1)
        .await
        .unwrap();
    assert_eq!(
        store.task(acme.id, secret.id.task_id).await.unwrap(),
        Some(secret.clone())
    );
    assert!(store
        .task(globex.id, secret.id.task_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.task_count(globex.id).await.unwrap(), 0);
    let listing = store
        .tasks(globex.id, &page(TaskFilter::All, 10, 0))
        .await
        .unwrap();
    assert_eq!(listing.total, 0);
    assert!(store.members(globex.id).await.unwrap().is_empty());
}
