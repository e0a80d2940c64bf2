//! The body of `POST /v2/meetings`, read into a [`NewMeeting`] as Attio's document describes it:
//! every required key, start and end as a datetime (with an optional time zone) or as a date to
//! match `is_all_day`, at least one participant, linked records that exist, and an external
//! reference that is a non-empty string or a calendar event's iCal identity.

use serde_json::{Map, Value};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::records::object;
use crate::store::{ExternalRef, NewMeeting, Participant, ParticipantStatus, WorkspaceStore};

/// Reads and checks the body; every mistake is a 400 `validation_type`, the only 400 the
/// document lists for this operation.
pub(super) fn new_meeting(store: &WorkspaceStore, body: Value) -> Result<NewMeeting, ApiError> {
    let mut data = Fields::data(body)?;
    let required = [
        "title",
        "description",
        "start",
        "end",
        "is_all_day",
        "participants",
        "external_ref",
    ];
    data.only(&[&required[..], &["linked_records"]].concat())?;
    data.require(&required)?;
    let title = data
        .string("title")?
        .ok_or_else(|| invalid("data.title must be a string."))?;
    let description = data
        .string("description")?
        .ok_or_else(|| invalid("data.description must be a string."))?;
    let is_all_day = data
        .bool("is_all_day")?
        .ok_or_else(|| invalid("data.is_all_day must be true or false."))?;
    let (start, start_timezone) = moment(data.take("start"), "start", is_all_day)?;
    let (end, end_timezone) = moment(data.take("end"), "end", is_all_day)?;
    if end <= start {
        return Err(invalid("data.end must be after data.start."));
    }
    let participants = participants(data.take("participants"))?;
    let linked_records = match data.take("linked_records") {
        None => Vec::new(),
        Some(value) => linked_records(store, value)?,
    };
    let external_ref = external_ref(data.take("external_ref"))?;
    Ok(NewMeeting {
        title,
        description,
        is_all_day,
        start,
        end,
        start_timezone,
        end_timezone,
        participants,
        linked_records,
        external_ref,
    })
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::validation(message)
}

/// `{"datetime", "timezone"?}` for a timed meeting, `{"date"}` for an all-day one. A datetime
/// without an offset is read in UTC: the sandbox has no time-zone database to apply `timezone`.
fn moment(
    value: Option<Value>,
    key: &str,
    all_day: bool,
) -> Result<(OffsetDateTime, Option<String>), ApiError> {
    let Some(Value::Object(mut map)) = value else {
        return Err(invalid(format!("data.{key} must be an object.")));
    };
    let shape = if all_day {
        "{\"date\": \"YYYY-MM-DD\"} (is_all_day is true)"
    } else {
        "{\"datetime\": <ISO 8601>, \"timezone\"?: <IANA zone>} (is_all_day is false)"
    };
    let wrong_shape = || invalid(format!("data.{key} must be {shape}."));
    if all_day {
        let date = match (map.remove("date"), map.is_empty()) {
            (Some(Value::String(raw)), true) => raw,
            _ => return Err(wrong_shape()),
        };
        let date = Date::parse(&date, format_description!("[year]-[month]-[day]"))
            .map_err(|_| invalid(format!("data.{key}.date must be a date, got \"{date}\".")))?;
        return Ok((date.midnight().assume_utc(), None));
    }
    let datetime = match map.remove("datetime") {
        Some(Value::String(raw)) => raw,
        _ => return Err(wrong_shape()),
    };
    let timezone = match map.remove("timezone") {
        None | Some(Value::Null) => None,
        Some(Value::String(zone)) => Some(zone),
        Some(_) => return Err(wrong_shape()),
    };
    if !map.is_empty() {
        return Err(wrong_shape());
    }
    let at = parse_datetime(&datetime).ok_or_else(|| {
        invalid(format!(
            "data.{key}.datetime must be an ISO 8601 datetime, got \"{datetime}\"."
        ))
    })?;
    Ok((at, timezone))
}

fn parse_datetime(raw: &str) -> Option<OffsetDateTime> {
    let at = OffsetDateTime::parse(raw, &Rfc3339)
        .or_else(|_| PrimitiveDateTime::parse(raw, &Iso8601::DEFAULT).map(|t| t.assume_utc()))
        .ok()?
        .to_offset(UtcOffset::UTC);
    (0..=9999).contains(&at.year()).then_some(at)
}

/// At least one participant, each `{email_address, is_organizer, status}`.
fn participants(value: Option<Value>) -> Result<Vec<Participant>, ApiError> {
    let Some(Value::Array(items)) = value else {
        return Err(invalid("data.participants must be an array."));
    };
    if items.is_empty() {
        return Err(invalid("No participants were provided."));
    }
    let mut participants: Vec<Participant> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("data.participants[{i}]");
        let Value::Object(map) = item else {
            return Err(invalid(format!("{at} must be an object.")));
        };
        let participant = participant(map, &at)?;
        if participants.iter().any(|p| p.email == participant.email) {
            return Err(invalid(format!(
                "{at}.email_address \"{}\" is given twice.",
                participant.email
            )));
        }
        participants.push(participant);
    }
    Ok(participants)
}

