//! Meetings (seeded) and their call recordings: `call-recording.created` fires once a recording
//! has finished. The sandbox has no media to process, so a recording finishes as it is added.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Actor, WorkspaceStore};
use crate::events::Event;

#[derive(Clone, Debug)]
pub(crate) struct Meeting {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub created_by: Actor,
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

    pub fn recording(&self, meeting_id: Uuid, id: Uuid) -> Option<&CallRecording> {
        self.recordings
            .iter()
            .find(|r| r.meeting_id == meeting_id && r.id == id)
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
}
