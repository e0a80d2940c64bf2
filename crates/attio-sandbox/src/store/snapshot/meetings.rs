//! Meetings and call recordings in a snapshot.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::refs::{ActorState, ObjectSlug};
use super::Ts;
use crate::store::{CallRecording, ExternalRef, Meeting, Participant, ParticipantStatus};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeetingState {
    id: Uuid,
    title: String,
    description: String,
    is_all_day: bool,
    start: Ts,
    end: Ts,
    start_timezone: Option<String>,
    end_timezone: Option<String>,
    participants: Vec<ParticipantState>,
    linked_records: Vec<LinkedState>,
    external_ref: Option<ExternalRefState>,
    created_at: Ts,
    created_by: ActorState,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantState {
    email: String,
    is_organizer: bool,
    status: StatusState,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum StatusState {
    Accepted,
    Tentative,
    Declined,
    Pending,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkedState {
    object: ObjectSlug,
    record_id: Uuid,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ExternalRefState {
    Text(String),
    Calendar {
        ical_uid: String,
        provider: String,
        original_start_time: Option<Ts>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordingState {
    id: Uuid,
    meeting_id: Uuid,
    created_by: ActorState,
    created_at: Ts,
}

impl From<&Meeting> for MeetingState {
    fn from(meeting: &Meeting) -> Self {
        let Meeting {
            id,
            title,
            description,
            is_all_day,
            start,
            end,
            start_timezone,
            end_timezone,
            participants,
            linked_records,
            external_ref,
            created_at,
            created_by,
        } = meeting;
        MeetingState {
            id: *id,
            title: title.clone(),
            description: description.clone(),
            is_all_day: *is_all_day,
            start: Ts(*start),
            end: Ts(*end),
            start_timezone: start_timezone.clone(),
            end_timezone: end_timezone.clone(),
            participants: participants
                .iter()
                .map(|p| {
                    let Participant {
                        email,
                        is_organizer,
                        status,
                    } = p;
                    ParticipantState {
                        email: email.clone(),
                        is_organizer: *is_organizer,
                        status: match status {
                            ParticipantStatus::Accepted => StatusState::Accepted,
                            ParticipantStatus::Tentative => StatusState::Tentative,
                            ParticipantStatus::Declined => StatusState::Declined,
                            ParticipantStatus::Pending => StatusState::Pending,
                        },
                    }
                })
                .collect(),
            linked_records: linked_records
                .iter()
                .map(|(object, record_id)| LinkedState {
                    object: (*object).into(),
                    record_id: *record_id,
                })
                .collect(),
            external_ref: external_ref.as_ref().map(|r| match r {
                ExternalRef::Text(text) => ExternalRefState::Text(text.clone()),
                ExternalRef::Calendar {
                    ical_uid,
                    provider,
                    original_start_time,
                } => ExternalRefState::Calendar {
                    ical_uid: ical_uid.clone(),
                    provider: provider.clone(),
                    original_start_time: original_start_time.map(Ts),
                },
            }),
            created_at: Ts(*created_at),
            created_by: (*created_by).into(),
        }
    }
}

impl From<MeetingState> for Meeting {
    fn from(state: MeetingState) -> Self {
        Meeting {
            id: state.id,
            title: state.title,
            description: state.description,
            is_all_day: state.is_all_day,
            start: state.start.0,
            end: state.end.0,
            start_timezone: state.start_timezone,
            end_timezone: state.end_timezone,
            participants: state
                .participants
                .into_iter()
                .map(|p| Participant {
                    email: p.email,
                    is_organizer: p.is_organizer,
                    status: match p.status {
                        StatusState::Accepted => ParticipantStatus::Accepted,
                        StatusState::Tentative => ParticipantStatus::Tentative,
                        StatusState::Declined => ParticipantStatus::Declined,
                        StatusState::Pending => ParticipantStatus::Pending,
                    },
                })
                .collect(),
            linked_records: state
                .linked_records
                .into_iter()
                .map(|l| (l.object.into(), l.record_id))
                .collect(),
            external_ref: state.external_ref.map(|r| match r {
                ExternalRefState::Text(text) => ExternalRef::Text(text),
                ExternalRefState::Calendar {
                    ical_uid,
                    provider,
                    original_start_time,
                } => ExternalRef::Calendar {
                    ical_uid,
                    provider,
                    original_start_time: original_start_time.map(|t| t.0),
                },
            }),
            created_at: state.created_at.0,
            created_by: state.created_by.into(),
        }
    }
}

impl From<&CallRecording> for RecordingState {
    fn from(recording: &CallRecording) -> Self {
        let CallRecording {
            id,
            meeting_id,
            created_by,
            created_at,
        } = recording;
        RecordingState {
            id: *id,
            meeting_id: *meeting_id,
            created_by: (*created_by).into(),
            created_at: Ts(*created_at),
        }
    }
}

impl From<RecordingState> for CallRecording {
    fn from(state: RecordingState) -> Self {
        CallRecording {
            id: state.id,
            meeting_id: state.meeting_id,
            created_by: state.created_by.into(),
            created_at: state.created_at.0,
        }
    }
}
