//! Naming what tasks and events refer to. A delivery's events mark the names cache
//! (`marks_of`: a record seen, changed, deleted or merged; a note, list, attribute or meeting
//! seen, changed or deleted), in the same transaction as the rest of their batch; then `fill`
//! reads from Attio what the cache wants, a bounded number at a time.
//!
//! A name never holds a delivery back: the event is in the feed (and the task on the page) at
//! once, with what is known; what could not be read (Attio down, rate limiting) stays wanted
//! and is read by a later pass (the workspace's next batch of deliveries, or the periodic
//! reconciliation). What the link may not read (a scope it lacks, a 403) is not asked for
//! again until a reconciliation finds a link that may; pages then say "a note" instead of its
//! title.

use std::time::Duration;

use attio::webhooks::WebhookEvent;
use attio::{AttioError, EventType};

use crate::attio_gateway::open_token;
use crate::live::{Change, LiveEvent};
use crate::store::{
    refs_of, NameKey, NameKind, NameMark, NameRead, NameRef, ObjectInfo, Reads, ReadsChanged,
    RecordRead, WantedName, WantedRecord, WorkspaceId, FORBIDDEN,
};
use crate::sync::SyncService;

/// Reads in flight at once.
const PARALLEL_READS: usize = 8;
/// Wanted rows asked for at once.
const CHUNK: u32 = 64;
/// Transient failures in a row after which Attio is taken to be down for this pass.
const FAILURES_BEFORE_STOP: usize = 3;
/// The longest wait before a failed read is tried again.
const MAX_RETRY: Duration = Duration::from_secs(3600);

/// What the events change in the names cache: every record and thing they name is wanted if
/// never read; a change wants it read again; a deletion or a merge is written as such.
pub fn marks_of(event: &WebhookEvent) -> Vec<NameMark> {
    use EventType::*;
    let mut marks: Vec<NameMark> = refs_of(event)
        .into_iter()
        .filter_map(|reference| match reference {
            NameRef::Record { object, record } => Some(NameMark::RecordSeen { object, record }),
            // A task is named from the task cache; a deleted one from what the worker knew.
            NameRef::Name { key, .. } if key.kind == NameKind::Task => None,
            NameRef::Name { key, parent } => Some(NameMark::Seen { key, parent }),
        })
        .collect();
    let id = &event.id;
    let record = id.object_id.clone().zip(id.record_id);
    let attribute = || {
        let parent = match &event.event_type {
            ListAttributeUpdated => id.list_id.as_ref().map(|l| format!("list:{l}")),
            _ => id.object_id.as_ref().map(|o| format!("object:{o}")),
        };
        id.attribute_id.clone().map(|a| NameMark::Changed {
            key: NameKey::new(NameKind::Attribute, a),
            parent,
        })
    };
    let changed = |kind, raw: Option<String>| {
        raw.map(|raw| NameMark::Changed {
            key: NameKey::new(kind, raw),
            parent: None,
        })
    };
    let deleted = |kind, raw: Option<String>| {
        raw.map(|raw| NameMark::Deleted {
            key: NameKey::new(kind, raw),
            name: None,
        })
    };
    let mark = match &event.event_type {
        RecordUpdated => record.map(|(object, record)| NameMark::RecordChanged { object, record }),
        RecordDeleted => record.map(|(object, record)| NameMark::RecordDeleted { object, record }),
        // Both of Attio's descriptions of a merge: `record_id` is the record that stays (the
        // original, or a new one), `duplicate_record_id` the one that went into it.
        RecordMerged => record
            .zip(event.duplicate_record_id)
            .map(|((object, into), duplicate)| NameMark::RecordMerged {
                object,
                duplicate,
                into,
            }),
        NoteUpdated => changed(NameKind::Note, id.note_id.map(|n| n.to_string())),
        NoteDeleted => deleted(NameKind::Note, id.note_id.map(|n| n.to_string())),
        ListUpdated => changed(NameKind::List, id.list_id.clone()),
        ListDeleted => deleted(NameKind::List, id.list_id.clone()),
        ListAttributeUpdated | ObjectAttributeUpdated => attribute(),
        _ => None,
    };
    marks.extend(mark);
    // An object's attributes changed: its nouns may have too (Attio has no object events).
    if matches!(
        event.event_type,
        ObjectAttributeCreated | ObjectAttributeUpdated
    ) {
        marks.push(NameMark::Changed {
            key: NameKey::objects(),
            parent: None,
        });
    }
    marks
}

