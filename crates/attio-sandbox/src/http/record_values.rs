//! Record and entry attribute values: parsing the `values` / `entry_values` of a request (Attio
//! accepts bare values, arrays and value objects) and rendering them as Attio's value objects,
//! one shape per attribute type, each with `active_from`, `active_until` and `created_by_actor`.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::ApiError;
use crate::store::{
    Actor, Attribute, AttributeParent, Choice, Entry, ObjectKind, Record, RecordChanges,
    ValueHistory, WorkspaceStore, Written,
};
use crate::timestamp::{format, parse_deadline};

fn unknown_attribute(key: &str) -> ApiError {
    ApiError::value_not_found(format!("Cannot find attribute with slug/ID \"{key}\"."))
}

/// The attribute `key` (slug or ID) of `parent`, which must not be archived.
fn writable<'a>(
    store: &'a WorkspaceStore,
    parent: AttributeParent,
    key: &str,
) -> Result<&'a Attribute, ApiError> {
    let attribute = store
        .attribute(parent, key)
        .ok_or_else(|| unknown_attribute(key))?;
    if attribute.is_archived {
        return Err(ApiError::validation(format!(
            "The attribute \"{key}\" is archived and cannot be written."
        )));
    }
    Ok(attribute)
}

/// Parses a record's `values`. With `append` (PATCH), new unique values are added to the
/// current ones; otherwise (POST, PUT) they replace them.
pub(super) fn record_changes(
    store: &WorkspaceStore,
    object: ObjectKind,
    values: Map<String, Value>,
    current: Option<&Record>,
    append: bool,
) -> Result<RecordChanges, ApiError> {
    let parent = AttributeParent::Object(object);
    // Custom objects have no unique system attribute: every attribute is an ordinary one.
    let (unique_slug, unique_field) = object.unique_attribute().unwrap_or(("", ""));
    let mut changes = RecordChanges::default();
    for (key, value) in values {
        let attribute = writable(store, parent, &key)?;
        if attribute.is_system && attribute.api_slug == "name" {
            changes.name = Some(name(object, value)?);
        } else if attribute.is_system
            && !unique_slug.is_empty()
            && attribute.api_slug == unique_slug
        {
            let mut uniques = if append {
                current.map(|r| r.uniques.clone()).unwrap_or_default()
            } else {
                Vec::new()
            };
            for value in unique_values(value, unique_slug, unique_field)? {
                if !uniques.iter().any(|u| u.eq_ignore_ascii_case(&value)) {
                    uniques.push(value);
                }
            }
            changes.uniques = Some(uniques);
        } else {
            let current = current.and_then(|r| r.values.get(&attribute.id));
            changes.values.push((
                attribute.id,
                attribute_value(store, attribute, value, current, append)?,
            ));
        }
    }
    Ok(changes)
}

/// Parses an entry's `entry_values` against the list's attributes. With `append` (PATCH), new
/// values of multiselect attributes are added to `current`'s; otherwise they replace them.
pub(super) fn entry_values(
    store: &WorkspaceStore,
    list_id: Uuid,
    values: Map<String, Value>,
    current: Option<&Entry>,
    append: bool,
) -> Result<Vec<(Uuid, Option<Value>)>, ApiError> {
    values
        .into_iter()
        .map(|(key, value)| {
            let attribute = writable(store, AttributeParent::List(list_id), &key)?;
            let now = current.and_then(|e| e.values.get(&attribute.id));
            Ok((
                attribute.id,
                attribute_value(store, attribute, value, now, append)?,
            ))
        })
        .collect()
}

