//! Attio's 27 webhook event types, the event JSON each change produces (attio-api.md 6.2/6.3), the
//! subscription filter language, and the body signature.

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use uuid::Uuid;

/// Who made a change, as Attio's `created_by_actor` and webhook `actor` report it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Actor {
    WorkspaceMember(Uuid),
    ApiToken(Uuid),
    System,
}

impl Actor {
    pub fn type_and_id(self) -> (&'static str, Option<Uuid>) {
        match self {
            Actor::WorkspaceMember(id) => ("workspace-member", Some(id)),
            Actor::ApiToken(id) => ("api-token", Some(id)),
            Actor::System => ("system", None),
        }
    }

    /// `{"type": ..., "id": ...}`; the id of `system` is `null`.
    pub fn event_json(self) -> Value {
        let (kind, id) = self.type_and_id();
        json!({ "type": kind, "id": id })
    }
}

/// Every event type a webhook can subscribe to, exactly the enum of Attio's API.
pub const EVENT_TYPES: [&str; 27] = [
    "call-recording.created",
    "comment.created",
    "comment.resolved",
    "comment.unresolved",
    "comment.deleted",
    "list.created",
    "list.updated",
    "list.deleted",
    "list-attribute.created",
    "list-attribute.updated",
    "list-entry.created",
    "list-entry.updated",
    "list-entry.deleted",
    "object-attribute.created",
    "object-attribute.updated",
    "note.created",
    "note-content.updated",
    "note.updated",
    "note.deleted",
    "record.created",
    "record.merged",
    "record.updated",
    "record.deleted",
    "task.created",
    "task.updated",
    "task.deleted",
    "workspace-member.created",
];

/// The static name of a known event type.
pub(crate) fn event_type(name: &str) -> Option<&'static str> {
    EVENT_TYPES.iter().copied().find(|t| *t == name)
}

/// One event: its type (for subscription matching) and its JSON object.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub event_type: &'static str,
    pub json: Value,
}

impl Event {
    /// `{"event_type", "id": {...}, <extra keys>, "actor": {"type", "id"}}`.
    pub fn new(
        event_type: &'static str,
        id: Value,
        extra: Vec<(&'static str, Value)>,
        actor: Actor,
    ) -> Event {
        debug_assert!(EVENT_TYPES.contains(&event_type), "{event_type}");
        let mut object = Map::new();
        object.insert("event_type".to_owned(), Value::from(event_type));
        object.insert("id".to_owned(), id);
        for (key, value) in extra {
            object.insert(key.to_owned(), value);
        }
        object.insert("actor".to_owned(), actor.event_json());
        Event {
            event_type,
            json: Value::Object(object),
        }
    }
}

/// A subscription filter: every condition (`$and`) or at least one (`$or`) must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Condition {
    field: String,
    equals: bool,
    value: String,
}

impl Filter {
    /// Parses `null`, `{"$and": [...]}` or `{"$or": [...]}`; `at` names the field in messages.
    pub fn parse(value: &Value, at: &str) -> Result<Option<Filter>, String> {
        let object = match value {
            Value::Null => return Ok(None),
            Value::Object(object) => object,
            _ => {
                return Err(format!(
                    "{at} must be null or an object with \"$and\" or \"$or\"."
                ))
            }
        };
        let mut entries = object.iter();
        let (Some((key, conditions)), None) = (entries.next(), entries.next()) else {
            return Err(format!(
                "{at} must have exactly one key, \"$and\" or \"$or\"."
            ));
        };
        let Value::Array(items) = conditions else {
            return Err(format!("{at}.{key} must be an array of conditions."));
        };
        let conditions = items
            .iter()
            .enumerate()
            .map(|(i, item)| Condition::parse(item, &format!("{at}.{key}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        match key.as_str() {
            "$and" => Ok(Some(Filter::And(conditions))),
            "$or" => Ok(Some(Filter::Or(conditions))),
            other => Err(format!(
                "{at} has the unknown key \"{other}\"; use \"$and\" or \"$or\" (they cannot be nested)."
            )),
        }
    }

    pub fn to_json(&self) -> Value {
        let (key, conditions) = match self {
            Filter::And(c) => ("$and", c),
            Filter::Or(c) => ("$or", c),
        };
        let items: Vec<Value> = conditions.iter().map(Condition::to_json).collect();
        json!({ key: items })
    }

    /// An empty `$and` passes; an empty `$or` never does.
    pub fn matches(&self, event: &Value) -> bool {
        match self {
            Filter::And(c) => c.iter().all(|c| c.matches(event)),
            Filter::Or(c) => c.iter().any(|c| c.matches(event)),
        }
    }
}

impl Condition {
    fn parse(value: &Value, at: &str) -> Result<Condition, String> {
        let Value::Object(object) = value else {
            return Err(format!(
                "{at} must be an object {{field, operator, value}}."
            ));
        };
        if let Some(key) = object
            .keys()
            .find(|k| !["field", "operator", "value"].contains(&k.as_str()))
        {
            return Err(format!(
                "{at} has the unknown key \"{key}\"; a condition is {{field, operator, value}}."
            ));
        }
        let text = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{at}.{key} is required and must be a string."))
        };
        let field = text("field")?;
        if field.is_empty() || field.split('.').any(str::is_empty) {
            return Err(format!(
                "{at}.field must be a dotted path such as \"actor.type\"."
            ));
        }
        let equals = match text("operator")? {
            "equals" => true,
            "not_equals" => false,
            other => {
                return Err(format!(
                    "{at}.operator must be \"equals\" or \"not_equals\", got \"{other}\"."
                ))
            }
        };
        Ok(Condition {
            field: field.to_owned(),
            equals,
            value: text("value")?.to_owned(),
        })
    }

    fn to_json(&self) -> Value {
        let operator = if self.equals { "equals" } else { "not_equals" };
        json!({ "field": self.field, "operator": operator, "value": self.value })
    }

    /// Compares the text of the value at the dotted path (strings as they are, numbers and
    /// booleans in their JSON spelling). A missing or null value equals nothing.
    fn matches(&self, event: &Value) -> bool {
        let actual = self
            .field
            .split('.')
            .try_fold(event, |value, key| value.get(key))
            .and_then(|value| match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            });
        (actual.as_deref() == Some(self.value.as_str())) == self.equals
    }
}