/// How a pass treats Attio's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// The inbox worker: a 429 comes back at once and ends the pass (what is left waits for
    /// the next), so that other workspaces are not held up.
    Worker,
    /// A backfill or reconciliation, in the background: the client waits out `Retry-After` a
    /// few times before giving up.
    Backfill,
}

/// Reads up to `budget` of what the workspace's names cache wants, with its oldest working
/// link, and publishes what changed. Failures are stored on the rows (and logged), never
/// returned: only Taskr's own failures (the database, a token it cannot open) are errors.
pub async fn fill(
    state: &SyncService,
    workspace: WorkspaceId,
    budget: usize,
    pace: Pace,
) -> anyhow::Result<ReadsChanged> {
    let mut changed = ReadsChanged::default();
    let Some(link) = state
        .store
        .active_links(workspace)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(changed);
    };
    let mut client = state.attio.client(open_token(&state.cipher, &link)?);
    if pace == Pace::Worker {
        client = client.with_rate_limit_retries(0);
    }
    let mut spent = 0;
    while spent < budget {
        let limit = u32::try_from(budget - spent).unwrap_or(CHUNK).min(CHUNK);
        let wanted = state
            .store
            .wanted_names(workspace, crate::now_ms(), limit)
            .await?;
        if wanted.is_empty() {
            break;
        }
        let mut targets: Vec<Target> = wanted
            .records
            .into_iter()
            .map(Target::Record)
            .chain(wanted.names.into_iter().map(Target::Name))
            .collect();
        targets.truncate(budget - spent);
        let (reads, stop) = read_all(&client, &link.scopes, targets).await;
        spent += reads.records.len() + reads.names.len();
        let saved = state
            .store
            .save_reads(workspace, &reads, crate::now_ms())
            .await?;
        changed.records |= saved.records;
        changed.names |= saved.names;
        if let Some(reason) = stop {
            tracing::info!(%workspace, reason, "stopped reading names; the rest waits for the next pass");
            break;
        }
        if reads.is_empty() {
            break;
        }
    }
    // Records are on the tasks page and in the feed; other names only in the feed. Either
    // message drops the workspace's copies in the read model.
    if changed.records {
        state
            .coordinator
            .publish(LiveEvent::new(workspace, Change::Tasks));
    }
    if changed.records || changed.names {
        state
            .coordinator
            .publish(LiveEvent::new(workspace, Change::Activity));
    }
    Ok(changed)
}

/// Something to read.
enum Target {
    Record(WantedRecord),
    Name(WantedName),
}

/// What Attio answered for a name (records are read as records).
enum Answer {
    Record(attio::Record),
    Name(String, Option<String>),
    Objects(Vec<attio::Object>),
}

