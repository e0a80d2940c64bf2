//! The rest of the demo CRM: attributes, two lists with entries, notes, comment threads and
//! meetings, so that every update and delete event has something real to act on from the start.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::ids::SeedIds;
use crate::store::{
    AccessLevel, Actor, Attribute, AttributeParent, Comment, CommentTarget, Crm, Entry, List,
    Meeting, Member, Note, ObjectKind, Record, Thread, ValueHistory, Written,
};

const CONFIGURED: OffsetDateTime = datetime!(2025-01-13 09:45:00 UTC);

/// (parent label, slug, title, type, system, unique, multiselect)
type AttributeRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
);

const ATTRIBUTES: &[AttributeRow] = &[
    (
        "people",
        "name",
        "Name",
        "personal-name",
        true,
        false,
        false,
    ),
    (
        "people",
        "email_addresses",
        "Email addresses",
        "email-address",
        true,
        true,
        true,
    ),
    (
        "people",
        "job_title",
        "Job title",
        "text",
        false,
        false,
        false,
    ),
    ("companies", "name", "Name", "text", true, false, false),
    (
        "companies",
        "domains",
        "Domains",
        "domain",
        true,
        true,
        true,
    ),
    (
        "companies",
        "description",
        "Description",
        "text",
        false,
        false,
        false,
    ),
    (
        "sales-pipeline",
        "stage",
        "Stage",
        "text",
        false,
        false,
        false,
    ),
    (
        "sales-pipeline",
        "next_step",
        "Next step",
        "text",
        false,
        false,
        false,
    ),
    ("key-contacts", "role", "Role", "text", false, false, false),
];

/// A workspace without demo data: only the attributes of the two standard objects.
pub(crate) fn empty(ids: &SeedIds) -> Crm {
    let mut attributes = attributes(ids);
    attributes.retain(|a| matches!(a.parent, AttributeParent::Object(_)));
    Crm {
        attributes,
        lists: Vec::new(),
        entries: Vec::new(),
        notes: Vec::new(),
        threads: Vec::new(),
        comments: Vec::new(),
        meetings: Vec::new(),
    }
}

fn attributes(ids: &SeedIds) -> Vec<Attribute> {
    ATTRIBUTES
        .iter()
        .map(
            |(parent, slug, title, kind, system, unique, multi)| Attribute {
                id: ids.id(&format!("attribute:{parent}:{slug}")),
                parent: match *parent {
                    "people" => AttributeParent::Object(ObjectKind::People),
                    "companies" => AttributeParent::Object(ObjectKind::Companies),
                    list_slug => AttributeParent::List(ids.id(&format!("list:{list_slug}"))),
                },
                title: (*title).to_owned(),
                api_slug: (*slug).to_owned(),
                description: None,
                kind: (*kind).to_owned(),
                is_required: false,
                is_unique: *unique,
                is_multiselect: *multi,
                is_archived: false,
                is_system: *system,
                created_at: CONFIGURED,
                choices: Vec::new(),
            },
        )
        .collect()
}

