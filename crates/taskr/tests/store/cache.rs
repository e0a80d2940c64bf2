//! The per-workspace cache: full replacement, pages of tasks with filters, members, one task.

use std::sync::Arc;

use taskr::store::{CacheDiff, Store, TaskFilter, TaskQuery, TaskSort};
use uuid::Uuid;

use crate::fixtures::{linked, member, task};

on_both_backends!(
    a_full_replacement_reports_what_changed,
    tasks_come_open_first_oldest_first_in_pages_and_filtered,
    members_are_replaced_as_a_whole,
    a_task_is_only_found_in_its_own_workspace,
    search_folds_case_and_takes_wildcards_literally,
    deadline_order_puts_the_soonest_first_and_none_last,
    a_task_put_from_attios_answer_replaces_the_cached_one,
);

#[tokio::test]
async fn rows_cached_before_search_keys_are_rewritten_by_the_next_full_sync_on_sqlite() {
    crate::harness::run_on_sqlite_with_sql(
        rows_cached_before_search_keys_are_rewritten_by_the_next_full_sync,
    )
    .await
}

#[tokio::test]
async fn rows_cached_before_search_keys_are_rewritten_by_the_next_full_sync_on_postgres() {
    crate::harness::run_on_postgres_with_sql(
        rows_cached_before_search_keys_are_rewritten_by_the_next_full_sync,
    )
    .await
}