/// Reads the targets, a few at a time; stops early (with why) when Attio refuses the token,
/// rate limits or keeps failing. What was not read is left as it was (still wanted).
async fn read_all(
    client: &attio::Client,
    scopes: &str,
    targets: Vec<Target>,
) -> (Reads, Option<&'static str>) {
    let mut reads = Reads::default();
    let mut in_a_row = 0;
    let mut pending = targets.into_iter().peekable();
    while pending.peek().is_some() {
        let chunk: Vec<Target> = pending.by_ref().take(PARALLEL_READS).collect();
        let mut set = tokio::task::JoinSet::new();
        let mut answers: Vec<Option<Result<Answer, AttioError>>> = Vec::new();
        for (index, target) in chunk.iter().enumerate() {
            answers.push(None);
            if lacks_scope(target, scopes) {
                answers[index] = Some(Err(AttioError::Forbidden(FORBIDDEN.into())));
            } else {
                let client = client.clone();
                let request = request(target);
                set.spawn(async move { (index, request.send(&client).await) });
            }
        }
        while let Some(joined) = set.join_next().await {
            if let Ok((index, answer)) = joined {
                answers[index] = Some(answer);
            }
        }
        let now = crate::now_ms();
        let mut stop = None;
        for (target, answer) in chunk.into_iter().zip(answers) {
            let answer =
                answer.unwrap_or_else(|| Err(AttioError::Decode("the read stopped".into())));
            match &answer {
                Err(AttioError::Unauthorized(_)) => {
                    // The token is refused: leave it wanted; the task reads mark the link.
                    stop = Some("Attio refused the token");
                    continue;
                }
                Err(AttioError::RateLimited { .. }) => stop = Some("Attio is rate limiting"),
                Err(e) if e.is_transient() => {
                    in_a_row += 1;
                    if in_a_row >= FAILURES_BEFORE_STOP {
                        stop = Some("Attio keeps failing");
                    }
                }
                _ => in_a_row = 0,
            }
            record_outcome(&mut reads, target, answer, now);
        }
        if stop.is_some() {
            return (reads, stop);
        }
    }
    (reads, None)
}

/// The scopes a read needs, checked before asking: a link made before Taskr asked for them
/// cannot read notes, lists or meetings, and asking would only earn a 403.
fn lacks_scope(target: &Target, scopes: &str) -> bool {
    let needs: &[&str] = match target {
        Target::Record(_) => &["record_permission:read", "object_configuration:read"],
        Target::Name(wanted) => match wanted.key.kind {
            NameKind::Note => &[
                "note:read",
                "object_configuration:read",
                "record_permission:read",
            ],
            NameKind::List => &["list_configuration:read"],
            NameKind::Attribute
                if wanted
                    .parent
                    .as_deref()
                    .is_some_and(|p| p.starts_with("list:")) =>
            {
                &["list_configuration:read"]
            }
            NameKind::Attribute | NameKind::Objects => &["object_configuration:read"],
            NameKind::Meeting => &["meeting:read", "record_permission:read"],
            NameKind::Task => &[],
        },
    };
    needs
        .iter()
        .any(|scope| !attio::scope_granted(scopes, scope))
}

/// One request to Attio.
enum Request {
    Record(String, uuid::Uuid),
    Note(uuid::Uuid),
    List(String),
    Attribute(bool, String, String),
    Meeting(uuid::Uuid),
    Objects,
    /// Nothing Attio can answer (a key Taskr cannot read by): a 404.
    Unreadable,
}

fn request(target: &Target) -> Request {
    match target {
        Target::Record(wanted) => Request::Record(wanted.object.clone(), wanted.record),
        Target::Name(wanted) => {
            let uuid = || uuid::Uuid::parse_str(&wanted.key.id).ok();
            match wanted.key.kind {
                NameKind::Note => uuid().map_or(Request::Unreadable, Request::Note),
                NameKind::Meeting => uuid().map_or(Request::Unreadable, Request::Meeting),
                NameKind::List => Request::List(wanted.key.id.clone()),
                NameKind::Attribute => {
                    match wanted.parent.as_deref().and_then(|p| p.split_once(':')) {
                        Some((kind, parent)) => Request::Attribute(
                            kind == "list",
                            parent.to_owned(),
                            wanted.key.id.clone(),
                        ),
                        None => Request::Unreadable,
                    }
                }
                NameKind::Objects => Request::Objects,
                NameKind::Task => Request::Unreadable,
            }
        }
    }
}

impl Request {
    async fn send(self, client: &attio::Client) -> Result<Answer, AttioError> {
        Ok(match self {
            Request::Record(object, id) => Answer::Record(client.get_record(&object, id).await?),
            Request::Note(id) => {
                let note = client.get_note(id).await?;
                Answer::Name(note.title, note.parent_record_id.map(|r| r.to_string()))
            }
            Request::List(id) => Answer::Name(client.get_list(&id).await?.name, None),
            Request::Attribute(on_list, parent, id) => Answer::Name(
                client.get_attribute(on_list, &parent, &id).await?.title,
                None,
            ),
            Request::Meeting(id) => Answer::Name(client.get_meeting(id).await?.title, None),
            Request::Objects => Answer::Objects(client.list_objects().await?),
            Request::Unreadable => {
                return Err(AttioError::NotFound("Taskr cannot read this".into()))
            }
        })
    }
}

