//! Attributes of objects and of lists: creation and updates, which emit
//! `object-attribute.*` or `list-attribute.*`.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Actor, ObjectKind, WorkspaceStore};
use crate::events::Event;

/// What an attribute belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AttributeParent {
    Object(ObjectKind),
    List(Uuid),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub id: Uuid,
    pub parent: AttributeParent,
    pub title: String,
    pub api_slug: String,
    pub description: Option<String>,
    /// Attio's attribute type, e.g. `text`, `number`, `checkbox`.
    pub kind: String,
    pub is_required: bool,
    pub is_unique: bool,
    pub is_multiselect: bool,
    pub is_archived: bool,
    /// Built in (`name`, `email_addresses`, `domains`): the slug cannot change.
    pub is_system: bool,
    pub created_at: OffsetDateTime,
    /// The options of a `select` attribute or the statuses of a `status` attribute.
    pub choices: Vec<Choice>,
}

/// A select option or a status. `celebration_enabled` and `target_time_in_status` only mean
/// something for statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Choice {
    pub id: Uuid,
    pub title: String,
    pub is_archived: bool,
    pub celebration_enabled: bool,
    /// An ISO 8601 duration such as `P0Y0M1DT0H0M0S`.
    pub target_time_in_status: Option<String>,
}

/// `None` leaves a field alone.
#[derive(Default)]
pub(crate) struct ChoicePatch {
    pub title: Option<String>,
    pub is_archived: Option<bool>,
    pub celebration_enabled: Option<bool>,
    pub target_time_in_status: Option<Option<String>>,
}

pub(crate) struct NewAttribute {
    pub title: String,
    pub api_slug: String,
    pub description: Option<String>,
    pub kind: String,
    pub is_required: bool,
    pub is_unique: bool,
    pub is_multiselect: bool,
}

/// `None` leaves a field alone.
#[derive(Default)]
pub(crate) struct AttributePatch {
    pub title: Option<String>,
    pub api_slug: Option<String>,
    pub description: Option<Option<String>>,
    pub is_required: Option<bool>,
    pub is_unique: Option<bool>,
    pub is_archived: Option<bool>,
}

/// Why an attribute change was refused.
pub(crate) enum AttributeError {
    SlugConflict(String),
    SystemEdit(String),
}

impl WorkspaceStore {
    pub fn attributes_of(&self, parent: AttributeParent) -> Vec<&Attribute> {
        self.attributes
            .iter()
            .filter(|a| a.parent == parent)
            .collect()
    }

    /// Finds an attribute of `parent` by slug or ID.
    pub fn attribute(&self, parent: AttributeParent, slug_or_id: &str) -> Option<&Attribute> {
        let id = Uuid::parse_str(slug_or_id).ok();
        self.attributes
            .iter()
            .find(|a| a.parent == parent && (a.api_slug == slug_or_id || Some(a.id) == id))
    }

    /// The id of a built-in attribute (used by records for their system values).
    pub fn attribute_id(&self, parent: AttributeParent, slug: &str) -> Uuid {
        self.attribute(parent, slug).map_or(Uuid::nil(), |a| a.id)
    }

    fn slug_taken(&self, parent: AttributeParent, slug: &str, except: Option<Uuid>) -> bool {
        self.attributes
            .iter()
            .any(|a| a.parent == parent && a.api_slug == slug && Some(a.id) != except)
    }

