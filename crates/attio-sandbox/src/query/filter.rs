//! Filters: the shorthand (`{"name": "Ada Lovelace"}`) and verbose (`{"name": {"first_name":
//! {"$starts_with": "Ad"}}}`) forms, `$and` / `$or` / `$not`, and `path` drill-downs through
//! record references, parsed into a tree once and evaluated against rendered values.

use serde_json::{Map, Value};

use super::compare::{as_text, boolean, compare, date, number, timestamp, Operand};
use super::types::{Class, Kind, Op, Property};
use super::{follow, parse_path, Hop, QueryError, Resolve, Schema, Subject, Values};

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    /// Every part holds (`$and`, or several keys in one object); an empty one always holds.
    All(Vec<Filter>),
    /// At least one part holds (`$or`); an empty one never holds.
    Any(Vec<Filter>),
    Not(Box<Filter>),
    /// A constraint on the values of one attribute of the record or entry itself.
    Attribute {
        slug: String,
        constraint: Constraint,
    },
    /// A constraint on an attribute of the records reached through `hops`.
    Path {
        hops: Vec<Hop>,
        slug: String,
        constraint: Constraint,
    },
}

/// What one attribute's values must satisfy.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Constraint {
    /// `$not_empty` on the attribute itself: whether it must have a value at all.
    present: Option<bool>,
    /// Conditions that one and the same value must all meet (so `{"$gte": 1, "$lt": 2}` is a
    /// range, and `{"target_object", "target_record_id"}` names one reference).
    conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    property: Property,
    test: Test,
}

#[derive(Clone, Debug, PartialEq)]
enum Test {
    Eq(Operand),
    In(Vec<Operand>),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Lt(Operand),
    Lte(Operand),
    Gt(Operand),
    Gte(Operand),
    NotEmpty(bool),
}

fn error(message: impl Into<String>) -> QueryError {
    QueryError::new(message)
}

impl Filter {
    /// Parses the `filter` of a query over `root`.
    pub fn parse(
        schema: &dyn Schema,
        root: &Subject,
        filter: &Value,
    ) -> Result<Filter, QueryError> {
        match filter {
            Value::Object(map) => parse_object(schema, root, map),
            other => Err(error(format!("The filter must be an object; got {other}."))),
        }
    }

    /// Whether the record or entry with these rendered values passes.
    pub fn matches(&self, values: &Values, resolve: Resolve) -> bool {
        match self {
            Filter::All(parts) => parts.iter().all(|p| p.matches(values, resolve)),
            Filter::Any(parts) => parts.iter().any(|p| p.matches(values, resolve)),
            Filter::Not(inner) => !inner.matches(values, resolve),
            Filter::Attribute { slug, constraint } => {
                constraint.holds(attribute_values(values, slug))
            }
            Filter::Path {
                hops,
                slug,
                constraint,
            } => follow(values, hops, resolve)
                .iter()
                .any(|target| constraint.holds(attribute_values(target, slug))),
        }
    }
}

fn attribute_values<'a>(values: &'a Values, slug: &str) -> &'a [Value] {
    values
        .get(slug)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn parse_object(
    schema: &dyn Schema,
    root: &Subject,
    map: &Map<String, Value>,
) -> Result<Filter, QueryError> {
    if let Some(path) = map.get("path") {
        if let Some(extra) = map.keys().find(|k| *k != "path" && *k != "constraints") {
            return Err(error(format!(
                "A path filter has only \"path\" and \"constraints\"; got \"{extra}\"."
            )));
        }
        let constraints = map
            .get("constraints")
            .ok_or_else(|| error("A path filter needs \"constraints\"."))?;
        let (hops, attribute) = parse_path(schema, root, path)?;
        let constraint = Constraint::parse(&attribute.slug, attribute.kind, constraints)?;
        return Ok(Filter::Path {
            hops,
            slug: attribute.slug,
            constraint,
        });
    }
    let mut parts = Vec::with_capacity(map.len());
    for (key, value) in map {
        parts.push(match key.as_str() {
            "$and" => Filter::All(parse_list(schema, root, key, value)?),
            "$or" => Filter::Any(parse_list(schema, root, key, value)?),
            "$not" => match value {
                Value::Object(inner) => Filter::Not(Box::new(parse_object(schema, root, inner)?)),
                other => return Err(error(format!("\"$not\" takes a filter object; got {other}."))),
            },
            logical if logical.starts_with('$') => {
                return Err(error(format!(
                    "Unknown logical operator \"{logical}\"; use $and, $or or $not, or an attribute slug."
                )))
            }
            attribute_key => {
                let attribute = schema.attribute(root, attribute_key).ok_or_else(|| {
                    error(format!("Unknown attribute slug/ID \"{attribute_key}\" in filter."))
                })?;
                let constraint = Constraint::parse(&attribute.slug, attribute.kind, value)?;
                Filter::Attribute {
                    slug: attribute.slug,
                    constraint,
                }
            }
        });
    }
    Ok(match parts.len() {
        1 => parts.remove(0),
        _ => Filter::All(parts),
    })
}