/// When a read that failed `attempts` times before is tried again.
fn retry_at(error: &AttioError, attempts: i64, now_ms: i64) -> i64 {
    let wait = match error {
        AttioError::RateLimited {
            retry_after: Some(after),
        } => *after,
        _ => Duration::from_secs(1) * 2u32.saturating_pow(attempts.clamp(0, 12) as u32),
    };
    now_ms
        + i64::try_from(wait.min(MAX_RETRY).as_millis())
            .unwrap_or(0)
            .max(1_000)
}

/// What an answer means for the cache.
fn record_outcome(
    reads: &mut Reads,
    target: Target,
    answer: Result<Answer, AttioError>,
    now_ms: i64,
) {
    let failure = |error: &AttioError, attempts| {
        let terminal = matches!(error, AttioError::Forbidden(_));
        let problem = if terminal {
            FORBIDDEN.to_owned()
        } else {
            error.to_string()
        };
        (problem, terminal, retry_at(error, attempts, now_ms))
    };
    match (target, answer) {
        (Target::Record(wanted), Ok(Answer::Record(record))) => {
            reads.records.push(RecordRead::Found {
                record: wanted.record,
                object_id: record
                    .id
                    .object_id
                    .as_deref()
                    .and_then(|o| uuid::Uuid::parse_str(o).ok()),
                name: record.name(),
                web_url: record.web_url.clone(),
            })
        }
        (Target::Record(wanted), Err(AttioError::NotFound(_))) => {
            reads.records.push(RecordRead::Gone(wanted.record))
        }
        (Target::Record(wanted), Err(error)) => {
            let (problem, terminal, retry_at_ms) = failure(&error, wanted.attempts);
            reads.records.push(RecordRead::Failed {
                record: wanted.record,
                problem,
                terminal,
                retry_at_ms,
            });
        }
        (Target::Name(wanted), Ok(Answer::Objects(objects))) => {
            reads.objects = Some(objects.into_iter().map(object_info).collect());
            reads.names.push(NameRead::Found {
                key: wanted.key,
                name: "*".to_owned(),
                parent: None,
            });
        }
        (Target::Name(wanted), Ok(Answer::Name(name, parent))) => {
            reads.names.push(NameRead::Found {
                key: wanted.key,
                name,
                parent,
            })
        }
        (Target::Name(wanted), Err(AttioError::NotFound(_))) => {
            reads.names.push(NameRead::Gone(wanted.key))
        }
        (Target::Name(wanted), Err(error)) => {
            let (problem, terminal, retry_at_ms) = failure(&error, wanted.attempts);
            reads.names.push(NameRead::Failed {
                key: wanted.key,
                problem,
                terminal,
                retry_at_ms,
            });
        }
        (Target::Record(wanted), Ok(_)) => reads.records.push(RecordRead::Failed {
            record: wanted.record,
            problem: "an unexpected answer".into(),
            terminal: false,
            retry_at_ms: now_ms + MAX_RETRY.as_millis() as i64,
        }),
        (Target::Name(wanted), Ok(Answer::Record(_))) => reads.names.push(NameRead::Failed {
            key: wanted.key,
            problem: "an unexpected answer".into(),
            terminal: false,
            retry_at_ms: now_ms + MAX_RETRY.as_millis() as i64,
        }),
    }
}

