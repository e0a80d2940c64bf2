//! The deterministic demo workspaces ("Acme Demo" first, then the smaller "Globex"): the same ids,
//! people, companies and tasks on every start; and the seed of workspaces created at run time.
//!
//! Every timestamp is fixed (nothing depends on the clock), so two sandboxes serve identical data.
//! Seed tasks were created between March and May 2026; "past" deadlines fall in spring 2026 and
//! "future" ones in 2027–2028.

mod crm;
mod globex;

use std::collections::BTreeMap;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::ids::SeedIds;
use crate::store::{
    AccessLevel, Actor, LinkedRecord, Member, Object, ObjectKind, Record, Seed, Task, ValueHistory,
    Workspace, Written,
};

pub(crate) const WORKSPACE_NAME: &str = "Acme Demo";
const WORKSPACE_SLUG: &str = "acme-demo";

/// First name, last name, access level. Exactly one admin and one suspended member.
const MEMBERS: &[(&str, &str, AccessLevel)] = &[
    ("Alice", "Moreau", AccessLevel::Admin),
    ("Ben", "Okafor", AccessLevel::Member),
    ("Chloé", "Martin", AccessLevel::Member),
    ("Dmitri", "Ivanov", AccessLevel::Member),
    ("Emma", "Larsen", AccessLevel::Member),
    ("Farah", "Haddad", AccessLevel::Member),
    ("Gabriel", "Silva", AccessLevel::Suspended),
    ("Hana", "Tanaka", AccessLevel::Member),
    ("Isaac", "Mensah", AccessLevel::Member),
];

/// Company name and domain.
const COMPANIES: &[(&str, &str)] = &[
    ("Northwind Traders", "northwind.test"),
    ("Globex Corporation", "globex.test"),
    ("Initech", "initech.test"),
    ("Blue Harbor Foods", "blueharbor.test"),
    ("Kestrel Analytics", "kestrel.test"),
    ("Pinecrest Energy", "pinecrest.test"),
];

/// Person name and email; two contacts per company, in `COMPANIES` order.
const PEOPLE: &[(&str, &str)] = &[
    ("Maria Santos", "maria.santos@northwind.test"),
    ("Tom Becker", "tom.becker@northwind.test"),
    ("Priya Raman", "priya.raman@globex.test"),
    ("Lucas Ferreira", "lucas.ferreira@globex.test"),
    ("Sofia Rossi", "sofia.rossi@initech.test"),
    ("James O'Connor", "james.oconnor@initech.test"),
    ("Amara Nwosu", "amara.nwosu@blueharbor.test"),
    ("Oliver Schmidt", "oliver.schmidt@blueharbor.test"),
    ("Yuki Sato", "yuki.sato@kestrel.test"),
    ("Daniel Cohen", "daniel.cohen@kestrel.test"),
    ("Elena Petrova", "elena.petrova@pinecrest.test"),
    ("Noah Williams", "noah.williams@pinecrest.test"),
];