fn page(filter: TaskFilter, limit: u32, offset: u32) -> TaskQuery {
    TaskQuery {
        filter,
        search: None,
        sort: Default::default(),
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

fn contents(list: &taskr::store::TaskList) -> Vec<&str> {
    list.tasks
        .iter()
        .map(|t| t.content_plaintext.as_str())
        .collect()
}

fn searching(filter: TaskFilter, search: &str, sort: TaskSort) -> TaskQuery {
    TaskQuery {
        search: Some(search.to_owned()),
        sort,
        ..page(filter, 50, 0)
    }
}

async fn search_folds_case_and_takes_wildcards_literally(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (_, other) = linked(store.as_ref(), "bob").await;
    let tasks = vec![
        task(ws.id, "Call ÉMILIE about Initech", false, "2024-01-01", &[]),
        task(ws.id, "Send 100% of the deck", true, "2024-01-02", &[]),
        task(ws.id, "Send 1000 flyers", false, "2024-01-03", &[]),
    ];
    store
        .replace_workspace_cache(ws.id, &[], &tasks, 1)
        .await
        .unwrap();
    let elsewhere = vec![task(other.id, "Call Émilie too", false, "2024-01-01", &[])];
    store
        .replace_workspace_cache(other.id, &[], &elsewhere, 1)
        .await
        .unwrap();

    let found = store
        .tasks(
            ws.id,
            &searching(TaskFilter::All, "émilie", TaskSort::Created),
        )
        .await
        .unwrap();
    assert_eq!(
        contents(&found),
        ["Call ÉMILIE about Initech"],
        "one workspace only"
    );
    assert_eq!(found.total, 1);
    let percent = store
        .tasks(
            ws.id,
            &searching(TaskFilter::All, "100%", TaskSort::Created),
        )
        .await
        .unwrap();
    assert_eq!(
        contents(&percent),
        ["Send 100% of the deck"],
        "% is literal"
    );
    let underscore = store
        .tasks(ws.id, &searching(TaskFilter::All, "10_", TaskSort::Created))
        .await
        .unwrap();
    assert_eq!(underscore.total, 0, "_ is literal");
    let open = store
        .tasks(
            ws.id,
            &searching(TaskFilter::Open, "SEND", TaskSort::Created),
        )
        .await
        .unwrap();
    assert_eq!(
        contents(&open),
        ["Send 1000 flyers"],
        "search and filter combine"
    );
}

async fn deadline_order_puts_the_soonest_first_and_none_last(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let with_deadline = |content: &str, created: &str, deadline: Option<&str>, done: bool| {
        let mut t = task(ws.id, content, done, created, &[]);
        t.deadline_at = deadline.map(str::to_owned);
        t
    };
    let tasks = vec![
        with_deadline("none", "2024-01-01", None, false),
        with_deadline(
            "late",
            "2024-01-02",
            Some("2030-06-01T10:00:00.000000000Z"),
            false,
        ),
        with_deadline("date", "2024-01-03", Some("2030-01-05"), false),
        with_deadline(
            "same day, later",
            "2024-01-04",
            Some("2030-01-05T08:00:00Z"),
            false,
        ),
        // +02:00: 23:00 UTC on Jan 4, so before the bare date of Jan 5.
        with_deadline(
            "offset",
            "2024-01-05",
            Some("2030-01-05T01:00:00+02:00"),
            false,
        ),
        with_deadline("done soonest", "2024-01-06", Some("2020-01-01"), true),
    ];
    store
        .replace_workspace_cache(ws.id, &[], &tasks, 1)
        .await
        .unwrap();
    let by_deadline = store
        .tasks(
            ws.id,
            &TaskQuery {
                sort: TaskSort::Deadline,
                ..page(TaskFilter::All, 50, 0)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        contents(&by_deadline),
        [
            "offset",
            "date",
            "same day, later",
            "late",
            "none",
            "done soonest"
        ]
    );
    let newest = store
        .tasks(
            ws.id,
            &TaskQuery {
                sort: TaskSort::Newest,
                ..page(TaskFilter::All, 2, 1)
            },
        )
        .await
        .unwrap();
    assert_eq!(contents(&newest), ["same day, later", "date"], "paged");
    assert_eq!(newest.total, 6);
}

async fn a_task_put_from_attios_answer_replaces_the_cached_one(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (_, other) = linked(store.as_ref(), "bob").await;
    let ann = Uuid::new_v4();
    let a = task(ws.id, "a", false, "2024-01-01", &[]);
    store
        .replace_workspace_cache(ws.id, &[], std::slice::from_ref(&a), 1)
        .await
        .unwrap();
    let mut changed = a.clone();
    changed.is_completed = true;
    changed.assignees = task(ws.id, "x", false, "x", &[ann]).assignees;
    changed.deadline_at = Some("2030-01-01".into());
    store.put_task(ws.id, &changed).await.unwrap();
    assert_eq!(
        store.task(ws.id, a.id.task_id).await.unwrap(),
        Some(changed)
    );
    let mine = store
        .tasks(ws.id, &page(TaskFilter::AssignedTo(ann), 10, 0))
        .await
        .unwrap();
    assert_eq!(mine.total, 1, "the assignee index follows");
    let completed = store
        .tasks(ws.id, &page(TaskFilter::Completed, 10, 0))
        .await
        .unwrap();
    assert_eq!(completed.total, 1);

    // A task of another workspace is not written into this one.
    let foreign = task(other.id, "foreign", false, "2024-01-01", &[]);
    store.put_task(ws.id, &foreign).await.unwrap();
    assert_eq!(store.task_count(ws.id).await.unwrap(), 1);
    assert!(store
        .task(other.id, foreign.id.task_id)
        .await
        .unwrap()
        .is_none());

    store.remove_task(ws.id, a.id.task_id).await.unwrap();
    assert_eq!(store.task_count(ws.id).await.unwrap(), 0);
    let index = store
        .tasks(ws.id, &page(TaskFilter::AssignedTo(ann), 10, 0))
        .await
        .unwrap();
    assert_eq!(index.total, 0);
}

async fn rows_cached_before_search_keys_are_rewritten_by_the_next_full_sync(
    store: Arc<dyn Store>,
    sql: crate::harness::RawSql,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let a = task(ws.id, "Émilie's task", false, "2024-01-01", &[]);
    store
        .replace_workspace_cache(ws.id, &[], std::slice::from_ref(&a), 1)
        .await
        .unwrap();
    // As a row written before the keys existed looks.
    sql.execute("UPDATE tasks SET content_key = NULL, deadline_key = NULL")
        .await;
    let search = searching(TaskFilter::All, "émilie", TaskSort::Created);
    assert_eq!(store.tasks(ws.id, &search).await.unwrap().total, 0);
    let diff = store
        .replace_workspace_cache(ws.id, &[], std::slice::from_ref(&a), 2)
        .await
        .unwrap();
    assert_eq!(diff.changed, 1, "rewritten although its JSON is the same");
    assert_eq!(store.tasks(ws.id, &search).await.unwrap().total, 1);
}