/// An object as cached: a missing noun falls back to the slug.
pub fn object_info(object: attio::Object) -> ObjectInfo {
    let singular = object
        .singular_noun
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| object.api_slug.clone());
    let plural = object
        .plural_noun
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| object.api_slug.clone());
    ObjectInfo {
        object_id: object.id.object_id,
        api_slug: object.api_slug,
        singular_noun: singular,
        plural_noun: plural,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn event(json: serde_json::Value) -> WebhookEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_rename_wants_the_record_again_and_a_deletion_keeps_it_unread() {
        let record = Uuid::new_v4();
        let id =
            serde_json::json!({"workspace_id": Uuid::nil(), "object_id": "o", "record_id": record});
        let seen = NameMark::RecordSeen {
            object: "o".into(),
            record,
        };
        let updated = marks_of(&event(
            serde_json::json!({"event_type": "record.updated", "id": id}),
        ));
        assert_eq!(
            updated,
            vec![
                seen.clone(),
                NameMark::RecordChanged {
                    object: "o".into(),
                    record
                }
            ]
        );
        let deleted = marks_of(&event(
            serde_json::json!({"event_type": "record.deleted", "id": id}),
        ));
        assert_eq!(
            deleted[1],
            NameMark::RecordDeleted {
                object: "o".into(),
                record
            }
        );
    }

    #[test]
    fn a_merge_points_the_duplicate_at_the_record_in_the_id() {
        let (into, duplicate) = (Uuid::new_v4(), Uuid::new_v4());
        let marks = marks_of(&event(serde_json::json!({
            "event_type": "record.merged",
            "id": {"workspace_id": Uuid::nil(), "object_id": "o", "record_id": into},
            "duplicate_object_id": "o", "duplicate_record_id": duplicate,
        })));
        assert_eq!(
            marks.last(),
            Some(&NameMark::RecordMerged {
                object: "o".into(),
                duplicate,
                into
            })
        );
    }

    #[test]
    fn attribute_changes_want_the_attribute_and_for_objects_the_objects_list() {
        let marks = marks_of(&event(serde_json::json!({
            "event_type": "object-attribute.updated",
            "id": {"workspace_id": Uuid::nil(), "object_id": "o", "attribute_id": "a"},
        })));
        let attribute = NameKey::new(NameKind::Attribute, "a");
        assert!(marks.contains(&NameMark::Changed {
            key: attribute.clone(),
            parent: Some("object:o".into())
        }));
        assert_eq!(
            marks.last(),
            Some(&NameMark::Changed {
                key: NameKey::objects(),
                parent: None
            })
        );
        let list = marks_of(&event(serde_json::json!({
            "event_type": "list-attribute.updated",
            "id": {"workspace_id": Uuid::nil(), "list_id": "l", "attribute_id": "a"},
        })));
        assert!(list.contains(&NameMark::Changed {
            key: attribute,
            parent: Some("list:l".into())
        }));
        assert!(!list.contains(&NameMark::Changed {
            key: NameKey::objects(),
            parent: None
        }));
    }

    #[test]
    fn reads_need_their_scopes_and_a_missing_one_costs_no_request() {
        let note = Target::Name(WantedName {
            key: NameKey::new(NameKind::Note, Uuid::nil()),
            parent: None,
            attempts: 0,
        });
        let old = "task:read user_management:read object_configuration:read record_permission:read";
        assert!(lacks_scope(&note, old));
        assert!(!lacks_scope(&note, &format!("{old} note:read-write")));
        let record = Target::Record(WantedRecord {
            record: Uuid::nil(),
            object: "people".into(),
            attempts: 0,
        });
        assert!(!lacks_scope(&record, old));
    }

    #[test]
    fn a_failed_read_waits_longer_each_time_and_a_rate_limit_as_long_as_it_says() {
        let now = 1_000_000;
        let transient = AttioError::Api {
            status: 503,
            message: String::new(),
        };
        assert_eq!(retry_at(&transient, 0, now), now + 1_000);
        assert_eq!(retry_at(&transient, 3, now), now + 8_000);
        assert_eq!(
            retry_at(&transient, 40, now),
            now + MAX_RETRY.as_millis() as i64
        );
        let limited = AttioError::RateLimited {
            retry_after: Some(Duration::from_secs(5)),
        };
        assert_eq!(retry_at(&limited, 9, now), now + 5_000);
    }
}
