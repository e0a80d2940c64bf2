//! The small references every part of a snapshot uses: who made a change (an actor) and which
//! object a record belongs to.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Actor, ObjectKind};

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum ActorState {
    WorkspaceMember { id: Uuid },
    ApiToken { id: Uuid },
    System,
}

impl From<Actor> for ActorState {
    fn from(actor: Actor) -> Self {
        match actor {
            Actor::WorkspaceMember(id) => ActorState::WorkspaceMember { id },
            Actor::ApiToken(id) => ActorState::ApiToken { id },
            Actor::System => ActorState::System,
        }
    }
}

impl From<ActorState> for Actor {
    fn from(actor: ActorState) -> Self {
        match actor {
            ActorState::WorkspaceMember { id } => Actor::WorkspaceMember(id),
            ActorState::ApiToken { id } => Actor::ApiToken(id),
            ActorState::System => Actor::System,
        }
    }
}

/// Which object: `"people"`, `"companies"`, or a custom object's id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectSlug(ObjectKind);

impl Serialize for ObjectSlug {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ObjectKind::People => serializer.serialize_str("people"),
            ObjectKind::Companies => serializer.serialize_str("companies"),
            ObjectKind::Custom(id) => id.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ObjectSlug {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "people" => Ok(ObjectSlug(ObjectKind::People)),
            "companies" => Ok(ObjectSlug(ObjectKind::Companies)),
            other => Uuid::parse_str(other)
                .map(|id| ObjectSlug(ObjectKind::Custom(id)))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "\"{other}\" is not \"people\", \"companies\" or a custom object's id"
                    ))
                }),
        }
    }
}

impl From<ObjectKind> for ObjectSlug {
    fn from(kind: ObjectKind) -> Self {
        ObjectSlug(kind)
    }
}

impl From<ObjectSlug> for ObjectKind {
    fn from(slug: ObjectSlug) -> Self {
        slug.0
    }
}