/// Task texts by what they link to. Task `i` uses list `i % 4`, entry `i / 4`.
const UNLINKED_TASKS: &[&str] = &[
    "Update the Q2 pipeline forecast",
    "Clean up duplicate contacts in the CRM",
    "Fix the <script> tag error on the pricing page & re-test",
    "Draft the customer newsletter for June",
    "Review the sales playbook with the new hires",
    "Prepare slides for the all-hands meeting",
    "Renew the trade-show booth reservation",
    "Write the onboarding guide for support",
    "Audit open opportunities older than 90 days",
    "Set up the shared inbox rules",
    "Book the team offsite venue",
    "Collect case-study quotes from happy customers",
];
const PERSON_TASKS: &[&str] = &[
    "Call {} about the renewal",
    "Send {} the onboarding checklist",
    "Follow up with {} after the demo",
    "Schedule a product walkthrough with {}",
    "Ask {} for feedback on the new dashboard",
    "Share the security questionnaire with {}",
    "Confirm the contract signatory with {}",
    "Send {} the updated price list",
    "Introduce {} to the support team",
    "Thank {} for the referral",
    "Check in with {} about the pilot results",
    "Invite {} to the customer advisory board",
];
const COMPANY_TASKS: &[&str] = &[
    "Prepare the quarterly business review for {}",
    "Send the renewal quote to {}",
    "Research the org chart at {}",
    "Log the support escalation from {}",
    "Draft a mutual action plan for {}",
    "Update the account plan for {}",
    "Chase the unpaid invoice from {}",
    "Plan the expansion pitch for {}",
    "Review usage data for {}",
    "Set up the sandbox environment for {}",
    "Confirm the billing address for {}",
    "Send the case-study draft to {}",
];
const BOTH_TASKS: &[&str] = &[
    "Ask {p} for an introduction to procurement at {c}",
    "Send {p} the {c} implementation timeline",
    "Book an on-site visit at {c} with {p}",
    "Review the {c} legal redlines with {p}",
    "Get {p}'s sign-off on the {c} proposal",
    "Walk {p} through the {c} usage report",
    "Agree next steps for {c} with {p}",
    "Prepare {p} for the {c} steering committee",
    "Send {p} the {c} renewal summary",
    "Plan the {c} rollout call with {p}",
    "Collect {c} requirements from {p}",
    "Share the {c} success plan with {p}",
];

/// How many tasks the seed creates.
pub(crate) const TASK_COUNT: usize = 48;

/// What a seeded workspace holds besides its members: people (name, email), companies (name,
/// domain; two people per company, in order) and how many tasks.
pub(crate) struct DataSet {
    pub people: &'static [(&'static str, &'static str)],
    pub companies: &'static [(&'static str, &'static str)],
    pub tasks: usize,
}

const ACME: DataSet = DataSet {
    people: PEOPLE,
    companies: COMPANIES,
    tasks: TASK_COUNT,
};

/// The small data set of Globex, also used by `POST /_sandbox/workspaces` with `seed: true`.
pub(crate) use globex::DATA as SMALL_DATA;

/// The demo workspaces in order: "Acme Demo" (the first workspace) and "Globex".
pub(crate) fn demo() -> Vec<Seed> {
    vec![seed(), globex::seed()]
}

/// "Acme Demo", with the ids it has always had (its labels carry no prefix).
pub(crate) fn seed() -> Seed {
    let ids = SeedIds::root();
    let workspace = Workspace {
        id: ids.id("workspace:acme-demo"),
        name: WORKSPACE_NAME.to_owned(),
        slug: WORKSPACE_SLUG.to_owned(),
    };
    let joined = datetime!(2025-01-13 09:30:00.125000 UTC);
    let members = members(&ids, MEMBERS, "acme-demo.test", joined);
    build(&ids, workspace, members, Some(&ACME))
}

/// A workspace's seed: its members, the two standard objects with their attributes, and with
/// `data` the demo records, tasks, lists, entries, notes, comment threads and meetings.
pub(crate) fn build(
    ids: &SeedIds,
    workspace: Workspace,
    members: Vec<Member>,
    data: Option<&DataSet>,
) -> Seed {
    // The standard objects exist from the workspace's start: its first member's arrival.
    let created_at = members
        .iter()
        .map(|m| m.created_at)
        .min()
        .unwrap_or_else(crate::timestamp::now);
    let objects = vec![
        Object {
            id: ids.id("object:people"),
            kind: ObjectKind::People,
            api_slug: "people".to_owned(),
            singular_noun: "Person".to_owned(),
            plural_noun: "People".to_owned(),
            created_at,
        },
        Object {
            id: ids.id("object:companies"),
            kind: ObjectKind::Companies,
            api_slug: "companies".to_owned(),
            singular_noun: "Company".to_owned(),
            plural_noun: "Companies".to_owned(),
            created_at,
        },
    ];
    let Some(data) = data.filter(|_| !members.is_empty()) else {
        return Seed {
            workspace,
            members,
            objects,
            records: Vec::new(),
            tasks: Vec::new(),
            crm: crm::empty(ids),
        };
    };
    let records = records(ids, data);
    let tasks = (0..data.tasks)
        .map(|i| task(ids, i, data, &members, &records))
        .collect();
    let crm = crm::seed(ids, &members, &records);
    Seed {
        workspace,
        members,
        objects,
        records,
        tasks,
        crm,
    }
}