/// The stored form of an ordinary attribute's new value. A multiselect attribute keeps an array
/// of values (a bare value or an array of them; with `append`, added to `current`'s, without
/// repeats); any other attribute keeps one.
fn attribute_value(
    store: &WorkspaceStore,
    attribute: &Attribute,
    value: Value,
    current: Option<&Value>,
    append: bool,
) -> Result<Option<Value>, ApiError> {
    if !attribute.is_multiselect {
        return scalar(store, attribute, value);
    }
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut kept: Vec<Value> = match (append, current) {
        (true, Some(Value::Array(items))) => items.clone(),
        (true, Some(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    for item in items {
        if let Some(stored) = scalar(store, attribute, item)? {
            if !kept.contains(&stored) {
                kept.push(stored);
            }
        }
    }
    Ok((!kept.is_empty()).then_some(Value::Array(kept)))
}

/// A person's name (`"Ada Lovelace"` or `[{first_name, last_name, full_name}]`) or a company's
/// (`"Acme"` or `[{"value": "Acme"}]`).
fn name(object: ObjectKind, value: Value) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::validation(match object {
            ObjectKind::People => "name must be a string or [{first_name, last_name, full_name}].",
            ObjectKind::Companies | ObjectKind::Custom(_) => {
                "name must be a string or [{\"value\": \"…\"}]."
            }
        })
    };
    let value = match value {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    };
    match value {
        Value::String(s) => Ok(s),
        Value::Object(map) => {
            let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
            if let Some(full) = text("full_name").or_else(|| text("value")) {
                return Ok(full);
            }
            match (text("first_name"), text("last_name")) {
                (None, None) => Err(invalid()),
                (first, last) => {
                    Ok(
                        format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
                            .trim()
                            .to_owned(),
                    )
                }
            }
        }
        _ => Err(invalid()),
    }
}

/// Email addresses or domains: a string, or an array of strings or `{field: "…"}` objects.
fn unique_values(value: Value, slug: &str, field: &str) -> Result<Vec<String>, ApiError> {
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let text = match &item {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Object(map) => map
                    .get(field)
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_owned()),
                _ => None,
            };
            let valid = text.filter(|s| {
                !s.is_empty()
                    && !s.contains(char::is_whitespace)
                    && (field != "email_address" || s.contains('@'))
            });
            valid.ok_or_else(|| {
                ApiError::validation(format!(
                    "{slug} must hold values like \"…\" or {{\"{field}\": \"…\"}}; got {item}."
                ))
            })
        })
        .collect()
}

/// One value for an ordinary attribute: a bare value, `[value]`, `[{"value": value}]` or the
/// attribute type's value object (`{"option": …}`, `{"currency_value": …}`, …); `null` or `[]`
/// clears it. Returns the stored form, which suits the attribute's type.
fn scalar(
    store: &WorkspaceStore,
    attribute: &Attribute,
    value: Value,
) -> Result<Option<Value>, ApiError> {
    let value = match value {
        Value::Array(mut items) if items.len() <= 1 => items.pop().unwrap_or(Value::Null),
        other => other,
    };
    if value.is_null() {
        return Ok(None);
    }
    let unsuitable = |value: &Value| {
        ApiError::validation(format!(
            "The value {value} does not suit the {} attribute \"{}\".",
            attribute.kind, attribute.api_slug
        ))
    };
    // The field of the type's value object that holds what a bare value would be.
    let field = match attribute.kind.as_str() {
        "currency" => "currency_value",
        "select" => "option",
        "status" => "status",
        "domain" => "domain",
        "email-address" => "email_address",
        "phone-number" => "original_phone_number",
        "actor-reference" => "referenced_actor_id",
        "record-reference" => "target_record_id",
        _ => "value",
    };
    let inner = match &value {
        Value::Object(map) if attribute.kind == "location" => Some(value.clone()),
        Value::Object(map) if attribute.kind == "record-reference" => {
            Some(Value::Object(map.clone()))
        }
        Value::Object(map) => map.get(field).or_else(|| map.get("value")).cloned(),
        other => Some(other.clone()),
    }
    .ok_or_else(|| unsuitable(&value))?;
    let stored = match (attribute.kind.as_str(), &inner) {
        ("number" | "currency", Value::Number(_)) => inner.clone(),
        ("rating", Value::Number(n)) if n.as_u64().is_some_and(|r| r <= 5) => inner.clone(),
        ("checkbox", Value::Bool(_)) => inner.clone(),
        ("date", Value::String(s)) => {
            let day = parse_deadline(s).ok_or_else(|| unsuitable(&value))?;
            json!(format(day)[..10])
        }
        ("timestamp", Value::String(s)) => {
            json!(format(parse_deadline(s).ok_or_else(|| unsuitable(&value))?))
        }
        ("select" | "status", Value::String(key)) => {
            let choice = choice(attribute, key).ok_or_else(|| {
                ApiError::value_not_found(format!(
                    "Cannot find {} \"{key}\" of the attribute \"{}\".",
                    if attribute.kind == "select" {
                        "select option"
                    } else {
                        "status"
                    },
                    attribute.api_slug
                ))
            })?;
            json!(choice.id)
        }
        ("record-reference", _) => {
            record_reference(store, &inner).ok_or_else(|| unsuitable(&value))?
        }
        ("actor-reference", Value::String(id)) => {
            let member = Uuid::parse_str(id)
                .ok()
                .filter(|id| store.members.iter().any(|m| m.id == *id))
                .ok_or_else(|| {
                    ApiError::value_not_found(format!("Cannot find workspace member \"{id}\"."))
                })?;
            json!(member)
        }
        ("location", Value::String(line)) => json!({ "line_1": line }),
        ("location", Value::Object(map)) => {
            let known: Map<String, Value> = map
                .iter()
                .filter(|(k, v)| {
                    LOCATION_FIELDS.contains(&k.as_str()) && (v.is_string() || v.is_null())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if known.len() != map.len() {
                return Err(unsuitable(&value));
            }
            Value::Object(known)
        }
        ("domain", Value::String(domain)) if valid_domain(domain) => json!(domain.to_lowercase()),
        ("email-address", Value::String(email)) if email_parts(email).is_some() => {
            json!(email.trim())
        }
        ("phone-number", Value::String(number)) => {
            let country = value.get("country_code").and_then(Value::as_str);
            phone(number, country).ok_or_else(|| unsuitable(&value))?;
            json!({ "original_phone_number": number, "country_code": country })
        }
        ("text" | "personal-name", Value::String(_)) => inner.clone(),
        ("text" | "personal-name", Value::Number(_) | Value::Bool(_)) => json!(inner.to_string()),
        _ => return Err(unsuitable(&value)),
    };
    Ok(Some(stored))
}

/// A select option or status of `attribute` by id or title (archived ones cannot be written).
fn choice<'a>(attribute: &'a Attribute, key: &str) -> Option<&'a Choice> {
    let id = Uuid::parse_str(key).ok();
    attribute
        .choices
        .iter()
        .find(|c| !c.is_archived && (Some(c.id) == id || c.title == key))
}