/// The demo CRM over `records` (at least five people and two companies) and `members` (at least
/// one; the first admin, or the first member, configures the lists).
pub(crate) fn seed(ids: &SeedIds, members: &[Member], records: &[Record]) -> Crm {
    let member = |i: usize| members[i % members.len()].id;
    let admin = members
        .iter()
        .find(|m| m.access_level == AccessLevel::Admin)
        .map_or(Actor::WorkspaceMember(member(0)), |m| {
            Actor::WorkspaceMember(m.id)
        });
    let lists = vec![
        list(
            ids,
            "sales-pipeline",
            "Sales pipeline",
            ObjectKind::Companies,
            admin,
        ),
        list(
            ids,
            "key-contacts",
            "Key contacts",
            ObjectKind::People,
            admin,
        ),
    ];
    let attributes = attributes(ids);
    let attribute = |parent: &str, slug: &str| ids.id(&format!("attribute:{parent}:{slug}"));
    let people: Vec<&Record> = records
        .iter()
        .filter(|r| r.object == ObjectKind::People)
        .collect();
    let companies: Vec<&Record> = records
        .iter()
        .filter(|r| r.object == ObjectKind::Companies)
        .collect();

    let stages = ["Qualified", "Proposal", "Negotiation"];
    let mut entries: Vec<Entry> = companies
        .iter()
        .zip(stages)
        .enumerate()
        .map(|(i, (company, stage))| {
            let values = BTreeMap::from([(attribute("sales-pipeline", "stage"), json!(stage))]);
            entry(ids, &lists[0], i, company, values)
        })
        .collect();
    entries.extend(people.iter().step_by(4).enumerate().map(|(i, person)| {
        let values = BTreeMap::from([(attribute("key-contacts", "role"), json!("Champion"))]);
        entry(ids, &lists[1], i, person, values)
    }));

    let notes = [
        (
            people[0],
            "Intro call",
            "Interested in the analytics add-on; follow up in May.",
        ),
        (
            companies[1],
            "Renewal risk",
            "Budget freeze until Q3. Keep the champion close.",
        ),
        (
            people[4],
            "Demo feedback",
            "Loved the dashboards, asked about SSO.",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (record, title, content))| Note {
        id: ids.id(&format!("note:{i}")),
        object: record.object,
        record_id: record.id,
        title: (*title).to_owned(),
        content: (*content).to_owned(),
        meeting_id: None,
        created_by: Actor::WorkspaceMember(member(1 + i)),
        created_at: CONFIGURED + Duration::days(40 + 3 * i as i64),
    })
    .collect();

    let threads = vec![
        Thread {
            id: ids.id("thread:0"),
            target: CommentTarget::Record {
                object: ObjectKind::People,
                record_id: people[0].id,
            },
            created_at: CONFIGURED + Duration::days(41),
        },
        Thread {
            id: ids.id("thread:1"),
            target: CommentTarget::Entry {
                list_id: lists[0].id,
                entry_id: entries[0].id,
            },
            created_at: CONFIGURED + Duration::days(42),
        },
    ];
    let comments = [
        (0, 1, "Can someone send Maria the pricing sheet?", true),
        (0, 2, "Sent it this morning.", false),
        (1, 3, "Procurement wants a security review first.", false),
    ]
    .iter()
    .enumerate()
    .map(|(i, (thread, author, content, resolved))| {
        let created_at = CONFIGURED + Duration::days(41 + i as i64);
        Comment {
            id: ids.id(&format!("comment:{i}")),
            thread_id: threads[*thread].id,
            content: (*content).to_owned(),
            author: member(*author),
            resolved: resolved.then_some((created_at + Duration::hours(3), admin)),
            created_at,
        }
    })
    .collect();

    let meetings = ["Globex quarterly review", "Initech discovery call"]
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let start = datetime!(2026-04-14 14:00:00 UTC) + Duration::days(9 * i as i64);
            Meeting {
                id: ids.id(&format!("meeting:{i}")),
                title: (*title).to_owned(),
                description: String::new(),
                is_all_day: false,
                start,
                end: start + Duration::minutes(45),
                start_timezone: Some("UTC".to_owned()),
                end_timezone: Some("UTC".to_owned()),
                participants: Vec::new(),
                linked_records: Vec::new(),
                external_ref: None,
                created_at: start - Duration::days(7),
                created_by: Actor::System,
            }
        })
        .collect();

    Crm {
        attributes,
        lists,
        entries,
        notes,
        threads,
        comments,
        meetings,
    }
}

fn list(
    ids: &SeedIds,
    slug: &str,
    name: &str,
    parent_object: ObjectKind,
    created_by: Actor,
) -> List {
    List {
        id: ids.id(&format!("list:{slug}")),
        api_slug: slug.to_owned(),
        name: name.to_owned(),
        parent_object,
        workspace_access: Some("full-access".to_owned()),
        member_access: Vec::new(),
        created_by,
        created_at: CONFIGURED,
    }
}

fn entry(
    ids: &SeedIds,
    list: &List,
    i: usize,
    record: &Record,
    values: BTreeMap<Uuid, Value>,
) -> Entry {
    Entry {
        id: ids.id(&format!("entry:{}:{i}", list.api_slug)),
        list_id: list.id,
        object: record.object,
        record_id: record.id,
        values,
        created_at: CONFIGURED + Duration::days(30 + i as i64),
        history: ValueHistory::new(Written {
            at: CONFIGURED + Duration::days(30 + i as i64),
            by: Actor::System,
        }),
    }
}