/// Members from (first name, last name, access level), with `first.last@domain` addresses
/// (accents dropped), joining nine days apart.
fn members(
    ids: &SeedIds,
    rows: &[(&str, &str, AccessLevel)],
    domain: &str,
    joined: OffsetDateTime,
) -> Vec<Member> {
    rows.iter()
        .enumerate()
        .map(|(i, (first, last, level))| {
            let email = format!(
                "{}.{}@{domain}",
                first.to_lowercase().replace('é', "e"),
                last.to_lowercase()
            );
            Member {
                id: ids.id(&format!("member:{email}")),
                first_name: (*first).to_owned(),
                last_name: (*last).to_owned(),
                email,
                access_level: *level,
                created_at: joined
                    + Duration::days(9 * i as i64)
                    + Duration::minutes(17 * i as i64),
            }
        })
        .collect()
}

/// When the demo CRM was filled.
const RECORDS_CREATED: OffsetDateTime = datetime!(2025-02-03 10:00:00 UTC);

/// Seeded values were written by the system when the demo CRM was filled.
fn seeded_history() -> ValueHistory {
    ValueHistory::new(Written {
        at: RECORDS_CREATED,
        by: Actor::System,
    })
}

fn records(ids: &SeedIds, data: &DataSet) -> Vec<Record> {
    let people = data.people.iter().map(|(name, email)| Record {
        id: ids.id(&format!("person:{email}")),
        object: ObjectKind::People,
        name: (*name).to_owned(),
        uniques: vec![(*email).to_owned()],
        values: BTreeMap::new(),
        created_at: RECORDS_CREATED,
        history: seeded_history(),
    });
    let companies = data.companies.iter().map(|(name, domain)| Record {
        id: ids.id(&format!("company:{domain}")),
        object: ObjectKind::Companies,
        name: (*name).to_owned(),
        uniques: vec![(*domain).to_owned()],
        values: BTreeMap::new(),
        created_at: RECORDS_CREATED,
        history: seeded_history(),
    });
    people.chain(companies).collect()
}

/// Task `i`: links by `i % 4`, `i % 3` assignees, deadline by `i % 5`, completed when `i % 3 == 1`.
fn task(ids: &SeedIds, i: usize, data: &DataSet, members: &[Member], records: &[Record]) -> Task {
    let n = i as i64;
    let created_at = datetime!(2026-03-02 08:15:00 UTC)
        + Duration::hours(31 * n)
        + Duration::minutes((n * 53) % 240)
        + Duration::microseconds((n * 7919 + 1031) % 1_000_000);
    let person = &records[(i * 5) % data.people.len()];
    let company = &records[data.people.len() + (i * 7) % data.companies.len()];
    let entry = i / 4;
    let (content, linked_records) = match i % 4 {
        0 => (UNLINKED_TASKS[entry].to_owned(), vec![]),
        1 => (
            PERSON_TASKS[entry].replace("{}", &person.name),
            vec![link(person)],
        ),
        2 => (
            COMPANY_TASKS[entry].replace("{}", &company.name),
            vec![link(company)],
        ),
        _ => (
            BOTH_TASKS[entry]
                .replace("{p}", &person.name)
                .replace("{c}", &company.name),
            vec![link(person), link(company)],
        ),
    };
    let mut assignees: Vec<Uuid> = (0..i % 3)
        .map(|k| members[(i * 2 + k * 5) % members.len()].id)
        .collect();
    // Only a workspace of one member can draw the same one twice.
    assignees.dedup();
    let deadline_at = match i % 5 {
        0 | 3 => None,
        1 | 4 => Some(midday(created_at) + Duration::days(6 + (n % 9))),
        _ => Some(datetime!(2027-02-01 17:00:00 UTC) + Duration::days(11 * n)),
    };
    let completed_at = (i % 3 == 1).then(|| created_at + Duration::hours(20 + (n * 37) % 200));
    let created_by = if i % 17 == 13 {
        Actor::System
    } else {
        Actor::WorkspaceMember(members[(i * 3) % members.len()].id)
    };
    Task {
        id: ids.id(&format!("task:{i}")),
        content,
        deadline_at,
        is_completed: completed_at.is_some(),
        completed_at,
        linked_records,
        assignees,
        created_by,
        created_at,
    }
}

