//! Attio's OpenAPI document as a validator of the sandbox's answers.
//!
//! The document (`attio-openapi.yaml`, OpenAPI 3.1 with the 3.0 keyword `nullable: true`) is read
//! from `ATTIO_OPENAPI` or from the working material beside the repository
//! (`../shared/reference/attio-openapi.yaml`). Where it is absent the checks are skipped with a
//! printed reason, unless `ATTIO_REQUIRE_OPENAPI=1` (CI sets it) makes that a failure.
//!
//! Every answer a conformance test reads through [`crate::TestSandbox::call`] is checked here:
//! an answer whose status the document lists for the operation must match that response's schema;
//! an error answer with a status the document does not list must still have Attio's error shape.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{LazyLock, Once};

use jsonschema::Validator;
use serde_json::{json, Map, Value};

/// One operation of the document: method, path template, and a validator per listed status.
pub struct Operation {
    pub method: String,
    pub template: String,
    segments: Vec<Segment>,
    responses: BTreeMap<u16, Option<Validator>>,
}

enum Segment {
    Literal(String),
    Parameter,
}

impl Operation {
    /// `GET /v2/objects/{object}`.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    pub fn statuses(&self) -> impl Iterator<Item = u16> + '_ {
        self.responses.keys().copied()
    }

    /// How many literal segments match `path` (for choosing the most specific template), or
    /// `None` when the template does not match.
    fn matches(&self, path: &str) -> Option<usize> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut literals = 0;
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => literals += 1,
                Segment::Literal(_) => return None,
                Segment::Parameter if part.is_empty() => return None,
                Segment::Parameter => {}
            }
        }
        Some(literals)
    }
}

pub struct Document {
    pub operations: Vec<Operation>,
}

impl Document {
    /// The operation a request is for: same method, the template with the most literal segments.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let path = path.split('?').next().unwrap_or(path);
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter_map(|op| op.matches(path).map(|score| (score, op)))
            .max_by_key(|(score, _)| *score)
            .map(|(_, op)| op)
    }
}

fn document_path() -> PathBuf {
    match std::env::var_os("ATTIO_OPENAPI") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/attio-openapi.yaml"),
    }
}

static DOCUMENT: LazyLock<Option<Document>> = LazyLock::new(|| {
    let path = document_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            assert!(
                std::env::var("ATTIO_REQUIRE_OPENAPI").as_deref() != Ok("1"),
                "ATTIO_REQUIRE_OPENAPI=1 but Attio's OpenAPI document cannot be read at {}: {error}",
                path.display()
            );
            return None;
        }
    };
    let raw: Value = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    Some(load(&raw))
});

/// The document, or `None` (after printing why, once) where it is absent.
pub fn document() -> Option<&'static Document> {
    static SKIP: Once = Once::new();
    let document = DOCUMENT.as_ref();
    if document.is_none() {
        SKIP.call_once(|| {
            eprintln!(
                "schema checks skipped: Attio's OpenAPI document is not at {} (set ATTIO_OPENAPI)",
                document_path().display()
            );
        });
    }
    document
}

fn load(raw: &Value) -> Document {
    let components = nullable_to_json_schema(&raw["components"]);
    let mut operations = Vec::new();
    for (template, item) in raw["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let mut responses = BTreeMap::new();
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let status: u16 = status.parse().expect("numeric status");
                let schema = &response["content"]["application/json"]["schema"];
                let validator = (!schema.is_null()).then(|| compile(schema, &components));
                responses.insert(status, validator);
            }
            let segments = template
                .trim_start_matches('/')
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        Segment::Parameter
                    } else {
                        Segment::Literal(part.to_owned())
                    }
                })
                .collect();
            operations.push(Operation {
                method: method.to_uppercase(),
                template: template.clone(),
                segments,
                responses,
            });
        }
    }
    Document { operations }
}

/// A validator for `schema`, whose `#/components/...` references resolve against `components`.
fn compile(schema: &Value, components: &Value) -> Validator {
    let mut root = match nullable_to_json_schema(schema) {
        Value::Object(map) => map,
        other => panic!("a schema object, got {other}"),
    };
    root.insert("components".to_owned(), components.clone());
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("the document's schema compiles: {e}"))
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: `type: X` becomes `type: [X, "null"]` (and an
/// `enum` gains `null`); a schema without a plain `type` (a `$ref`, `oneOf`, ...) becomes
/// `anyOf: [schema, {type: null}]`.
fn nullable_to_json_schema(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(nullable_to_json_schema).collect()),
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(key, _)| key.as_str() != "nullable")
                .map(|(key, value)| (key.clone(), nullable_to_json_schema(value)))
                .collect();
            if map.get("nullable") != Some(&Value::Bool(true)) {
                // OpenAPI 3.1's own spelling, `type: [X, "null"]`, sits beside an `enum` without
                // `null` in the document (the currency configuration): the type says null is
                // allowed, so the enum does too.
                if out
                    .get("type")
                    .and_then(Value::as_array)
                    .is_some_and(|kinds| kinds.contains(&json!("null")))
                {
                    null_in_enum(&mut out);
                }
                return Value::Object(out);
            }
            match out.get("type").cloned() {
                Some(Value::String(kind)) => {
                    out.insert("type".to_owned(), json!([kind, "null"]));
                    if let Some(Value::Array(values)) = out.get_mut("enum") {
                        values.push(Value::Null);
                    }
                    Value::Object(out)
                }
                Some(Value::Array(mut kinds)) => {
                    if !kinds.contains(&json!("null")) {
                        kinds.push(json!("null"));
                    }
                    out.insert("type".to_owned(), Value::Array(kinds));
                    null_in_enum(&mut out);
                    Value::Object(out)
                }
                _ => json!({ "anyOf": [Value::Object(out), { "type": "null" }] }),
            }
        }
        other => other.clone(),
    }
}

