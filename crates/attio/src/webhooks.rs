//! Attio webhooks: the 27 event types, the delivery body, and signature verification.
//!
//! A delivery is `{"webhook_id": …, "events": [event]}` signed with `Attio-Signature`: the
//! lowercase hex HMAC-SHA256 of the raw body, keyed with the webhook secret's bytes. Events carry
//! ids only. Parsing is lenient (unknown event types and extra fields are kept, not refused), so
//! that a new kind of event is recorded rather than lost.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use uuid::Uuid;

use crate::Actor;

macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// The type of a webhook event: the 27 in Attio's subscription enum, or one Taskr does not
        /// know yet.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($variant,)*
            Unknown(String),
        }

        impl EventType {
            /// Every type a webhook can subscribe to, in the reference's order.
            pub const ALL: [EventType; 27] = [$(EventType::$variant,)*];

            pub fn as_str(&self) -> &str {
                match self {
                    $(EventType::$variant => $name,)*
                    EventType::Unknown(name) => name,
                }
            }

            pub fn parse(name: &str) -> Self {
                match name {
                    $($name => EventType::$variant,)*
                    other => EventType::Unknown(other.to_owned()),
                }
            }
        }
    };
}

event_types! {
    CallRecordingCreated => "call-recording.created",
    CommentCreated => "comment.created",
    CommentResolved => "comment.resolved",
    CommentUnresolved => "comment.unresolved",
    CommentDeleted => "comment.deleted",
    ListCreated => "list.created",
    ListUpdated => "list.updated",
    ListDeleted => "list.deleted",
    ListAttributeCreated => "list-attribute.created",
    ListAttributeUpdated => "list-attribute.updated",
    ListEntryCreated => "list-entry.created",
    ListEntryUpdated => "list-entry.updated",
    ListEntryDeleted => "list-entry.deleted",
    ObjectAttributeCreated => "object-attribute.created",
    ObjectAttributeUpdated => "object-attribute.updated",
    NoteCreated => "note.created",
    NoteContentUpdated => "note-content.updated",
    NoteUpdated => "note.updated",
    NoteDeleted => "note.deleted",
    RecordCreated => "record.created",
    RecordMerged => "record.merged",
    RecordUpdated => "record.updated",
    RecordDeleted => "record.deleted",
    TaskCreated => "task.created",
    TaskUpdated => "task.updated",
    TaskDeleted => "task.deleted",
    WorkspaceMemberCreated => "workspace-member.created",
}

impl EventType {
    pub fn is_known(&self) -> bool {
        !matches!(self, EventType::Unknown(_))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(EventType::parse(&name))
    }
}

/// The `id` object of an event. Which keys are present depends on the type (attio-api.md 6.3);
/// all are optional here so that a changed shape is still recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventIds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_member_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_recording_id: Option<Uuid>,
}

/// One webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub event_type: EventType,
    #[serde(default)]
    pub id: EventIds,
    #[serde(default)]
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_record_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_record_id: Option<Uuid>,
}

/// What an event is about, in the terms a consumer acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Task(Uuid),
    WorkspaceMember(Uuid),
    Record { object: String, record: Uuid },
    Note(Uuid),
    Comment(Uuid),
    List(String),
    ListEntry { list: String, entry: Uuid },
    Attribute { parent: String, attribute: String },
    CallRecording(Uuid),
}

impl WebhookEvent {
    /// The resource the event refers to, when its ids are present.
    pub fn subject(&self) -> Option<Subject> {
        use EventType::*;
        let id = &self.id;
        Some(match &self.event_type {
            TaskCreated | TaskUpdated | TaskDeleted => Subject::Task(id.task_id?),
            WorkspaceMemberCreated => Subject::WorkspaceMember(id.workspace_member_id?),
            RecordCreated | RecordUpdated | RecordDeleted | RecordMerged => Subject::Record {
                object: id.object_id.clone()?,
                record: id.record_id?,
            },
            NoteCreated | NoteUpdated | NoteContentUpdated | NoteDeleted => {
                Subject::Note(id.note_id?)
            }
            CommentCreated | CommentResolved | CommentUnresolved | CommentDeleted => {
                Subject::Comment(id.comment_id?)
            }
            ListCreated | ListUpdated | ListDeleted => Subject::List(id.list_id.clone()?),
            ListEntryCreated | ListEntryUpdated | ListEntryDeleted => Subject::ListEntry {
                list: id.list_id.clone()?,
                entry: id.entry_id?,
            },
            ListAttributeCreated | ListAttributeUpdated => Subject::Attribute {
                parent: id.list_id.clone()?,
                attribute: id.attribute_id.clone()?,
            },
            ObjectAttributeCreated | ObjectAttributeUpdated => Subject::Attribute {
                parent: id.object_id.clone()?,
                attribute: id.attribute_id.clone()?,
            },
            CallRecordingCreated => Subject::CallRecording(id.call_recording_id?),
            Unknown(_) => return None,
        })
    }
}

