//! The names cache: linked records wanted and read, merges re-pointing tasks, deletions and
//! failed reads, other names by kind, objects, and the feed's filters with the names it reads.

use std::sync::Arc;

use serde_json::json;
use taskr::store::{
    ActivityQuery, AppliedBatch, ClaimWrite, EventFamily, NameKey, NameKind, NameMark, NameRead,
    NewActivity, ObjectInfo, Reads, ReadsChanged, RecordRead, Store, TaskFilter, TaskQuery,
    WorkspaceId, FORBIDDEN,
};
use uuid::Uuid;

use crate::fixtures::{delivery, linked, task};

on_both_backends!(
    linked_records_are_wanted_until_read_and_come_with_their_page_of_tasks,
    a_merge_points_tasks_at_the_survivor_and_keeps_the_duplicate_as_merged,
    deleted_failed_and_forbidden_records_are_not_read_again_until_their_time,
    reconciliation_wants_linked_records_again_oldest_read_first,
    other_names_are_kept_by_kind_and_found_in_their_own_workspace_only,
    objects_are_replaced_as_a_whole_and_say_when_they_changed,
    the_feed_filters_by_family_and_member_and_reads_the_names_it_refers_to,
    a_workspace_that_goes_takes_its_names_with_it,
);

fn linking(workspace: WorkspaceId, content: &str, records: &[(&str, Uuid)]) -> attio::Task {
    let mut task = task(workspace, content, false, "2024-01-01", &[]);
    task.linked_records = records
        .iter()
        .map(|(object, id)| attio::LinkedRecord {
            target_object_id: (*object).to_owned(),
            target_record_id: *id,
        })
        .collect();
    task
}

fn found(record: Uuid, name: &str) -> RecordRead {
    RecordRead::Found {
        record,
        object_id: Some(Uuid::from_u128(7)),
        name: Some(name.to_owned()),
        web_url: Some(format!("https://app.attio.com/ws/people/{record}")),
    }
}

fn reads(records: Vec<RecordRead>) -> Reads {
    Reads {
        records,
        ..Reads::default()
    }
}

fn all() -> TaskQuery {
    TaskQuery {
        filter: TaskFilter::All,
        search: None,
        sort: Default::default(),
        limit: 50,
        offset: 0,
    }
}

async fn wanted_records(store: &dyn Store, ws: WorkspaceId, now: i64) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = store
        .wanted_names(ws, now, 100)
        .await
        .unwrap()
        .records
        .into_iter()
        .map(|w| w.record)
        .collect();
    ids.sort();
    ids
}

async fn linked_records_are_wanted_until_read_and_come_with_their_page_of_tasks(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (ada, acme) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let one = linking(ws.id, "one", &[("people", ada), ("companies", acme)]);
    let two = linking(ws.id, "two", &[("people", ada)]);
    store
        .replace_workspace_cache(ws.id, &[], &[one.clone(), two], 1)
        .await
        .unwrap();
    let wanted = store.wanted_names(ws.id, 10, 100).await.unwrap();
    assert_eq!(wanted.records.len(), 2, "each record once");
    let ada_wanted = wanted.records.iter().find(|w| w.record == ada).unwrap();
    assert_eq!(ada_wanted.object, "people", "named as the task named it");

    let page = store.tasks(ws.id, &all()).await.unwrap();
    assert_eq!(page.records.len(), 2);
    assert_eq!(page.records[&ada].name, None, "not read yet");

    let changed = store
        .save_reads(
            ws.id,
            &reads(vec![found(ada, "Ada"), found(acme, "Acme")]),
            20,
        )
        .await
        .unwrap();
    assert_eq!(
        changed,
        ReadsChanged {
            records: true,
            names: false
        }
    );
    assert!(wanted_records(store.as_ref(), ws.id, 30).await.is_empty());
    let page = store.tasks(ws.id, &all()).await.unwrap();
    let cached = &page.records[&ada];
    assert_eq!(cached.name.as_deref(), Some("Ada"));
    assert_eq!(cached.object_id, Some(Uuid::from_u128(7)));
    assert_eq!(cached.fetched_ms, Some(20));
    assert!(cached
        .web_url
        .as_deref()
        .unwrap()
        .ends_with(&ada.to_string()));

    let same = store
        .save_reads(ws.id, &reads(vec![found(ada, "Ada")]), 40)
        .await
        .unwrap();
    assert!(!same.records, "the same name changes nothing a page shows");
    let renamed = store
        .save_reads(ws.id, &reads(vec![found(ada, "Ada Lovelace")]), 50)
        .await
        .unwrap();
    assert!(renamed.records);

    // A task that no longer links a record drops its link row, not the record.
    let mut one = one;
    one.linked_records.truncate(1);
    store
        .replace_workspace_cache(ws.id, &[], &[one], 60)
        .await
        .unwrap();
    let page = store.tasks(ws.id, &all()).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(
        store.records(ws.id, &[acme]).await.unwrap()[&acme]
            .name
            .as_deref(),
        Some("Acme")
    );
}

