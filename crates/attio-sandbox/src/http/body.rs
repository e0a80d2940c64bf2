//! Reading JSON request objects field by field, with a message naming the field for each mistake.
//! Every endpoint rejects keys it does not know, so a client's typo fails loudly.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::ApiError;
use crate::timestamp::parse_deadline;

pub(super) struct Fields {
    map: Map<String, Value>,
    /// How messages name the object: `data` for `{"data": {...}}` bodies, `body` otherwise.
    at: &'static str,
}

impl Fields {
    /// The `data` object of an Attio request body.
    pub fn data(body: Value) -> Result<Fields, ApiError> {
        match body {
            Value::Object(mut top) => match top.remove("data") {
                Some(Value::Object(map)) => Ok(Fields { map, at: "data" }),
                Some(_) => Err(ApiError::validation("\"data\" must be an object.")),
                None => Err(ApiError::validation(
                    "The body must have a \"data\" object.",
                )),
            },
            _ => Err(ApiError::validation(
                "The body must be a JSON object with a \"data\" object.",
            )),
        }
    }

    /// A top-level object (sandbox controls).
    pub fn object(body: Value) -> Result<Fields, ApiError> {
        match body {
            Value::Object(map) => Ok(Fields { map, at: "body" }),
            _ => Err(ApiError::validation("The body must be a JSON object.")),
        }
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    /// Rejects any key outside `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(ApiError::validation(format!(
                "Unknown field \"{}.{key}\"; the accepted fields are {}.",
                self.at,
                allowed.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// Rejects a body missing any of `keys`.
    pub fn require(&self, keys: &[&str]) -> Result<(), ApiError> {
        match keys.iter().find(|k| !self.map.contains_key(**k)) {
            Some(key) => Err(ApiError::validation(format!(
                "{}.{key} is required.",
                self.at
            ))),
            None => Ok(()),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    fn invalid(&self, key: &str, what: &str) -> ApiError {
        ApiError::validation(format!("{}.{key} must be {what}.", self.at))
    }

    /// A string, if the key is present.
    pub fn string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(key, "a string")),
        }
    }

    /// A string that is present and not blank.
    pub fn text(&mut self, key: &str) -> Result<String, ApiError> {
        match self.string(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(self.invalid(key, "a non-empty string")),
        }
    }

    /// A string or null, if the key is present.
    pub fn nullable_string(&mut self, key: &str) -> Result<Option<Option<String>>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(_) => Err(self.invalid(key, "a string or null")),
        }
    }

    /// An ISO 8601 timestamp (or a bare date), if the key is present.
    pub fn timestamp(&mut self, key: &str) -> Result<Option<OffsetDateTime>, ApiError> {
        match self.string(key)? {
            None => Ok(None),
            Some(raw) => parse_deadline(&raw)
                .map(Some)
                .ok_or_else(|| self.invalid(key, "an ISO 8601 timestamp")),
        }
    }

    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(self.invalid(key, "true or false")),
        }
    }

    pub fn uuid(&mut self, key: &str) -> Result<Option<Uuid>, ApiError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => Uuid::parse_str(&s)
                .map(Some)
                .map_err(|_| self.invalid(key, "a UUID")),
        }
    }

    /// An `api_slug`: lowercase letters, digits and underscores, starting with a letter.
    pub fn slug(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) if is_slug(&s) => Ok(Some(s)),
            Some(_) => Err(self.invalid(
                key,
                "a slug of lowercase letters, digits and underscores, starting with a letter",
            )),
        }
    }

    pub fn object_field(&mut self, key: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(self.invalid(key, "an object")),
        }
    }
}

fn is_slug(s: &str) -> bool {
    s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words() {
        for good in ["stage", "next_step", "sales-pipeline", "a1"] {
            assert!(is_slug(good), "{good}");
        }
        for bad in ["", "Stage", "1st", "_x", "with space", "é"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }
}
