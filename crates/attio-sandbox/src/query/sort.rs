//! Sorts: `[{"direction", "attribute", "field"?}]` or `[{"direction", "path", "field"?}]`, applied
//! in order, each breaking the ties of the ones before; the sort is stable, so what every sort
//! leaves tied keeps the order it came in (the sandbox's creation order).

use std::cmp::Ordering;

use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::compare::{as_text, date, number, timestamp};
use super::types::{Class, Property};
use super::{follow, parse_path, Hop, QueryError, Resolve, Schema, Subject, Values};

/// Parsed `sorts`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sorts(Vec<Sort>);

#[derive(Clone, Debug, PartialEq)]
struct Sort {
    hops: Vec<Hop>,
    slug: String,
    property: Property,
    descending: bool,
}

/// One sort's key for one item.
#[derive(Clone, Debug, PartialEq)]
enum Key {
    Number(f64),
    Date(Date),
    Timestamp(OffsetDateTime),
    Bool(bool),
    /// Text compares ignoring case first, then as it is, so the order is total.
    Text(String, String),
}

fn error(message: impl Into<String>) -> QueryError {
    QueryError(message.into())
}

impl Sorts {
    pub fn parse(schema: &dyn Schema, root: &Subject, sorts: &Value) -> Result<Sorts, QueryError> {
        let items = sorts
            .as_array()
            .ok_or_else(|| error(format!("\"sorts\" must be an array; got {sorts}.")))?;
        items
            .iter()
            .map(|item| Sort::parse(schema, root, item))
            .collect::<Result<_, _>>()
            .map(Sorts)
    }

    /// `items` in sort order; ties keep their order.
    pub fn order<T>(
        &self,
        items: Vec<T>,
        values: impl Fn(&T) -> &Values,
        resolve: Resolve,
    ) -> Vec<T> {
        if self.0.is_empty() {
            return items;
        }
        let mut keyed: Vec<(Vec<Option<Key>>, T)> = items
            .into_iter()
            .map(|item| {
                let keys = self
                    .0
                    .iter()
                    .map(|s| s.key(values(&item), resolve))
                    .collect();
                (keys, item)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            self.0
                .iter()
                .zip(a.iter().zip(b))
                .map(|(sort, (a, b))| sort.compare(a.as_ref(), b.as_ref()))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        keyed.into_iter().map(|(_, item)| item).collect()
    }
}

impl Sort {
    fn parse(schema: &dyn Schema, root: &Subject, item: &Value) -> Result<Sort, QueryError> {
        let map = item
            .as_object()
            .ok_or_else(|| error(format!("Each sort must be an object; got {item}.")))?;
        if let Some(key) = map
            .keys()
            .find(|k| !["direction", "attribute", "path", "field"].contains(&k.as_str()))
        {
            return Err(error(format!(
                "Unknown sort field \"{key}\"; a sort has direction, attribute or path, and field."
            )));
        }
        let descending = match map.get("direction").and_then(Value::as_str) {
            Some("asc") => false,
            Some("desc") => true,
            _ => {
                return Err(error(format!(
                    "A sort's direction must be \"asc\" or \"desc\"; got {}.",
                    map.get("direction").unwrap_or(&Value::Null)
                )))
            }
        };
        let (hops, attribute) = match (map.get("attribute"), map.get("path")) {
            (Some(Value::String(key)), None) => {
                let attribute = schema.attribute(root, key).ok_or_else(|| {
                    error(format!("Unknown attribute slug/ID \"{key}\" in sorts."))
                })?;
                (Vec::new(), attribute)
            }
            (None, Some(path)) => parse_path(schema, root, path)?,
            _ => {
                return Err(error(
                    "A sort names either an \"attribute\" (a slug or ID) or a \"path\".",
                ))
            }
        };
        let field = match map.get("field") {
            None => attribute.kind.sort_property(),
            Some(Value::String(field)) => field.as_str(),
            Some(other) => {
                return Err(error(format!(
                    "A sort's field must be a string; got {other}."
                )))
            }
        };
        let property = attribute.kind.property(field).ok_or_else(|| {
            error(format!(
                "The attribute \"{}\" has no sortable field \"{field}\".",
                attribute.slug
            ))
        })?;
        Ok(Sort {
            hops,
            slug: attribute.slug,
            property,
            descending,
        })
    }

    /// The first value's field, of the item itself or of the first record the path reaches.
    fn key(&self, values: &Values, resolve: Resolve) -> Option<Key> {
        let first = |values: &Values| {
            let value = values.get(&self.slug)?.as_array()?.first()?;
            let field = self.property.read(value).into_iter().next()?;
            key(self.property.class, &field)
        };
        if self.hops.is_empty() {
            first(values)
        } else {
            follow(values, &self.hops, resolve).iter().find_map(first)
        }
    }

    /// Items without a key come last in either direction.
    fn compare(&self, a: Option<&Key>, b: Option<&Key>) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => {
                let order = compare_keys(a, b);
                if self.descending {
                    order.reverse()
                } else {
                    order
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

fn key(class: Class, value: &Value) -> Option<Key> {
    match class {
        Class::Number => number(value).map(Key::Number),
        Class::Date => date(value.as_str()?).map(Key::Date),
        Class::Timestamp | Class::Moment => timestamp(value.as_str()?).map(Key::Timestamp),
        Class::Bool => value.as_bool().map(Key::Bool),
        Class::Exact | Class::Folded => as_text(value).map(|s| Key::Text(s.to_lowercase(), s)),
    }
}

fn compare_keys(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
        (Key::Date(a), Key::Date(b)) => a.cmp(b),
        (Key::Timestamp(a), Key::Timestamp(b)) => a.cmp(b),
        (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
        (Key::Text(a_folded, a), Key::Text(b_folded, b)) => a_folded.cmp(b_folded).then(a.cmp(b)),
        // One property always yields one kind of key.
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests;