fn parse_list(
    schema: &dyn Schema,
    root: &Subject,
    key: &str,
    value: &Value,
) -> Result<Vec<Filter>, QueryError> {
    let items = value.as_array().ok_or_else(|| {
        error(format!(
            "\"{key}\" takes an array of filter objects; got {value}."
        ))
    })?;
    items
        .iter()
        .map(|item| match item {
            Value::Object(map) => parse_object(schema, root, map),
            other => Err(error(format!(
                "\"{key}\" takes an array of filter objects; got the element {other}."
            ))),
        })
        .collect()
}

impl Constraint {
    /// Parses what a filter says about the attribute `slug` of type `kind`: a bare value
    /// (equality on the type's main property), operators on that property, or properties with
    /// a bare value or operators each.
    fn parse(slug: &str, kind: Kind, spec: &Value) -> Result<Constraint, QueryError> {
        let mut constraint = Constraint {
            present: None,
            conditions: Vec::new(),
        };
        let default = || {
            kind.default_property()
                .and_then(|name| kind.property(name))
                .ok_or_else(|| {
                    error(format!(
                        "Filter the attribute \"{slug}\" by one of its properties, not by a bare value or operator."
                    ))
                })
        };
        let Value::Object(map) = spec else {
            let property = default()?;
            let operand = operand(slug, &property, Op::Eq, spec)?;
            constraint.conditions.push(Condition {
                property,
                test: Test::Eq(operand),
            });
            return Ok(constraint);
        };
        if map.is_empty() {
            return Err(error(format!("The filter on \"{slug}\" is empty.")));
        }
        for (key, value) in map {
            if let Some(name) = key.strip_prefix('$') {
                let op = Op::parse(key).ok_or_else(|| {
                    error(format!(
                        "Unknown operator \"${name}\" in the filter on \"{slug}\"."
                    ))
                })?;
                if op == Op::NotEmpty {
                    constraint.present = Some(bool_operand(slug, value)?);
                    continue;
                }
                let property = default()?;
                constraint
                    .conditions
                    .push(condition(slug, property, op, value)?);
                continue;
            }
            let property = kind.property(key).ok_or_else(|| {
                error(format!(
                    "The attribute \"{slug}\" has no filterable property \"{key}\"."
                ))
            })?;
            match value {
                Value::Object(ops) if !ops.is_empty() => {
                    for (op_key, op_value) in ops {
                        let op = Op::parse(op_key).ok_or_else(|| {
                            error(format!(
                                "Unknown operator \"{op_key}\" in the filter on \"{slug}.{key}\"."
                            ))
                        })?;
                        constraint.conditions.push(condition(
                            slug,
                            property.clone(),
                            op,
                            op_value,
                        )?);
                    }
                }
                Value::Object(_) => {
                    return Err(error(format!("The filter on \"{slug}.{key}\" is empty.")))
                }
                bare => constraint
                    .conditions
                    .push(condition(slug, property, Op::Eq, bare)?),
            }
        }
        Ok(constraint)
    }

    /// Whether an attribute with these values passes.
    fn holds(&self, values: &[Value]) -> bool {
        if self
            .present
            .is_some_and(|present| values.is_empty() == present)
        {
            return false;
        }
        self.conditions.is_empty()
            || values
                .iter()
                .any(|value| self.conditions.iter().all(|c| c.holds(value)))
    }
}

