//! A small schema and data set in Attio's renderings for the query module's unit tests.

use serde_json::{json, Value};

use super::{AttributeInfo, Kind, Schema, Subject, Values};

/// People, companies and a `deals` list (id `list-1`) with one attribute of each kind.
pub(crate) struct TestSchema;

const ATTRIBUTES: &[(&str, &str, &str)] = &[
    ("people", "record_id", "id"),
    ("people", "name", "personal-name"),
    ("people", "email_addresses", "email-address"),
    ("people", "phone_numbers", "phone-number"),
    ("people", "job_title", "text"),
    ("people", "age", "number"),
    ("people", "born", "date"),
    ("people", "seen_at", "timestamp"),
    ("people", "vip", "checkbox"),
    ("people", "primary_location", "location"),
    ("people", "company", "record-reference"),
    ("people", "manager", "record-reference"),
    ("people", "owner", "actor-reference"),
    ("people", "stage", "status"),
    ("companies", "record_id", "id"),
    ("companies", "name", "text"),
    ("companies", "domains", "domain"),
    ("companies", "team", "record-reference"),
    ("companies", "revenue", "currency"),
    ("companies", "category", "select"),
    ("list-1", "entry_id", "id"),
    ("list-1", "parent_record", "record-reference"),
    ("list-1", "stage", "text"),
    ("list-1", "amount", "number"),
];

impl Schema for TestSchema {
    fn subject(&self, key: &str) -> Option<Subject> {
        match key {
            "people" | "companies" => Some(Subject::Object(key.to_owned())),
            "deals" | "list-1" => Some(Subject::List("list-1".to_owned())),
            _ => None,
        }
    }

    fn attribute(&self, subject: &Subject, key: &str) -> Option<AttributeInfo> {
        let parent = match subject {
            Subject::Object(slug) => slug.as_str(),
            Subject::List(id) => id.as_str(),
        };
        // Attribute IDs are spelt `id:<slug>` here.
        let slug = key.strip_prefix("id:").unwrap_or(key);
        ATTRIBUTES
            .iter()
            .find(|(p, s, _)| *p == parent && *s == slug)
            .map(|(_, slug, kind)| AttributeInfo {
                slug: (*slug).to_owned(),
                kind: match *kind {
                    "id" => Kind::Id,
                    other => Kind::parse(other),
                },
            })
    }
}

/// Values from `(slug, [value objects])` pairs.
pub(crate) fn values(pairs: &[(&str, Value)]) -> Values {
    pairs
        .iter()
        .map(|(slug, value)| {
            let array = match value {
                Value::Array(_) => value.clone(),
                single => json!([single]),
            };
            ((*slug).to_owned(), array)
        })
        .collect()
}

/// A person with Attio's renderings of a name and an email address.
pub(crate) fn person(id: &str, first: &str, last: &str, email: &str) -> Values {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    values(&[
        ("record_id", json!({"value": id})),
        (
            "name",
            json!({"first_name": first, "last_name": last, "full_name": format!("{first} {last}"),
                   "attribute_type": "personal-name"}),
        ),
        (
            "email_addresses",
            json!({"email_address": email, "original_email_address": email, "email_domain": domain,
                   "email_root_domain": domain, "email_local_specifier": local,
                   "attribute_type": "email-address"}),
        ),
    ])
}

/// A reference value to a record.
pub(crate) fn reference(object: &str, id: &str) -> Value {
    json!({"target_object": object, "target_record_id": id, "attribute_type": "record-reference"})
}

/// Records by (object, id), for resolving references.
pub(crate) struct World(pub Vec<(&'static str, String, Values)>);

impl World {
    pub fn resolve(&self, object: &str, id: &str) -> Option<Values> {
        self.0
            .iter()
            .find(|(o, i, _)| *o == object && i == id)
            .map(|(_, _, v)| v.clone())
    }
}