/// A delivery body. The current form is the envelope; the obsolete bare-event form of the old
/// docs is accepted too, with no webhook id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookPayload {
    pub webhook_id: Option<Uuid>,
    pub events: Vec<WebhookEvent>,
}

impl<'de> Deserialize<'de> for WebhookPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            webhook_id: Option<Uuid>,
            events: Vec<WebhookEvent>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Envelope(Envelope),
            Bare(Box<WebhookEvent>),
        }
        Ok(match Either::deserialize(deserializer)? {
            Either::Envelope(e) => WebhookPayload {
                webhook_id: e.webhook_id,
                events: e.events,
            },
            Either::Bare(event) => WebhookPayload {
                webhook_id: None,
                events: vec![*event],
            },
        })
    }
}

/// Reads only `webhook_id` from a body, so that the right secret can be found before the body
/// is trusted or fully parsed.
pub fn peek_webhook_id(body: &[u8]) -> Option<Uuid> {
    #[derive(Deserialize)]
    struct Peek {
        webhook_id: Uuid,
    }
    serde_json::from_slice::<Peek>(body)
        .ok()
        .map(|p| p.webhook_id)
}

/// A webhook's signing secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The lowercase hex signature Attio sends for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        hex::encode(self.mac(body).finalize().into_bytes())
    }

    /// Checks a signature header value against `body` in constant time. Hex of either case is
    /// accepted, and a `sha256=` prefix is tolerated.
    pub fn verify(&self, body: &[u8], signature: &str) -> bool {
        let signature = signature.trim();
        let signature = signature.strip_prefix("sha256=").unwrap_or(signature);
        match hex::decode(signature) {
            Ok(bytes) => self.mac(body).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_bytes()).expect("HMAC takes any key");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// `{workspace_id, webhook_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookId {
    pub workspace_id: Uuid,
    pub webhook_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub event_type: String,
    /// `null`, `{"$and": [...]}` or `{"$or": [...]}`; kept as JSON.
    #[serde(default)]
    pub filter: Option<serde_json::Value>,
}