    pub fn create_attribute(
        &mut self,
        parent: AttributeParent,
        new: NewAttribute,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<Attribute, AttributeError> {
        if self.slug_taken(parent, &new.api_slug, None) {
            return Err(AttributeError::SlugConflict(new.api_slug));
        }
        let attribute = Attribute {
            id: Uuid::new_v4(),
            parent,
            title: new.title,
            api_slug: new.api_slug,
            description: new.description,
            kind: new.kind,
            is_required: new.is_required,
            is_unique: new.is_unique,
            is_multiselect: new.is_multiselect,
            is_archived: false,
            is_system: false,
            created_at: now,
            choices: Vec::new(),
        };
        self.attributes.push(attribute.clone());
        self.attribute_event(true, &attribute, actor);
        Ok(attribute)
    }

    /// Applies a patch; one `*-attribute.updated` when anything changed.
    pub fn update_attribute(
        &mut self,
        id: Uuid,
        patch: AttributePatch,
        actor: Actor,
    ) -> Result<Option<Attribute>, AttributeError> {
        let Some(current) = self.attributes.iter().find(|a| a.id == id).cloned() else {
            return Ok(None);
        };
        if let Some(slug) = &patch.api_slug {
            if current.is_system && *slug != current.api_slug {
                return Err(AttributeError::SystemEdit(current.api_slug));
            }
            if self.slug_taken(current.parent, slug, Some(id)) {
                return Err(AttributeError::SlugConflict(slug.clone()));
            }
        }
        let mut updated = current.clone();
        if let Some(title) = patch.title {
            updated.title = title;
        }
        if let Some(slug) = patch.api_slug {
            updated.api_slug = slug;
        }
        if let Some(description) = patch.description {
            updated.description = description;
        }
        if let Some(required) = patch.is_required {
            updated.is_required = required;
        }
        if let Some(unique) = patch.is_unique {
            updated.is_unique = unique;
        }
        if let Some(archived) = patch.is_archived {
            updated.is_archived = archived;
        }
        let changed = updated != current;
        if let Some(slot) = self.attributes.iter_mut().find(|a| a.id == id) {
            *slot = updated.clone();
        }
        if changed {
            self.attribute_event(false, &updated, actor);
        }
        Ok(Some(updated))
    }

    /// Adds an option or status to `attribute`; `Err` when another of its choices has the title.
    pub fn add_choice(
        &mut self,
        attribute: Uuid,
        choice: Choice,
    ) -> Result<Option<Choice>, AttributeError> {
        let Some(attribute) = self.attributes.iter_mut().find(|a| a.id == attribute) else {
            return Ok(None);
        };
        if attribute.choices.iter().any(|c| c.title == choice.title) {
            return Err(AttributeError::SlugConflict(choice.title));
        }
        attribute.choices.push(choice.clone());
        Ok(Some(choice))
    }

    /// Changes an option or status; `Err` when the new title is another choice's.
    pub fn update_choice(
        &mut self,
        attribute: Uuid,
        choice: Uuid,
        patch: ChoicePatch,
    ) -> Result<Option<Choice>, AttributeError> {
        let Some(attribute) = self.attributes.iter_mut().find(|a| a.id == attribute) else {
            return Ok(None);
        };
        if let Some(title) = &patch.title {
            if attribute
                .choices
                .iter()
                .any(|c| c.title == *title && c.id != choice)
            {
                return Err(AttributeError::SlugConflict(title.clone()));
            }
        }
        let Some(slot) = attribute.choices.iter_mut().find(|c| c.id == choice) else {
            return Ok(None);
        };
        if let Some(title) = patch.title {
            slot.title = title;
        }
        if let Some(archived) = patch.is_archived {
            slot.is_archived = archived;
        }
        if let Some(celebration) = patch.celebration_enabled {
            slot.celebration_enabled = celebration;
        }
        if let Some(target) = patch.target_time_in_status {
            slot.target_time_in_status = target;
        }
        Ok(Some(slot.clone()))
    }

    fn attribute_event(&mut self, created: bool, attribute: &Attribute, actor: Actor) {
        let workspace_id = self.workspace.id;
        let (event_type, id) = match attribute.parent {
            AttributeParent::Object(kind) => (
                if created {
                    "object-attribute.created"
                } else {
                    "object-attribute.updated"
                },
                json!({ "workspace_id": workspace_id, "object_id": self.object_id(kind),
                        "attribute_id": attribute.id }),
            ),
            AttributeParent::List(list_id) => (
                if created {
                    "list-attribute.created"
                } else {
                    "list-attribute.updated"
                },
                json!({ "workspace_id": workspace_id, "list_id": list_id,
                        "attribute_id": attribute.id }),
            ),
        };
        self.emit(Event::new(event_type, id, vec![], actor));
    }
}