async fn a_merge_points_tasks_at_the_survivor_and_keeps_the_duplicate_as_merged(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (original, duplicate, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    let survivor = Uuid::from_u128(4);
    let both = linking(
        ws.id,
        "both",
        &[("people", original), ("people", duplicate)],
    );
    let one = linking(ws.id, "one", &[("people", duplicate), ("people", other)]);
    let untouched = linking(ws.id, "untouched", &[("people", other)]);
    store
        .replace_workspace_cache(
            ws.id,
            &[],
            &[both.clone(), one.clone(), untouched.clone()],
            1,
        )
        .await
        .unwrap();
    store
        .save_reads(ws.id, &reads(vec![found(duplicate, "Ada L.")]), 2)
        .await
        .unwrap();
    let marks = [original, duplicate].map(|from| NameMark::RecordMerged {
        object: "object-id".to_owned(),
        duplicate: from,
        into: survivor,
    });
    store.mark_names(ws.id, &marks).await.unwrap();

    let links = |task: attio::Task| -> Vec<(String, Uuid)> {
        task.linked_records
            .into_iter()
            .map(|l| (l.target_object_id, l.target_record_id))
            .collect()
    };
    let both = store.task(ws.id, both.id.task_id).await.unwrap().unwrap();
    assert_eq!(
        links(both),
        vec![("object-id".to_owned(), survivor)],
        "once"
    );
    let one = store.task(ws.id, one.id.task_id).await.unwrap().unwrap();
    assert_eq!(
        links(one),
        vec![
            ("object-id".to_owned(), survivor),
            ("people".to_owned(), other)
        ]
    );
    assert_eq!(
        store.task(ws.id, untouched.id.task_id).await.unwrap(),
        Some(untouched)
    );
    let cached = store
        .records(ws.id, &[original, duplicate, survivor])
        .await
        .unwrap();
    assert_eq!(cached[&duplicate].merged_into, Some(survivor));
    assert_eq!(
        cached[&duplicate].name.as_deref(),
        Some("Ada L."),
        "the duplicate keeps its name for the feed"
    );
    assert_eq!(cached[&original].merged_into, Some(survivor));
    assert_eq!(
        wanted_records(store.as_ref(), ws.id, 10).await,
        vec![other, survivor],
        "the survivor is read; merged records are not"
    );
    let page = store.tasks(ws.id, &all()).await.unwrap();
    assert!(page.records.contains_key(&survivor));
    assert!(!page.records.contains_key(&original) && !page.records.contains_key(&duplicate));
}

async fn deleted_failed_and_forbidden_records_are_not_read_again_until_their_time(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (gone, flaky, hidden, read) = (
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::from_u128(3),
        Uuid::from_u128(4),
    );
    let t = linking(
        ws.id,
        "t",
        &[
            ("people", gone),
            ("people", flaky),
            ("people", hidden),
            ("people", read),
        ],
    );
    store
        .replace_workspace_cache(ws.id, &[], &[t], 1)
        .await
        .unwrap();
    store
        .save_reads(ws.id, &reads(vec![found(read, "Read")]), 5)
        .await
        .unwrap();
    store
        .mark_names(
            ws.id,
            &[NameMark::RecordDeleted {
                object: "people".into(),
                record: read,
            }],
        )
        .await
        .unwrap();
    let changed = store
        .save_reads(
            ws.id,
            &reads(vec![
                RecordRead::Gone(gone),
                RecordRead::Failed {
                    record: flaky,
                    problem: "Attio answered HTTP 503".into(),
                    terminal: false,
                    retry_at_ms: 1_000,
                },
                RecordRead::Failed {
                    record: hidden,
                    problem: FORBIDDEN.into(),
                    terminal: true,
                    retry_at_ms: 1_000,
                },
            ]),
            10,
        )
        .await
        .unwrap();
    assert!(changed.records, "a record now shown as deleted");
    assert!(wanted_records(store.as_ref(), ws.id, 999).await.is_empty());
    assert_eq!(
        wanted_records(store.as_ref(), ws.id, 1_000).await,
        vec![flaky]
    );
    let wanted = store.wanted_names(ws.id, 1_000, 10).await.unwrap();
    assert_eq!(wanted.records[0].attempts, 1);
    let cached = store.records(ws.id, &[gone, read, hidden]).await.unwrap();
    assert!(cached[&gone].deleted && cached[&read].deleted);
    assert_eq!(
        cached[&read].name.as_deref(),
        Some("Read"),
        "kept when deleted"
    );
    assert_eq!(cached[&hidden].problem.as_deref(), Some(FORBIDDEN));
    // A later change to a deleted record does not bring it back by itself.
    store
        .mark_names(
            ws.id,
            &[NameMark::RecordSeen {
                object: "people".into(),
                record: read,
            }],
        )
        .await
        .unwrap();
    assert!(store.records(ws.id, &[read]).await.unwrap()[&read].deleted);
}

async fn reconciliation_wants_linked_records_again_oldest_read_first(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let ids: Vec<Uuid> = (1..=4).map(Uuid::from_u128).collect();
    let t = linking(
        ws.id,
        "t",
        &ids.iter().map(|id| ("people", *id)).collect::<Vec<_>>(),
    );
    store
        .replace_workspace_cache(ws.id, &[], &[t], 1)
        .await
        .unwrap();
    for (at, id) in [(30, ids[0]), (10, ids[1]), (20, ids[2])] {
        store
            .save_reads(ws.id, &reads(vec![found(id, "x")]), at)
            .await
            .unwrap();
    }
    store
        .save_reads(
            ws.id,
            &reads(vec![RecordRead::Failed {
                record: ids[3],
                problem: FORBIDDEN.into(),
                terminal: true,
                retry_at_ms: 0,
            }]),
            40,
        )
        .await
        .unwrap();
    // Not linked by any task: never read again by reconciliation.
    store
        .mark_names(
            ws.id,
            &[NameMark::RecordSeen {
                object: "people".into(),
                record: Uuid::from_u128(9),
            }],
        )
        .await
        .unwrap();
    store
        .save_reads(ws.id, &reads(vec![found(Uuid::from_u128(9), "y")]), 5)
        .await
        .unwrap();
    assert!(wanted_records(store.as_ref(), ws.id, 100).await.is_empty());

    let refreshed = store.refresh_names(ws.id, 25, 2).await.unwrap();
    assert_eq!(refreshed, 2);
    assert_eq!(
        wanted_records(store.as_ref(), ws.id, 100).await,
        vec![ids[1], ids[3]],
        "never read (the forbidden one) first, then the oldest read before the cut"
    );
    store.refresh_names(ws.id, 1_000, 10).await.unwrap();
    assert_eq!(wanted_records(store.as_ref(), ws.id, 100).await, ids);
}

async fn other_names_are_kept_by_kind_and_found_in_their_own_workspace_only(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (_, other) = linked(store.as_ref(), "bob").await;
    let note = NameKey::new(NameKind::Note, Uuid::from_u128(1));
    let list = NameKey::new(NameKind::List, Uuid::from_u128(1));
    let attribute = NameKey::new(NameKind::Attribute, "stage");
    let marks = [
        NameMark::Seen {
            key: note.clone(),
            parent: None,
        },
        NameMark::Seen {
            key: list.clone(),
            parent: None,
        },
        NameMark::Changed {
            key: attribute.clone(),
            parent: Some("list:l1".into()),
        },
    ];
    store.mark_names(ws.id, &marks).await.unwrap();
    let wanted = store.wanted_names(ws.id, 0, 10).await.unwrap();
    assert_eq!(wanted.names.len(), 3);
    let attribute_wanted = wanted.names.iter().find(|w| w.key == attribute).unwrap();
    assert_eq!(attribute_wanted.parent.as_deref(), Some("list:l1"));
    let changed = store
        .save_reads(
            ws.id,
            &Reads {
                names: vec![
                    NameRead::Found {
                        key: note.clone(),
                        name: "Kick-off".into(),
                        parent: Some("record".into()),
                    },
                    NameRead::Found {
                        key: list.clone(),
                        name: "Q3 pipeline".into(),
                        parent: None,
                    },
                    NameRead::Gone(attribute.clone()),
                ],
                ..Reads::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(changed.names && !changed.records);
    // Seen again: already read, so not wanted; deleted: kept with its name.
    store
        .mark_names(
            ws.id,
            &[
                NameMark::Seen {
                    key: note.clone(),
                    parent: None,
                },
                NameMark::Deleted {
                    key: note.clone(),
                    name: None,
                },
                NameMark::Deleted {
                    key: NameKey::new(NameKind::Task, "t1"),
                    name: Some("Call Ada".into()),
                },
            ],
        )
        .await
        .unwrap();
    assert!(store.wanted_names(ws.id, 0, 10).await.unwrap().is_empty());
    let keys = [
        note.clone(),
        list.clone(),
        attribute.clone(),
        NameKey::new(NameKind::Task, "t1"),
    ];
    let names = store.names(ws.id, &keys).await.unwrap();
    let note_name = &names.names[&note];
    assert_eq!(note_name.name.as_deref(), Some("Kick-off"));
    assert!(note_name.deleted);
    assert_eq!(note_name.parent.as_deref(), Some("record"));
    assert_eq!(names.names[&list].name.as_deref(), Some("Q3 pipeline"));
    assert!(names.names[&attribute].deleted && names.names[&attribute].name.is_none());
    assert_eq!(
        names.name(NameKind::Task, "t1").unwrap().name.as_deref(),
        Some("Call Ada")
    );
    // A list renamed later is wanted again.
    store
        .mark_names(
            ws.id,
            &[NameMark::Changed {
                key: list.clone(),
                parent: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        store.wanted_names(ws.id, 0, 10).await.unwrap().names.len(),
        1
    );
    assert!(store.names(other.id, &keys).await.unwrap().names.is_empty());
    assert!(store
        .wanted_names(other.id, 0, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn objects_are_replaced_as_a_whole_and_say_when_they_changed(store: Arc<dyn Store>) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let object = |id: u128, slug: &str, one: &str| ObjectInfo {
        object_id: Uuid::from_u128(id),
        api_slug: slug.into(),
        singular_noun: one.into(),
        plural_noun: format!("{one}s"),
    };
    let first = vec![object(1, "people", "Person"), object(2, "deals", "Deal")];
    let save = |objects: Vec<ObjectInfo>| {
        let store = store.clone();
        async move {
            store
                .save_reads(
                    ws.id,
                    &Reads {
                        objects: Some(objects),
                        ..Reads::default()
                    },
                    1,
                )
                .await
                .unwrap()
        }
    };
    assert!(save(first.clone()).await.records);
    let mut stored = store.objects(ws.id).await.unwrap();
    stored.sort_by_key(|o| o.object_id);
    assert_eq!(stored, first);
    let reordered = vec![first[1].clone(), first[0].clone()];
    assert!(
        !save(reordered).await.records,
        "the same objects in another order"
    );
    assert!(save(vec![object(1, "people", "Human")]).await.records);
    assert_eq!(store.objects(ws.id).await.unwrap().len(), 1);
}

fn event_activity(inbox_id: i64, index: i64, event: serde_json::Value) -> NewActivity {
    let event: attio::WebhookEvent = serde_json::from_value(event).unwrap();
    NewActivity {
        inbox_id,
        event_index: index,
        event_type: event.event_type.as_str().to_owned(),
        actor_type: event.actor.kind.clone(),
        actor_id: event.actor.id.clone(),
        subject_kind: None,
        subject_id: None,
        occurred_ms: 1000 + index,
        event: Some(serde_json::to_string(&event).unwrap()),
    }
}

async fn the_feed_filters_by_family_and_member_and_reads_the_names_it_refers_to(
    store: Arc<dyn Store>,
) {
    let (_, ws) = linked(store.as_ref(), "alice").await;
    let (alice, bob) = (Uuid::from_u128(100), Uuid::from_u128(200));
    let (note, record) = (Uuid::from_u128(1), Uuid::from_u128(2));
    store.inbox_insert(&delivery("a", ws.id, 10)).await.unwrap();
    let claimed = store.inbox_claim("me", 100, 1_000, 10).await.unwrap();
    let by = |member: Uuid| json!({"type": "workspace-member", "id": member});
    let note_event = json!({"event_type": "note.created",
        "id": {"workspace_id": ws.id, "note_id": note},
        "parent_object_id": "people", "parent_record_id": record, "actor": by(alice)});
    let batch = AppliedBatch {
        workspace_id: ws.id,
        activities: vec![
            event_activity(claimed[0].id, 0, note_event),
            event_activity(
                claimed[0].id,
                1,
                json!({"event_type": "note-content.updated",
                "id": {"workspace_id": ws.id, "note_id": note}, "actor": by(bob)}),
            ),
            event_activity(
                claimed[0].id,
                2,
                json!({"event_type": "task.created",
                "id": {"workspace_id": ws.id, "task_id": Uuid::from_u128(3)}, "actor": by(alice)}),
            ),
            event_activity(
                claimed[0].id,
                3,
                json!({"event_type": "activity.created", "id": {}, "actor": by(alice)}),
            ),
        ],
        marks: vec![
            NameMark::Seen {
                key: NameKey::new(NameKind::Note, note),
                parent: None,
            },
            NameMark::RecordSeen {
                object: "people".into(),
                record,
            },
        ],
        done: vec![claimed[0].id],
        ..Default::default()
    };
    assert_eq!(
        store.inbox_apply("me", &batch, 200).await.unwrap(),
        ClaimWrite::Written
    );
    store
        .save_reads(
            ws.id,
            &Reads {
                records: vec![found(record, "Ada")],
                names: vec![NameRead::Found {
                    key: NameKey::new(NameKind::Note, note),
                    name: "Kick-off".into(),
                    parent: None,
                }],
                ..Reads::default()
            },
            300,
        )
        .await
        .unwrap();
    let query = |family, actor| ActivityQuery {
        family,
        actor,
        limit: 10,
        ..Default::default()
    };
    let notes = store
        .activity(ws.id, &query(Some(EventFamily::Note), None))
        .await
        .unwrap();
    let types: Vec<&str> = notes
        .entries
        .iter()
        .map(|a| a.event_type.as_str())
        .collect();
    assert_eq!(types, vec!["note-content.updated", "note.created"]);
    assert_eq!(notes.total, 2);
    assert_eq!(
        notes
            .names
            .name(NameKind::Note, note)
            .unwrap()
            .name
            .as_deref(),
        Some("Kick-off")
    );
    assert_eq!(notes.names.records[&record].name.as_deref(), Some("Ada"));
    let event = notes.entries[1].event.as_ref().expect("the event is kept");
    assert_eq!(event.parent_record_id, Some(record));

    let alices = store
        .activity(ws.id, &query(None, Some(alice)))
        .await
        .unwrap();
    assert_eq!(alices.total, 3);
    let alices_notes = store
        .activity(ws.id, &query(Some(EventFamily::Note), Some(alice)))
        .await
        .unwrap();
    assert_eq!(alices_notes.total, 1);
    let other = store
        .activity(ws.id, &query(Some(EventFamily::Other), None))
        .await
        .unwrap();
    assert_eq!(other.entries[0].event_type, "activity.created");
    let none = store
        .activity(ws.id, &query(Some(EventFamily::List), None))
        .await
        .unwrap();
    assert_eq!((none.total, none.entries.len()), (0, 0));
}

async fn a_workspace_that_goes_takes_its_names_with_it(store: Arc<dyn Store>) {
    let (user, ws) = linked(store.as_ref(), "alice").await;
    let record = Uuid::from_u128(1);
    store
        .replace_workspace_cache(ws.id, &[], &[linking(ws.id, "t", &[("people", record)])], 1)
        .await
        .unwrap();
    store
        .mark_names(
            ws.id,
            &[NameMark::Seen {
                key: NameKey::new(NameKind::List, "l"),
                parent: None,
            }],
        )
        .await
        .unwrap();
    store
        .save_reads(
            ws.id,
            &Reads {
                objects: Some(vec![ObjectInfo {
                    object_id: Uuid::from_u128(7),
                    api_slug: "people".into(),
                    singular_noun: "Person".into(),
                    plural_noun: "People".into(),
                }]),
                ..Reads::default()
            },
            2,
        )
        .await
        .unwrap();
    store.delete_link(user.id).await.unwrap();
    assert!(store.records(ws.id, &[record]).await.unwrap().is_empty());
    assert!(store.objects(ws.id).await.unwrap().is_empty());
    assert!(store.wanted_names(ws.id, 0, 10).await.unwrap().is_empty());
}