fn participant(map: Map<String, Value>, at: &str) -> Result<Participant, ApiError> {
    if let Some(key) = map
        .keys()
        .find(|k| !["email_address", "is_organizer", "status"].contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "Unknown field \"{at}.{key}\"; the accepted fields are email_address, is_organizer, status."
        )));
    }
    let email = map
        .get("email_address")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| is_email(e))
        .ok_or_else(|| invalid(format!("{at}.email_address must be an email address.")))?;
    let is_organizer = match map.get("is_organizer") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        _ => return Err(invalid(format!("{at}.is_organizer must be true or false."))),
    };
    let status = map
        .get("status")
        .and_then(Value::as_str)
        .and_then(ParticipantStatus::parse)
        .ok_or_else(|| {
            invalid(format!(
                "{at}.status must be accepted, tentative, declined or pending."
            ))
        })?;
    Ok(Participant {
        email,
        is_organizer,
        status,
    })
}

fn is_email(email: &str) -> bool {
    !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

/// `[{object, record_id}]`, each an existing record.
fn linked_records(
    store: &WorkspaceStore,
    value: Value,
) -> Result<Vec<(crate::store::ObjectKind, Uuid)>, ApiError> {
    let Value::Array(items) = value else {
        return Err(invalid("data.linked_records must be an array."));
    };
    let mut links = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("data.linked_records[{i}]");
        let map = match item {
            Value::Object(map) if map.len() == 2 => map,
            _ => {
                return Err(invalid(format!(
                    "{at} must be {{\"object\": <slug or id>, \"record_id\": <uuid>}}."
                )))
            }
        };
        let object_key = map.get("object").and_then(Value::as_str).unwrap_or("");
        let kind = object(store, object_key)
            .map_err(|_| invalid(format!("{at}.object \"{object_key}\" is not an object.")))?;
        let raw = map.get("record_id").and_then(Value::as_str).unwrap_or("");
        let record_id = Uuid::parse_str(raw)
            .ok()
            .filter(|id| store.record(kind, *id).is_some())
            .ok_or_else(|| {
                invalid(format!(
                    "{at}.record_id: record with ID \"{raw}\" not found in object \"{}\".",
                    store.object_slug(kind)
                ))
            })?;
        if !links.contains(&(kind, record_id)) {
            links.push((kind, record_id));
        }
    }
    Ok(links)
}

/// A non-empty string, or `{ical_uid, provider, original_start_time?, is_recurring}`.
fn external_ref(value: Option<Value>) -> Result<ExternalRef, ApiError> {
    let map = match value {
        Some(Value::String(text)) if !text.is_empty() => return Ok(ExternalRef::Text(text)),
        Some(Value::Object(map)) => map,
        _ => {
            return Err(invalid(
                "data.external_ref must be a non-empty string or an object with ical_uid, provider and is_recurring.",
            ))
        }
    };
    let accepted = [
        "ical_uid",
        "provider",
        "original_start_time",
        "is_recurring",
    ];
    if let Some(key) = map.keys().find(|k| !accepted.contains(&k.as_str())) {
        return Err(invalid(format!(
            "Unknown field \"data.external_ref.{key}\"; the accepted fields are {}.",
            accepted.join(", ")
        )));
    }
    let ical_uid = map
        .get("ical_uid")
        .and_then(Value::as_str)
        .filter(|uid| !uid.is_empty())
        .ok_or_else(|| invalid("data.external_ref.ical_uid must be a non-empty string."))?;
    let provider = map
        .get("provider")
        .and_then(Value::as_str)
        .filter(|p| ["google", "microsoft"].contains(p))
        .ok_or_else(|| invalid("data.external_ref.provider must be google or microsoft."))?;
    if !map.get("is_recurring").is_some_and(Value::is_boolean) {
        return Err(invalid(
            "data.external_ref.is_recurring must be true or false.",
        ));
    }
    let original_start_time = match map.get("original_start_time") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(
            OffsetDateTime::parse(raw, &Rfc3339)
                .map_err(|_| {
                    invalid(format!(
                        "data.external_ref.original_start_time must be a timestamp with an offset, got \"{raw}\"."
                    ))
                })?
                .to_offset(UtcOffset::UTC),
        ),
        Some(_) => {
            return Err(invalid(
                "data.external_ref.original_start_time must be a timestamp.",
            ))
        }
    };
    Ok(ExternalRef::Calendar {
        ical_uid: ical_uid.to_owned(),
        provider: provider.to_owned(),
        original_start_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_take_an_offset_or_are_read_in_utc() {
        let cases = [
            (
                "2027-11-27T14:00:00Z",
                Some("2027-11-27T14:00:00.000000000Z"),
            ),
            (
                "2027-11-27T14:00:00-04:00",
                Some("2027-11-27T18:00:00.000000000Z"),
            ),
            (
                "2027-11-27T14:00:00",
                Some("2027-11-27T14:00:00.000000000Z"),
            ),
            ("2027-11-27", None),
            ("soon", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                parse_datetime(raw).map(crate::timestamp::format).as_deref(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn email_addresses_need_a_local_part_and_a_dotted_domain() {
        for good in ["a@b.co", "first.last@example.test"] {
            assert!(is_email(good), "{good}");
        }
        for bad in ["", "a@b", "@b.co", "a b@c.de", "plain"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
