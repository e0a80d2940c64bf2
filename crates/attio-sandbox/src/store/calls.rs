//! Meetings and their call recordings. `POST /v2/meetings` is a find-or-create by external
//! reference that, as Attio does, makes a person record for each participant's email address it
//! does not know yet and links those people to the meeting. `call-recording.created` fires once
//! a recording has finished; the sandbox has no media to process, so a recording finishes as it
//! is added.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Actor, ObjectKind, RecordChanges, WorkspaceStore};
use crate::events::Event;

#[derive(Clone, Debug)]
pub(crate) struct Meeting {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// All-day meetings start and end on dates (kept as midnight UTC), others at instants.
    pub is_all_day: bool,
    pub start: OffsetDateTime,
    /// Exclusive, as in iCalendar: a one-day meeting on the 3rd ends on the 4th.
    pub end: OffsetDateTime,
    /// The IANA time zones given for the start and the end (none for all-day meetings).
    pub start_timezone: Option<String>,
    pub end_timezone: Option<String>,
    pub participants: Vec<Participant>,
    pub linked_records: Vec<(ObjectKind, Uuid)>,
    pub external_ref: Option<ExternalRef>,
    pub created_at: OffsetDateTime,
    pub created_by: Actor,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Participant {
    /// Normalised: trimmed and lowercase.
    pub email: String,
    pub is_organizer: bool,
    pub status: ParticipantStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParticipantStatus {
    Accepted,
    Tentative,
    Declined,
    Pending,
}

impl ParticipantStatus {
    pub const ALL: [ParticipantStatus; 4] = [
        ParticipantStatus::Accepted,
        ParticipantStatus::Tentative,
        ParticipantStatus::Declined,
        ParticipantStatus::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantStatus::Accepted => "accepted",
            ParticipantStatus::Tentative => "tentative",
            ParticipantStatus::Declined => "declined",
            ParticipantStatus::Pending => "pending",
        }
    }

    pub fn parse(value: &str) -> Option<ParticipantStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// What de-duplicates meetings: a caller's own text id, or a calendar event's iCal UID.
#[derive(Clone, Debug)]
pub(crate) enum ExternalRef {
    Text(String),
    Calendar {
        ical_uid: String,
        /// `google` or `microsoft`.
        provider: String,
        /// Set for the exceptions of a recurring event. (`is_recurring` is checked by the
        /// endpoint and not kept: it describes the event and no answer shows it.)
        original_start_time: Option<OffsetDateTime>,
    },
}

impl ExternalRef {
    /// Whether two references name the same meeting.
    fn same_meeting(&self, other: &ExternalRef) -> bool {
        match (self, other) {
            (ExternalRef::Text(a), ExternalRef::Text(b)) => a == b,
            (
                ExternalRef::Calendar {
                    ical_uid: a,
                    provider: pa,
                    original_start_time: ta,
                    ..
                },
                ExternalRef::Calendar {
                    ical_uid: b,
                    provider: pb,
                    original_start_time: tb,
                    ..
                },
            ) => a == b && pa == pb && ta == tb,
            _ => false,
        }
    }
}

/// A meeting to find or create, already validated (its linked records exist).
pub(crate) struct NewMeeting {
    pub title: String,
    pub description: String,
    pub is_all_day: bool,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub start_timezone: Option<String>,
    pub end_timezone: Option<String>,
    pub participants: Vec<Participant>,
    pub linked_records: Vec<(ObjectKind, Uuid)>,
    pub external_ref: ExternalRef,
}

#[derive(Clone, Debug)]
pub(crate) struct CallRecording {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub created_by: Actor,
    pub created_at: OffsetDateTime,
}

impl WorkspaceStore {
    pub fn meeting(&self, id: Uuid) -> Option<&Meeting> {
        self.meetings.iter().find(|m| m.id == id)
    }

    /// The meeting `external_ref` names if there is one; otherwise a new meeting, for which
    /// every participant without a person record gets one (`record.created`), and the people of
    /// all participants are linked beside the given records.
    pub fn find_or_create_meeting(
        &mut self,
        new: NewMeeting,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Meeting {
        if let Some(found) = self.meetings.iter().find(|m| {
            m.external_ref
                .as_ref()
                .is_some_and(|r| r.same_meeting(&new.external_ref))
        }) {
            return found.clone();
        }
        let mut linked_records = new.linked_records;
        for participant in &new.participants {
            let person = match self.record_by_unique_value(ObjectKind::People, &participant.email) {
                Some(person) => Some(person.id),
                None => {
                    let changes = RecordChanges {
                        uniques: Some(vec![participant.email.clone()]),
                        ..RecordChanges::default()
                    };
                    self.create_record(ObjectKind::People, changes, actor, now)
                        .ok()
                        .map(|person| person.id)
                }
            };
            if let Some(id) = person {
                if !linked_records.contains(&(ObjectKind::People, id)) {
                    linked_records.push((ObjectKind::People, id));
                }
            }
        }
        let meeting = Meeting {
            id: Uuid::new_v4(),
            title: new.title,
            description: new.description,
            is_all_day: new.is_all_day,
            start: new.start,
            end: new.end,
            start_timezone: new.start_timezone,
            end_timezone: new.end_timezone,
            participants: new.participants,
            linked_records,
            external_ref: Some(new.external_ref),
            created_at: now,
            created_by: actor,
        };
        self.meetings.push(meeting.clone());
        meeting
    }

    /// Points meeting links at `from` to `to` instead, keeping each link once (after a merge).
    pub(super) fn relink_meetings(&mut self, object: ObjectKind, from: Uuid, to: Uuid) {
        for meeting in &mut self.meetings {
            let mut links = Vec::with_capacity(meeting.linked_records.len());
            for (kind, id) in meeting.linked_records.drain(..) {
                let link = if kind == object && id == from {
                    (kind, to)
                } else {
                    (kind, id)
                };
                if !links.contains(&link) {
                    links.push(link);
                }
            }
            meeting.linked_records = links;
        }
    }

    /// Drops meeting links to a deleted record.
    pub(super) fn unlink_meetings(&mut self, object: ObjectKind, record_id: Uuid) {
        for meeting in &mut self.meetings {
            meeting
                .linked_records
                .retain(|link| *link != (object, record_id));
        }
    }

    pub fn recording(&self, meeting_id: Uuid, id: Uuid) -> Option<&CallRecording> {
        self.recordings
            .iter()
            .find(|r| r.meeting_id == meeting_id && r.id == id)
    }

    /// A meeting's recordings, oldest first.
    pub fn recordings_of(&self, meeting_id: Uuid) -> impl Iterator<Item = &CallRecording> {
        self.recordings
            .iter()
            .filter(move |r| r.meeting_id == meeting_id)
    }

    /// Adds a finished recording to a meeting and emits `call-recording.created`. (The media's
    /// URL is checked by the endpoint but not kept: nothing here plays it.)
    pub fn finish_recording(
        &mut self,
        meeting_id: Uuid,
        actor: Actor,
        now: OffsetDateTime,
    ) -> CallRecording {
        let recording = CallRecording {
            id: Uuid::new_v4(),
            meeting_id,
            created_by: actor,
            created_at: now,
        };
        self.recordings.push(recording.clone());
        let id = json!({
            "workspace_id": self.workspace.id,
            "meeting_id": meeting_id,
            "call_recording_id": recording.id,
        });
        self.emit(Event::new("call-recording.created", id, vec![], actor));
        recording
    }

    /// Deletes a recording (and so its transcript). Attio has no event for this.
    pub fn delete_recording(&mut self, meeting_id: Uuid, id: Uuid) -> bool {
        let before = self.recordings.len();
        self.recordings
            .retain(|r| !(r.meeting_id == meeting_id && r.id == id));
        self.recordings.len() != before
    }
}