fn link(record: &Record) -> LinkedRecord {
    LinkedRecord {
        object: record.object,
        record_id: record.id,
    }
}

/// Deadlines fall at 17:00 UTC on their day.
fn midday(ts: OffsetDateTime) -> OffsetDateTime {
    ts.replace_time(time::macros::time!(17:00))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every id a seed hands out.
    fn ids(s: &Seed) -> Vec<Uuid> {
        let crm = &s.crm;
        std::iter::once(s.workspace.id)
            .chain(s.members.iter().map(|m| m.id))
            .chain(s.objects.iter().map(|o| o.id))
            .chain(s.records.iter().map(|r| r.id))
            .chain(s.tasks.iter().map(|t| t.id))
            .chain(crm.attributes.iter().map(|a| a.id))
            .chain(crm.lists.iter().map(|l| l.id))
            .chain(crm.entries.iter().map(|e| e.id))
            .chain(crm.notes.iter().map(|n| n.id))
            .chain(crm.threads.iter().map(|t| t.id))
            .chain(crm.comments.iter().map(|c| c.id))
            .chain(crm.meetings.iter().map(|m| m.id))
            .collect()
    }

    #[test]
    fn acme_keeps_its_ids_and_globex_shares_none() {
        let [acme, globex] = <[Seed; 2]>::try_from(demo()).ok().expect("two workspaces");
        // The ids Taskr and its tests have always seen.
        assert_eq!(
            acme.workspace.id,
            crate::ids::seeded_uuid("workspace:acme-demo")
        );
        assert_eq!(acme.tasks[0].id, crate::ids::seeded_uuid("task:0"));
        assert_eq!(
            acme.members[0].id,
            crate::ids::seeded_uuid("member:alice.moreau@acme-demo.test")
        );
        assert_eq!(acme.members[2].email, "chloe.martin@acme-demo.test");
        assert_eq!(
            (globex.workspace.name.as_str(), globex.members.len()),
            ("Globex", 4)
        );
        assert_eq!((globex.tasks.len(), globex.records.len()), (12, 9));
        let acme_ids: HashSet<Uuid> = ids(&acme).into_iter().collect();
        let globex_ids: Vec<Uuid> = ids(&globex);
        assert!(globex_ids.iter().all(|id| !acme_ids.contains(id)));
        assert_eq!(ids(&globex), ids(&globex::seed()), "deterministic");
    }

    #[test]
    fn the_seed_meets_its_promised_shape() {
        let s = seed();
        assert!(s.members.len() >= 8);
        let count = |level| s.members.iter().filter(|m| m.access_level == level).count();
        assert_eq!(count(AccessLevel::Admin), 1);
        assert_eq!(count(AccessLevel::Suspended), 1);
        assert_eq!(s.tasks.len(), TASK_COUNT);
        let completed = s.tasks.iter().filter(|t| t.is_completed).count();
        assert_eq!(completed, TASK_COUNT / 3);
        assert!(s
            .tasks
            .windows(2)
            .all(|w| w[0].created_at < w[1].created_at));
        for n in 0..=2 {
            assert!(
                s.tasks.iter().any(|t| t.assignees.len() == n),
                "{n} assignees"
            );
        }
        for t in &s.tasks {
            assert!(!t.content.contains('{'), "unfilled template: {}", t.content);
            let mut a = t.assignees.clone();
            a.dedup();
            assert_eq!(
                a.len(),
                t.assignees.len(),
                "duplicate assignee in {}",
                t.content
            );
        }
    }
}
