//! Reading rendered values and filter operands as numbers, dates, timestamps, booleans or text,
//! and comparing them, for filters and sorts alike.

use std::cmp::Ordering;

use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::types::Class;

/// A filter's value, already read as the property's class.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Operand {
    Text(String),
    Number(f64),
    Date(Date),
    Timestamp(OffsetDateTime),
    Bool(bool),
}

/// A number, or a string holding one (Attio renders currency values as strings).
pub(super) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// `true`/`false`, or their strings (as checkbox writes accept).
pub(super) fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// A calendar date: `2023-11-24`, or the UTC date of a timestamp.
pub(super) fn date(input: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(input, format)
        .ok()
        .or_else(|| timestamp(input).map(OffsetDateTime::date))
}

/// An RFC 3339 timestamp (date and time, any offset), in UTC.
pub(super) fn timestamp(input: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(input, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// A rendered value as text (the sandbox keeps numbers and booleans in text attributes).
pub(super) fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// How a rendered value compares with a filter's operand; `None` when it cannot be read as the
/// operand's kind (such a value matches no comparison).
pub(super) fn compare(class: Class, value: &Value, operand: &Operand) -> Option<Ordering> {
    match operand {
        Operand::Text(want) => {
            let have = as_text(value)?;
            Some(if class == Class::Folded {
                have.to_lowercase().cmp(&want.to_lowercase())
            } else {
                have.as_str().cmp(want.as_str())
            })
        }
        Operand::Number(want) => number(value)?.partial_cmp(want),
        Operand::Date(want) => Some(date(value.as_str()?)?.cmp(want)),
        Operand::Timestamp(want) => Some(timestamp(value.as_str()?)?.cmp(want)),
        Operand::Bool(want) => Some(boolean(value)?.cmp(want)),
    }
}