fn condition(
    slug: &str,
    property: Property,
    op: Op,
    value: &Value,
) -> Result<Condition, QueryError> {
    if !property.ops.contains(&op) {
        let allowed: Vec<&str> = property.ops.iter().map(|op| op.name()).collect();
        return Err(error(format!(
            "The operator \"{}\" cannot be used on \"{slug}\" ({}); it takes {}.",
            op.name(),
            property.name,
            allowed.join(", ")
        )));
    }
    let text = || {
        value.as_str().map(str::to_owned).ok_or_else(|| {
            error(format!(
                "\"{}\" on \"{slug}\" takes a string; got {value}.",
                op.name()
            ))
        })
    };
    let test = match op {
        Op::Eq => Test::Eq(operand(slug, &property, op, value)?),
        Op::In => {
            let items = value.as_array().ok_or_else(|| {
                error(format!(
                    "\"$in\" on \"{slug}\" takes an array; got {value}."
                ))
            })?;
            Test::In(
                items
                    .iter()
                    .map(|item| operand(slug, &property, op, item))
                    .collect::<Result<_, _>>()?,
            )
        }
        Op::Contains => Test::Contains(text()?),
        Op::StartsWith => Test::StartsWith(text()?),
        Op::EndsWith => Test::EndsWith(text()?),
        Op::Lt => Test::Lt(operand(slug, &property, op, value)?),
        Op::Lte => Test::Lte(operand(slug, &property, op, value)?),
        Op::Gt => Test::Gt(operand(slug, &property, op, value)?),
        Op::Gte => Test::Gte(operand(slug, &property, op, value)?),
        Op::NotEmpty => Test::NotEmpty(bool_operand(slug, value)?),
    };
    Ok(Condition { property, test })
}

fn bool_operand(slug: &str, value: &Value) -> Result<bool, QueryError> {
    value.as_bool().ok_or_else(|| {
        error(format!(
            "\"$not_empty\" on \"{slug}\" takes true or false; got {value}."
        ))
    })
}

/// Reads a filter value as the property's class, or says what was expected.
fn operand(slug: &str, property: &Property, op: Op, value: &Value) -> Result<Operand, QueryError> {
    let read = match property.class {
        Class::Exact | Class::Folded => value.as_str().map(|s| Operand::Text(s.to_owned())),
        Class::Number => number(value).map(Operand::Number),
        Class::Date => value.as_str().and_then(date).map(Operand::Date),
        Class::Timestamp => value.as_str().and_then(timestamp).map(Operand::Timestamp),
        Class::Moment => value
            .as_str()
            .and_then(crate::timestamp::parse_deadline)
            .map(Operand::Timestamp),
        Class::Bool => boolean(value).map(Operand::Bool),
    };
    read.ok_or_else(|| {
        let expected = match property.class {
            Class::Exact | Class::Folded => "a string",
            Class::Number => "a number",
            Class::Date => "a date like \"2023-11-24\"",
            Class::Timestamp => "a timestamp with date and time, like \"2023-11-24T08:00:00Z\"",
            Class::Moment => "a date or a timestamp",
            Class::Bool => "true or false",
        };
        error(format!(
            "\"{}\" on \"{slug}\" ({}) takes {expected}; got {value}.",
            op.name(),
            property.name
        ))
    })
}

impl Condition {
    fn holds(&self, value: &Value) -> bool {
        let found = self.property.read(value);
        if let Test::NotEmpty(wanted) = self.test {
            let present = found
                .iter()
                .any(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.is_empty()));
            return present == wanted;
        }
        found.iter().any(|v| self.test_one(v))
    }

    fn test_one(&self, value: &Value) -> bool {
        let class = self.property.class;
        let folded = |s: &str| s.to_lowercase();
        match &self.test {
            Test::Eq(operand) => compare(class, value, operand).is_some_and(|o| o.is_eq()),
            Test::In(operands) => operands
                .iter()
                .any(|operand| compare(class, value, operand).is_some_and(|o| o.is_eq())),
            Test::Contains(needle) => {
                as_text(value).is_some_and(|s| folded(&s).contains(&folded(needle)))
            }
            Test::StartsWith(prefix) => {
                as_text(value).is_some_and(|s| folded(&s).starts_with(&folded(prefix)))
            }
            Test::EndsWith(suffix) => {
                as_text(value).is_some_and(|s| folded(&s).ends_with(&folded(suffix)))
            }
            Test::Lt(operand) => compare(class, value, operand).is_some_and(|o| o.is_lt()),
            Test::Lte(operand) => compare(class, value, operand).is_some_and(|o| o.is_le()),
            Test::Gt(operand) => compare(class, value, operand).is_some_and(|o| o.is_gt()),
            Test::Gte(operand) => compare(class, value, operand).is_some_and(|o| o.is_ge()),
            Test::NotEmpty(_) => false,
        }
    }
}

#[cfg(test)]
mod tests;
