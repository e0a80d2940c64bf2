//! Attio's filter and sort language (record and list-entry queries) and record search, as pure
//! functions over values as the API renders them (attribute slug → array of value objects), so
//! that they do not depend on how the store keeps values.
//!
//! A filter is parsed once into a typed tree ([`filter::Filter`]) against a [`Schema`], which
//! names the attributes and their types; every mistake is a [`QueryError`] (Attio's
//! `filter_error`). Evaluation needs only the rendered values and, for paths through record
//! references, a callback that renders a referenced record's values.

mod compare;
pub(crate) mod filter;
pub(crate) mod search;
pub(crate) mod sort;
mod types;

use serde_json::{Map, Value};

pub(crate) use types::Kind;

/// A record's or entry's values as the API renders them: slug → array of value objects.
pub(crate) type Values = Map<String, Value>;

/// Renders the values of the record `record_id` of the object `object` (a slug), if it exists.
pub(crate) type Resolve<'a> = &'a dyn Fn(&str, &str) -> Option<Values>;

/// A filter or sort that Attio would refuse, with a message that says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueryError(pub String);

impl QueryError {
    fn new(message: impl Into<String>) -> Self {
        QueryError(message.into())
    }
}

/// What a query runs over: an object (by slug, which is what record references name as
/// `target_object`) or a list (by id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    Object(String),
    List(String),
}

/// One attribute as filters see it: its slug (the key of its values) and its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AttributeInfo {
    pub slug: String,
    pub kind: Kind,
}

/// The names a query may use: objects, lists and their attributes, by slug or ID.
pub(crate) trait Schema {
    fn subject(&self, key: &str) -> Option<Subject>;
    fn attribute(&self, subject: &Subject, key: &str) -> Option<AttributeInfo>;
}

/// A step of a path: the attribute (a record reference, or a list's `parent_record`) and the
/// object the records it points to must belong to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Hop {
    pub slug: String,
    pub object: String,
}

/// Parses `path` (`[[subject, attribute], ...]`, the first subject being `root`): the hops to
/// follow and the final attribute, whose values the constraints or the sort read.
pub(crate) fn parse_path(
    schema: &dyn Schema,
    root: &Subject,
    path: &Value,
) -> Result<(Vec<Hop>, AttributeInfo), QueryError> {
    let steps = path
        .as_array()
        .filter(|steps| !steps.is_empty())
        .ok_or_else(|| {
            QueryError::new("\"path\" must be a non-empty array of [object, attribute] pairs.")
        })?;
    let mut pairs = Vec::with_capacity(steps.len());
    for step in steps {
        match step.as_array().map(Vec::as_slice) {
            Some([Value::String(subject), Value::String(attribute)]) => {
                pairs.push((subject.as_str(), attribute.as_str()))
            }
            _ => {
                return Err(QueryError::new(format!(
                    "Each element of \"path\" must be a pair [object, attribute]; got {step}."
                )))
            }
        }
    }
    if let Some((first, _)) = pairs.first() {
        if schema.subject(first).as_ref() != Some(root) {
            return Err(QueryError::new(format!(
                "The first element of \"path\" must name the list or object being queried, not \"{first}\"."
            )));
        }
    }
    let mut hops = Vec::new();
    let mut subject = root.clone();
    for (i, (subject_key, attribute_key)) in pairs.iter().enumerate() {
        let attribute = schema.attribute(&subject, attribute_key).ok_or_else(|| {
            QueryError::new(format!(
                "Unknown attribute slug/ID \"{attribute_key}\" on \"{subject_key}\" in \"path\"."
            ))
        })?;
        let Some((next_key, _)) = pairs.get(i + 1) else {
            return Ok((hops, attribute));
        };
        if attribute.kind != Kind::RecordReference {
            return Err(QueryError::new(format!(
                "\"path\" can only pass through record reference attributes; \"{attribute_key}\" is not one."
            )));
        }
        let Some(Subject::Object(next)) = schema.subject(next_key) else {
            return Err(QueryError::new(format!(
                "Unknown object \"{next_key}\" in \"path\"."
            )));
        };
        hops.push(Hop {
            slug: attribute.slug,
            object: next.clone(),
        });
        subject = Subject::Object(next);
    }
    Err(QueryError::new("\"path\" must not be empty."))
}

/// The values of the records that `hops` lead to from `values`, in order, without repeats.
pub(crate) fn follow(values: &Values, hops: &[Hop], resolve: Resolve) -> Vec<Values> {
    let mut current = vec![values.clone()];
    for hop in hops {
        let mut next: Vec<Values> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for item in &current {
            for value in item
                .get(&hop.slug)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let object = value.get("target_object").and_then(Value::as_str);
                let id = value.get("target_record_id").and_then(Value::as_str);
                let (Some(object), Some(id)) = (object, id) else {
                    continue;
                };
                if object != hop.object || seen.iter().any(|s| s.eq_ignore_ascii_case(id)) {
                    continue;
                }
                seen.push(id.to_owned());
                next.extend(resolve(object, id));
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
pub(crate) mod testing;
