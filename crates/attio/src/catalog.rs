//! What Taskr reads to name the things events and tasks refer to: the workspace's objects (and
//! their nouns), lists, attributes, notes and meetings. Only the fields a name needs are typed;
//! everything else Attio sends is ignored, and a missing field defaults rather than fails.

use serde::Deserialize;
use uuid::Uuid;

use crate::client::Envelope;
use crate::{AttioError, Client};

/// `{workspace_id, object_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ObjectId {
    pub workspace_id: Uuid,
    pub object_id: Uuid,
}

/// An object (people, companies, deals, a custom one) as `GET /v2/objects` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Object {
    pub id: ObjectId,
    #[serde(default)]
    pub api_slug: String,
    /// `Person`, `Company`; nullable in the reference.
    #[serde(default)]
    pub singular_noun: Option<String>,
    #[serde(default)]
    pub plural_noun: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListId {
    pub workspace_id: Uuid,
    pub list_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct List {
    pub id: ListId,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub api_slug: String,
}

/// An attribute of an object or of a list (whose id Attio also calls `object_id`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Attribute {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub api_slug: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NoteId {
    pub workspace_id: Uuid,
    pub note_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Note {
    pub id: NoteId,
    #[serde(default)]
    pub title: String,
    /// The parent object's slug.
    #[serde(default)]
    pub parent_object: Option<String>,
    #[serde(default)]
    pub parent_record_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MeetingId {
    pub workspace_id: Uuid,
    pub meeting_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Meeting {
    pub id: MeetingId,
    #[serde(default)]
    pub title: String,
}

impl Client {
    /// `GET /v2/objects`: every object of the workspace (the endpoint is not paged).
    pub async fn list_objects(&self) -> Result<Vec<Object>, AttioError> {
        let page: Envelope<Vec<Object>> = self.get_json(self.url("/v2/objects")).await?;
        Ok(page.data)
    }

    /// `GET /v2/lists/{list}` (a slug or an id).
    pub async fn get_list(&self, list: &str) -> Result<List, AttioError> {
        let page: Envelope<List> = self.get_json(self.url_of(&["v2", "lists", list])?).await?;
        Ok(page.data)
    }

    /// `GET /v2/{objects|lists}/{parent}/attributes/{attribute}`.
    pub async fn get_attribute(
        &self,
        on_list: bool,
        parent: &str,
        attribute: &str,
    ) -> Result<Attribute, AttioError> {
        let target = if on_list { "lists" } else { "objects" };
        let url = self.url_of(&["v2", target, parent, "attributes", attribute])?;
        let page: Envelope<Attribute> = self.get_json(url).await?;
        Ok(page.data)
    }

    pub async fn get_note(&self, note_id: Uuid) -> Result<Note, AttioError> {
        let url = self.url_of(&["v2", "notes", &note_id.to_string()])?;
        let page: Envelope<Note> = self.get_json(url).await?;
        Ok(page.data)
    }

    pub async fn get_meeting(&self, meeting_id: Uuid) -> Result<Meeting, AttioError> {
        let url = self.url_of(&["v2", "meetings", &meeting_id.to_string()])?;
        let page: Envelope<Meeting> = self.get_json(url).await?;
        Ok(page.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_read_their_nouns_and_tolerate_null_ones() {
        let objects: Vec<Object> = serde_json::from_str(
            r#"[{"id": {"workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "object_id": "97052eb9-e65e-443f-a297-f2d9a4a7f795"},
                 "api_slug": "people", "singular_noun": "Person", "plural_noun": "People", "created_at": "2022-11-21T13:22:49.061281000Z"},
                {"id": {"workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "object_id": "0b8f0c8e-8a55-4b7e-8d0e-3c6f7f1d2e3a"},
                 "api_slug": "deals", "singular_noun": null, "plural_noun": null}]"#,
        )
        .unwrap();
        assert_eq!(objects[0].singular_noun.as_deref(), Some("Person"));
        assert_eq!(objects[1].api_slug, "deals");
        assert_eq!(objects[1].plural_noun, None);
    }

    #[test]
    fn a_note_names_its_parent_record() {
        let note: Note = serde_json::from_str(
            r#"{"id": {"workspace_id": "14beef7a-99f7-4534-a87e-70b564330a4c", "note_id": "ff3f3bd4-40f4-4f80-8187-cd02385af424"},
                "parent_object": "people", "parent_record_id": "891dcbfc-9141-415d-9b2a-2238a6cc012d",
                "title": "Kick-off", "content_plaintext": "…"}"#,
        )
        .unwrap();
        assert_eq!(note.title, "Kick-off");
        assert_eq!(note.parent_object.as_deref(), Some("people"));
    }
}