/// Lowercase hex of HMAC-SHA256 over the exact body, keyed with the secret string's bytes.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map(|mut mac| {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({"event_type": "task.created", "id": {"task_id": "t1"},
               "actor": {"type": "workspace-member", "id": "m1"}, "list_id": null, "n": 3})
    }

    fn filter(value: Value) -> Filter {
        Filter::parse(&value, "filter")
            .expect("valid")
            .expect("not null")
    }

    #[test]
    fn filters_compare_dotted_paths_as_text() {
        let cases = [
            (
                json!({"$and": [{"field": "actor.type", "operator": "equals", "value": "workspace-member"}]}),
                true,
            ),
            (
                json!({"$and": [{"field": "actor.type", "operator": "not_equals", "value": "workspace-member"}]}),
                false,
            ),
            (
                json!({"$and": [{"field": "actor.id", "operator": "equals", "value": "m1"},
                             {"field": "id.task_id", "operator": "equals", "value": "t2"}]}),
                false,
            ),
            (
                json!({"$or": [{"field": "actor.id", "operator": "equals", "value": "m1"},
                            {"field": "id.task_id", "operator": "equals", "value": "t2"}]}),
                true,
            ),
            (
                json!({"$and": [{"field": "list_id", "operator": "equals", "value": "null"}]}),
                false,
            ),
            (
                json!({"$and": [{"field": "list_id", "operator": "not_equals", "value": "x"}]}),
                true,
            ),
            (
                json!({"$and": [{"field": "missing.path", "operator": "equals", "value": ""}]}),
                false,
            ),
            (
                json!({"$and": [{"field": "n", "operator": "equals", "value": "3"}]}),
                true,
            ),
            (json!({"$and": []}), true),
            (json!({"$or": []}), false),
        ];
        for (value, expected) in cases {
            assert_eq!(filter(value.clone()).matches(&event()), expected, "{value}");
            assert_eq!(filter(value.clone()).to_json(), value, "round trip");
        }
    }

    #[test]
    fn malformed_filters_are_rejected_with_a_message() {
        let cases = [
            json!("x"),
            json!({}),
            json!({"$and": [], "$or": []}),
            json!({"$not": []}),
            json!({"$and": {}}),
            json!({"$and": [{"field": "a", "operator": "equals"}]}),
            json!({"$and": [{"field": "a", "operator": "like", "value": "b"}]}),
            json!({"$and": [{"field": "", "operator": "equals", "value": "b"}]}),
            json!({"$and": [{"field": "a..b", "operator": "equals", "value": "b"}]}),
            json!({"$and": [{"field": "a", "operator": "equals", "value": 1}]}),
            json!({"$and": [{"field": "a", "operator": "equals", "value": "b", "x": 1}]}),
            json!({"$and": [{"$or": []}]}),
        ];
        for value in cases {
            assert!(Filter::parse(&value, "filter").is_err(), "{value}");
        }
        assert_eq!(Filter::parse(&Value::Null, "filter"), Ok(None));
    }

    #[test]
    fn signatures_are_lowercase_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