fn null_in_enum(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
}

/// The sandbox's one deliberate difference from Attio on the wire: it accepts `http://`
/// webhook targets on loopback addresses (so a local app can receive deliveries without TLS),
/// where Attio's document requires `https://`. Such a target is checked as its `https://` twin;
/// any other `http://` target still fails.
fn as_attio_would_see_it(operation: &Operation, body: &Value) -> Value {
    let mut body = body.clone();
    if !operation.template.starts_with("/v2/webhooks") {
        return body;
    }
    let fix = |webhook: &mut Value| {
        let Some(mut url) = webhook["target_url"]
            .as_str()
            .and_then(|u| url::Url::parse(u).ok())
        else {
            return;
        };
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        };
        if url.scheme() == "http" && loopback && url.set_scheme("https").is_ok() {
            webhook["target_url"] = json!(url.as_str());
        }
    };
    match &mut body["data"] {
        Value::Array(webhooks) => webhooks.iter_mut().for_each(fix),
        webhook @ Value::Object(_) => fix(webhook),
        _ => {}
    }
    body
}

/// Why `body`, answered with `status` to `method path`, does not match the document (empty when
/// it matches, when the document is absent, or when the path is not the document's: controls,
/// OAuth).
pub fn problems(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let Some(document) = document() else {
        return Vec::new();
    };
    let Some(operation) = document.operation(method, path) else {
        return Vec::new();
    };
    match operation.responses.get(&status) {
        // HTTP gives a 204 no content (RFC 9110 §15.3.5), whatever schema the document gives it.
        Some(_) if status == 204 && body.is_null() => Vec::new(),
        Some(Some(validator)) if generic_validation_error(status, body) => Vec::new(),
        Some(Some(validator)) => validator
            .iter_errors(&as_attio_would_see_it(operation, body))
            .map(|e| format!("{} at {}: {e}", operation.name(), e.instance_path()))
            .collect(),
        Some(None) => Vec::new(),
        None if status >= 400 => error_shape(status, body)
            .into_iter()
            .map(|p| format!("{} {status} (not in the document): {p}", operation.name()))
            .collect(),
        None => vec![format!(
            "{} answered {status}, which the document does not list ({:?})",
            operation.name(),
            operation.statuses().collect::<Vec<_>>()
        )],
    }
}

/// A malformed request body answered 400 `validation_type` with Attio's error shape. Attio's
/// error reference gives this answer for a body that does not match an operation's request
/// schema on every operation, while the document lists per operation only the operation's own
/// 400 code (`value_not_found`, `filter_error`, ...): the suite accepts it beside that code.
fn generic_validation_error(status: u16, body: &Value) -> bool {
    status == 400 && body["code"] == "validation_type" && error_shape(status, body).is_empty()
}

/// Attio's error shape for statuses the document does not list per operation (401, 403, 413,
/// 429, ...): the four fields, `status_code` equal to the status.
fn error_shape(status: u16, body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if body["status_code"] != json!(status) {
        problems.push(format!("status_code is not {status}: {body}"));
    }
    for field in ["type", "code", "message"] {
        if !body[field].is_string() {
            problems.push(format!("{field} is not a string: {body}"));
        }
    }
    problems
}

/// Panics with every problem of the answer (see [`problems`]).
#[track_caller]
pub fn assert_valid(method: &str, path: &str, status: u16, body: &Value) {
    let problems = problems(method, path, status, body);
    assert!(
        problems.is_empty(),
        "{method} {path} answered {status}, which does not match Attio's document:\n{}\nbody: {body}",
        problems.join("\n")
    );
}

#[test]
fn nullable_becomes_a_null_type_or_an_alternative() {
    let converted = nullable_to_json_schema(&json!({
        "type": "object",
        "properties": {
            "a": {"type": "string", "nullable": true, "enum": ["x"]},
            "b": {"$ref": "#/components/schemas/thing", "nullable": true},
            "c": {"type": "string"}
        }
    }));
    assert_eq!(
        converted["properties"]["a"],
        json!({"type": ["string", "null"], "enum": ["x", null]})
    );
    assert_eq!(
        converted["properties"]["b"],
        json!({"anyOf": [{"$ref": "#/components/schemas/thing"}, {"type": "null"}]})
    );
    assert_eq!(converted["properties"]["c"], json!({"type": "string"}));
}

#[test]
fn the_document_describes_67_operations_and_answers_are_checked_against_it() {
    let Some(document) = document() else {
        return;
    };
    assert_eq!(document.operations.len(), 67);
    let objects = document
        .operation("GET", "/v2/objects/people")
        .expect("an operation");
    assert_eq!(objects.template, "/v2/objects/{object}");
    let search = document
        .operation("POST", "/v2/objects/records/search")
        .expect("an operation");
    assert_eq!(search.template, "/v2/objects/records/search");
    // A wrong answer is caught: an object without its required fields.
    assert!(!problems("GET", "/v2/objects/people", 200, &json!({"data": {}})).is_empty());
    assert!(!problems("GET", "/v2/objects/people", 404, &json!({"oops": 1})).is_empty());
    assert!(!problems("GET", "/v2/objects/people", 401, &json!({})).is_empty());
    assert!(problems(
        "GET",
        "/v2/objects/people",
        404,
        &json!({"status_code": 404, "type": "invalid_request_error", "code": "not_found",
                "message": "Object with slug/ID \"x\" not found."})
    )
    .is_empty());
}