/// A record reference: a record id (of people or companies) or `{target_object,
/// target_record_id}`; stored as the latter with the object's slug.
fn record_reference(store: &WorkspaceStore, value: &Value) -> Option<Value> {
    let (object, id) = match value {
        Value::String(id) => {
            let id = Uuid::parse_str(id).ok()?;
            let record = store.records.iter().find(|r| r.id == id)?;
            (record.object, id)
        }
        Value::Object(map) => {
            let object = store.object(map.get("target_object")?.as_str()?)?.kind;
            let id = Uuid::parse_str(map.get("target_record_id")?.as_str()?).ok()?;
            store.record(object, id)?;
            (object, id)
        }
        _ => return None,
    };
    Some(json!({ "target_object": store.object_slug(object), "target_record_id": id }))
}

const LOCATION_FIELDS: &[&str] = &[
    "line_1",
    "line_2",
    "line_3",
    "line_4",
    "locality",
    "region",
    "postcode",
    "country_code",
    "latitude",
    "longitude",
];

fn valid_domain(domain: &str) -> bool {
    let domain = domain.trim();
    !domain.is_empty()
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// The registrable part of a host name: its last two labels (the sandbox has no public-suffix
/// list, so `bbc.co.uk` gives `co.uk`).
fn root_domain(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

/// `(local part, domain)` of an email address.
fn email_parts(email: &str) -> Option<(&str, &str)> {
    let email = email.trim();
    let (local, domain) = email.rsplit_once('@')?;
    (!local.is_empty() && valid_domain(domain) && !email.contains(char::is_whitespace))
        .then_some((local, domain))
}

/// Calling codes of the countries the sandbox recognises in `+` numbers.
const CALLING_CODES: &[(&str, &str)] = &[
    ("+1", "US"),
    ("+20", "EG"),
    ("+27", "ZA"),
    ("+30", "GR"),
    ("+31", "NL"),
    ("+32", "BE"),
    ("+33", "FR"),
    ("+34", "ES"),
    ("+39", "IT"),
    ("+41", "CH"),
    ("+43", "AT"),
    ("+44", "GB"),
    ("+45", "DK"),
    ("+46", "SE"),
    ("+47", "NO"),
    ("+48", "PL"),
    ("+49", "DE"),
    ("+52", "MX"),
    ("+55", "BR"),
    ("+61", "AU"),
    ("+64", "NZ"),
    ("+65", "SG"),
    ("+81", "JP"),
    ("+82", "KR"),
    ("+86", "CN"),
    ("+91", "IN"),
    ("+234", "NG"),
    ("+254", "KE"),
    ("+351", "PT"),
    ("+353", "IE"),
    ("+358", "FI"),
    ("+972", "IL"),
    ("+971", "AE"),
];

/// `(E.164 number, country code)`: a `+` number (its country from the calling code unless
/// given), or a national number with a `country_code`.
fn phone(original: &str, country: Option<&str>) -> Option<(String, String)> {
    let digits: String = original
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let plus = digits.strip_prefix('+');
    let rest = plus.unwrap_or(&digits);
    if rest.len() < 4 || rest.len() > 15 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if plus.is_some() {
        let from_code = CALLING_CODES
            .iter()
            .filter(|(code, _)| digits.starts_with(code))
            .max_by_key(|(code, _)| code.len())
            .map(|(_, country)| (*country).to_owned());
        let country = country.map(str::to_owned).or(from_code)?;
        return Some((digits, country));
    }
    let country = country?;
    let code = CALLING_CODES.iter().find(|(_, c)| *c == country)?.0;
    Some((
        format!("{code}{}", rest.trim_start_matches('0')),
        country.to_owned(),
    ))
}

/// When a value was active and who wrote it: the three fields every value object carries.
#[derive(Clone, Copy)]
pub(super) struct Active {
    pub written: Written,
    pub until: Option<OffsetDateTime>,
}

impl Active {
    fn current(written: Written) -> Active {
        Active {
            written,
            until: None,
        }
    }
}

fn actor_json(actor: Actor) -> Value {
    let (kind, id) = actor.type_and_id();
    json!({ "type": kind, "id": id })
}

/// The value objects of `attribute` for one stored value (an array for the multiselect system
/// attributes: emails, domains).
pub(super) fn value_objects(
    store: &WorkspaceStore,
    attribute: &Attribute,
    raw: &Value,
    active: Active,
) -> Vec<Value> {
    let items: Vec<&Value> = match raw {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    items
        .into_iter()
        .map(|item| {
            let mut object = typed(store, attribute, item);
            if let Value::Object(map) = &mut object {
                map.insert("active_from".to_owned(), json!(format(active.written.at)));
                map.insert("active_until".to_owned(), json!(active.until.map(format)));
                map.insert("created_by_actor".to_owned(), actor_json(active.written.by));
                map.insert("attribute_type".to_owned(), json!(attribute.kind));
            }
            object
        })
        .collect()
}

/// The type-specific fields of one value.
fn typed(store: &WorkspaceStore, attribute: &Attribute, raw: &Value) -> Value {
    let text = || match raw {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match attribute.kind.as_str() {
        "personal-name" => {
            let full = text();
            let (first, last) = full.split_once(' ').unwrap_or((&full, ""));
            json!({ "first_name": first, "last_name": last, "full_name": full })
        }
        "email-address" => {
            let original = text();
            let (local, domain) = email_parts(&original).unwrap_or((&original, ""));
            let domain = domain.to_lowercase();
            json!({
                "original_email_address": original,
                "email_address": original.to_lowercase(),
                "email_domain": domain,
                "email_root_domain": root_domain(&domain),
                "email_local_specifier": local.split('+').next().unwrap_or(local).to_lowercase(),
            })
        }
        "domain" => {
            let domain = text();
            json!({ "domain": domain, "root_domain": root_domain(&domain) })
        }
        "currency" => json!({ "currency_value": raw, "currency_code": null }),
        "select" | "status" => {
            let field = if attribute.kind == "select" {
                "option"
            } else {
                "status"
            };
            let choice = attribute
                .choices
                .iter()
                .find(|c| Some(c.id.to_string()) == raw.as_str().map(str::to_owned));
            let choice = choice.map(|c| choice_json(store, attribute, c));
            json!({ field: choice })
        }
        "record-reference" => raw.clone(),
        "actor-reference" => {
            json!({ "referenced_actor_type": "workspace-member", "referenced_actor_id": raw })
        }
        "location" => {
            let mut location: Map<String, Value> = LOCATION_FIELDS
                .iter()
                .map(|field| {
                    (
                        (*field).to_owned(),
                        raw.get(*field).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            if let Value::String(line) = raw {
                location.insert("line_1".to_owned(), json!(line));
            }
            Value::Object(location)
        }
        "phone-number" => {
            let original = raw["original_phone_number"].as_str().unwrap_or_default();
            let (number, country) =
                phone(original, raw["country_code"].as_str()).unwrap_or_default();
            json!({
                "original_phone_number": original,
                "phone_number": number,
                "country_code": country,
            })
        }
        "text" => json!({ "value": text() }),
        _ => json!({ "value": raw }),
    }
}

/// A select option or status as Attio shows it.
pub(super) fn choice_json(store: &WorkspaceStore, attribute: &Attribute, choice: &Choice) -> Value {
    let parent_id = match attribute.parent {
        AttributeParent::Object(kind) => store.object_id(kind),
        AttributeParent::List(list_id) => list_id,
    };
    if attribute.kind == "status" {
        json!({
            "id": { "workspace_id": store.workspace.id, "object_id": parent_id,
                    "attribute_id": attribute.id, "status_id": choice.id },
            "title": choice.title,
            "is_archived": choice.is_archived,
            "celebration_enabled": choice.celebration_enabled,
            "target_time_in_status": choice.target_time_in_status,
        })
    } else {
        json!({
            "id": { "workspace_id": store.workspace.id, "object_id": parent_id,
                    "attribute_id": attribute.id, "option_id": choice.id },
            "title": choice.title,
            "is_archived": choice.is_archived,
        })
    }
}

/// An attribute's current value objects and, with `historic`, the ones it replaced (oldest first).
pub(super) fn attribute_values(
    store: &WorkspaceStore,
    attribute: &Attribute,
    current: Option<Value>,
    history: &ValueHistory,
    historic: bool,
) -> Vec<Value> {
    let mut values = Vec::new();
    if historic {
        for past in history.past(attribute.id) {
            values.extend(value_objects(
                store,
                attribute,
                &past.raw,
                Active {
                    written: past.written,
                    until: Some(past.until),
                },
            ));
        }
    }
    if let Some(raw) = current {
        values.extend(value_objects(
            store,
            attribute,
            &raw,
            Active::current(history.written(attribute.id)),
        ));
    }
    values
}

/// The ids of an object's `name` and unique system attributes.
pub(super) fn system_ids(store: &WorkspaceStore, object: ObjectKind) -> (Uuid, Uuid) {
    let parent = AttributeParent::Object(object);
    (
        store.attribute_id(parent, "name"),
        object
            .unique_attribute()
            .map_or(Uuid::nil(), |(slug, _)| store.attribute_id(parent, slug)),
    )
}

/// The Record object: `{id, created_at, web_url, values}`.
pub(super) fn record_json(store: &WorkspaceStore, record: &Record) -> Value {
    let attributes = store.attributes_of(AttributeParent::Object(record.object));
    let (name_id, unique_id) = system_ids(store, record.object);
    let values: Map<String, Value> = attributes
        .iter()
        .map(|a| {
            let current = record.raw(a.id, name_id, unique_id);
            let values = attribute_values(store, a, current, &record.history, false);
            (a.api_slug.clone(), Value::Array(values))
        })
        .collect();
    json!({
        "id": {
            "workspace_id": store.workspace.id,
            "object_id": store.object_id(record.object),
            "record_id": record.id,
        },
        "created_at": format(record.created_at),
        "web_url": format!(
            "https://app.attio.com/{}/{}/{}",
            store.workspace.slug,
            store.object_slug(record.object),
            record.id
        ),
        "values": Value::Object(values),
    })
}

/// An entry's `entry_values`: every attribute of its list, in attribute order.
pub(super) fn entry_values_json(store: &WorkspaceStore, entry: &Entry) -> Value {
    let attributes = store.attributes_of(AttributeParent::List(entry.list_id));
    let values: Map<String, Value> = attributes
        .iter()
        .map(|a| {
            let current = entry.values.get(&a.id).cloned();
            let values = attribute_values(store, a, current, &entry.history, false);
            (a.api_slug.clone(), Value::Array(values))
        })
        .collect();
    Value::Object(values)
}