impl Subscription {
    /// One unfiltered subscription per known event type.
    pub fn all_events() -> Vec<Subscription> {
        EventType::ALL
            .iter()
            .map(|t| Subscription {
                event_type: t.as_str().to_owned(),
                filter: None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub target_url: String,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// `active`, `degraded` or `inactive`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub created_at: String,
}

/// The answer to creating a webhook: the only time Attio shows the secret.
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: WebhookSecret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_27_event_types_round_trip_by_name() {
        assert_eq!(EventType::ALL.len(), 27);
        let names: std::collections::HashSet<&str> =
            EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), 27);
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), t);
        }
        assert_eq!(
            EventType::parse("activity.created"),
            EventType::Unknown("activity.created".into())
        );
    }

    #[test]
    fn signatures_are_lowercase_hex_hmac_sha256_of_the_exact_bytes() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = WebhookSecret::new("Jefe");
        let body = b"what do ya want for nothing?";
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(secret.sign(body), expected);
        assert!(secret.verify(body, expected));
        assert!(secret.verify(body, &expected.to_uppercase()));
        assert!(secret.verify(body, &format!("sha256={expected}")));
        assert!(!secret.verify(b"what do ya want for nothing? ", expected));
        assert!(!secret.verify(body, "not hex"));
        assert!(!secret.verify(body, ""));
        assert!(!WebhookSecret::new("jefe").verify(body, expected));
        assert!(!format!("{secret:?}").contains("Jefe"));
    }

    /// Examples written from attio-api.md 6.2 and 6.3.
    #[test]
    fn documented_payloads_parse_into_typed_events() {
        let cases = [
            (
                r#"{"webhook_id":"5f2a1e4c-3b3b-4c1e-9a55-b1e7a7c1d9a1","events":[{"event_type":"task.created",
                   "id":{"workspace_id":"14beef7a-99f7-4534-a87e-70b564330a4c","task_id":"649e34f4-c39a-4f4d-99ef-48a36bef8f04"},
                   "actor":{"type":"workspace-member","id":"50cf242c-7fa3-4cad-87d0-75b1af71c57b"}}]}"#,
                Subject::Task("649e34f4-c39a-4f4d-99ef-48a36bef8f04".parse().unwrap()),
            ),
            (
                r#"{"webhook_id":"5f2a1e4c-3b3b-4c1e-9a55-b1e7a7c1d9a1","events":[{"event_type":"record.merged",
                   "id":{"workspace_id":"14beef7a-99f7-4534-a87e-70b564330a4c","object_id":"97052eb9-e65e-443f-a297-f2d9a4a7f795","record_id":"bf071e1f-6035-429d-b874-d83ea64ea13b"},
                   "duplicate_object_id":"97052eb9-e65e-443f-a297-f2d9a4a7f795","duplicate_record_id":"2e0d4f2b-3d41-4b2f-8d0f-9d2b8c5b1a77",
                   "actor":{"type":"api-token","id":"a1b2c3d4-0000-4000-8000-000000000001"}}]}"#,
                Subject::Record {
                    object: "97052eb9-e65e-443f-a297-f2d9a4a7f795".into(),
                    record: "bf071e1f-6035-429d-b874-d83ea64ea13b".parse().unwrap(),
                },
            ),
            (
                r#"{"webhook_id":"5f2a1e4c-3b3b-4c1e-9a55-b1e7a7c1d9a1","events":[{"event_type":"list-entry.updated",
                   "id":{"workspace_id":"14beef7a-99f7-4534-a87e-70b564330a4c","list_id":"33ebdbe9-e529-47c9-b894-0ba25e9c15c0","entry_id":"2e6e29ea-c4e0-4f44-842d-78a891f8c156","attribute_id":"41252299-f8c7-4b5e-99c9-4ff8321d2f96"},
                   "parent_object_id":"97052eb9-e65e-443f-a297-f2d9a4a7f795","parent_record_id":"bf071e1f-6035-429d-b874-d83ea64ea13b",
                   "actor":{"type":"system","id":null}}]}"#,
                Subject::ListEntry {
                    list: "33ebdbe9-e529-47c9-b894-0ba25e9c15c0".into(),
                    entry: "2e6e29ea-c4e0-4f44-842d-78a891f8c156".parse().unwrap(),
                },
            ),
            (
                r#"{"webhook_id":"5f2a1e4c-3b3b-4c1e-9a55-b1e7a7c1d9a1","events":[{"event_type":"workspace-member.created",
                   "id":{"workspace_id":"14beef7a-99f7-4534-a87e-70b564330a4c","workspace_member_id":"50cf242c-7fa3-4cad-87d0-75b1af71c57b"},
                   "actor":{"type":"system","id":null}}]}"#,
                Subject::WorkspaceMember("50cf242c-7fa3-4cad-87d0-75b1af71c57b".parse().unwrap()),
            ),
        ];
        for (json, subject) in cases {
            let payload: WebhookPayload = serde_json::from_str(json).unwrap();
            assert!(payload.webhook_id.is_some());
            assert_eq!(payload.events.len(), 1);
            assert_eq!(payload.events[0].subject(), Some(subject));
            assert_eq!(
                peek_webhook_id(json.as_bytes()),
                payload.webhook_id,
                "peek agrees with the full parse"
            );
        }
    }

    #[test]
    fn unknown_event_types_and_the_old_bare_form_are_accepted() {
        let payload: WebhookPayload = serde_json::from_str(
            r#"{"webhook_id":"5f2a1e4c-3b3b-4c1e-9a55-b1e7a7c1d9a1","events":[{"event_type":"activity.created","id":{"activity_id":"x"},"actor":{"type":"system","id":null},"new_field":1}]}"#,
        )
        .unwrap();
        assert_eq!(
            payload.events[0].event_type,
            EventType::Unknown("activity.created".into())
        );
        assert_eq!(payload.events[0].subject(), None);
        let bare: WebhookPayload = serde_json::from_str(
            r#"{"event_type":"task.deleted","id":{"workspace_id":"14beef7a-99f7-4534-a87e-70b564330a4c","task_id":"649e34f4-c39a-4f4d-99ef-48a36bef8f04"},"actor":{"type":"system","id":null}}"#,
        )
        .unwrap();
        assert_eq!(bare.webhook_id, None);
        assert_eq!(bare.events[0].event_type, EventType::TaskDeleted);
        assert!(serde_json::from_str::<WebhookPayload>(r#"{"events": "nope"}"#).is_err());
        assert_eq!(peek_webhook_id(b"not json"), None);
    }
}

/// Arbitrary input never panics the parser or the verifier, and the verifier accepts exactly
/// the signatures made for the body.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// JSON that looks like deliveries: right keys, wrong or random values.
    fn delivery_like() -> impl Strategy<Value = String> {
        let value = prop_oneof![
            Just("null".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[a-z0-9.-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            Just("\"6f0e3b8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b\"".to_owned()),
            Just("{}".to_owned()),
            Just("[]".to_owned()),
        ];
        let event_type = prop_oneof![
            Just("task.created".to_owned()),
            Just("record.merged".to_owned()),
            Just("list-entry.updated".to_owned()),
            "[a-z.-]{0,20}",
        ];
        let key = prop_oneof![
            Just("task_id"),
            Just("workspace_id"),
            Just("object_id"),
            Just("record_id"),
            Just("list_id"),
            Just("entry_id"),
            Just("attribute_id"),
            Just("note_id"),
            Just("comment_id"),
            Just("thread_id"),
            Just("workspace_member_id"),
            Just("call_recording_id"),
            Just("duplicate_record_id"),
        ];
        let id = proptest::collection::vec((key, value.clone()), 0..6).prop_map(|pairs| {
            let fields: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{}}}", fields.join(","))
        });
        let event = (event_type, id, value.clone()).prop_map(|(t, id, actor)| {
            format!("{{\"event_type\":\"{t}\",\"id\":{id},\"actor\":{{\"type\":{actor},\"id\":{actor}}}}}")
        });
        (proptest::collection::vec(event, 0..4), value, any::<bool>()).prop_map(
            |(events, webhook_id, bare)| {
                if bare && !events.is_empty() {
                    events[0].clone()
                } else {
                    format!(
                        "{{\"webhook_id\":{webhook_id},\"events\":[{}]}}",
                        events.join(",")
                    )
                }
            },
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let parsed = serde_json::from_slice::<WebhookPayload>(&body);
            if let Ok(payload) = parsed {
                for event in &payload.events {
                    let _ = event.subject();
                }
            }
            let _ = peek_webhook_id(&body);
        }

        #[test]
        fn delivery_shaped_json_never_panics_and_subjects_are_consistent(body in delivery_like()) {
            if let Ok(payload) = serde_json::from_str::<WebhookPayload>(&body) {
                for event in &payload.events {
                    // A subject is only ever read from ids that are there.
                    if let Some(Subject::Task(id)) = event.subject() {
                        prop_assert_eq!(Some(id), event.id.task_id);
                    }
                    let _ = event.event_type.as_str();
                }
            }
        }

        #[test]
        fn only_the_right_signature_verifies(
            secret in "[ -~]{1,64}",
            body in proptest::collection::vec(any::<u8>(), 0..256),
            header in "[ -~]{0,80}",
        ) {
            let secret = WebhookSecret::new(secret);
            let good = secret.sign(&body);
            prop_assert!(secret.verify(&body, &good));
            prop_assert!(secret.verify(&body, &good.to_uppercase()));
            let prefixed = format!("sha256={good}");
            prop_assert!(secret.verify(&body, &prefixed));
            // A random header verifies only if it happens to be the signature itself.
            let random_ok = secret.verify(&body, &header);
            let trimmed = header.trim();
            let normalised = trimmed.strip_prefix("sha256=").unwrap_or(trimmed).to_lowercase();
            prop_assert_eq!(random_ok, normalised == good);
            let mut other = body.clone();
            other.push(0);
            prop_assert!(!secret.verify(&other, &good));
        }
    }
}
