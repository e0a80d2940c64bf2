//! `GET /v2/meetings` and `POST /v2/meetings` as Attio's document describes them: every field of a
//! meeting, find-or-create by external reference, validation, paging by
//! cursor, sorting by start, and the filters.

use reqwest::StatusCode;
use serde_json::{json, Value};

async fn list(t: &crate::TestSandbox, key: &str, query: &str) -> (StatusCode, Value) {
    t.get(&format!("/v2/meetings{query}"), key).await
}

fn titles(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["title"].as_str().expect("a title").to_owned())
        .collect()
}

#[tokio::test]
async fn meetings_have_every_field_and_page_by_cursor_in_start_order() {
    let t = crate::spawn().await;
    let key = t.key();
    let (status, all) = list(&t, &key, "").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["pagination"], json!({"next_cursor": null}));
    let meetings = all["data"].as_array().unwrap();
    assert_eq!(meetings.len(), 2, "the demo's two meetings");
    for meeting in meetings {
        for field in [
            "id",
            "title",
            "description",
            "is_all_day",
            "start",
            "end",
            "participants",
            "linked_records",
            "created_at",
            "created_by_actor",
        ] {
            assert!(meeting.get(field).is_some(), "{field} in {meeting}");
        }
        assert_eq!(meeting["created_by_actor"]["type"], "system");
        crate::assert_timestamp(&meeting["created_at"]);
    }
    let ascending = titles(&all);

    let (_, first) = list(&t, &key, "?limit=1").await;
    assert_eq!(titles(&first), ascending[..1]);
    let cursor = first["pagination"]["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = list(&t, &key, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(titles(&second), ascending[1..]);
    assert_eq!(second["pagination"]["next_cursor"], Value::Null);

    let (_, descending) = list(&t, &key, "?sort=start_desc").await;
    let mut reversed = ascending.clone();
    reversed.reverse();
    assert_eq!(titles(&descending), reversed);

    let second_start = meetings[1]["start"]["datetime"].as_str().unwrap();
    let (_, before) = list(&t, &key, &format!("?starts_before={second_start}")).await;
    assert_eq!(
        titles(&before),
        ascending[..1],
        "starts_before is exclusive"
    );
    let (_, nobody) = list(&t, &key, "?participants=someone%40example.test").await;
    assert_eq!(titles(&nobody), Vec::<String>::new(), "no meeting has them");

    for bad in [
        "?limit=0",
        "?limit=201",
        "?sort=title",
        "?cursor=somewhere",
        "?ends_from=soon",
        "?linked_object=people",
    ] {
        let (status, body) = list(&t, &key, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "validation_type", "{bad}: {body}");
    }
}

/// A valid body for `POST /v2/meetings`, timed, with one participant.
pub fn meeting_body(external_ref: Value, participants: Value) -> Value {
    json!({"data": {
        "title": "Renewal call",
        "description": "Pricing for next year",
        "start": {"datetime": "2027-11-27T14:00:00-05:00", "timezone": "America/New_York"},
        "end": {"datetime": "2027-11-27T15:00:00-05:00", "timezone": "America/New_York"},
        "is_all_day": false,
        "participants": participants,
        "external_ref": external_ref,
    }})
}

async fn create(t: &crate::TestSandbox, key: &str, body: &Value) -> (StatusCode, Value) {
    t.call(reqwest::Method::POST, "/v2/meetings", key, Some(body))
        .await
}

fn meeting_id(body: &Value) -> String {
    body["data"]["id"]["meeting_id"]
        .as_str()
        .expect("a meeting id")
        .to_owned()
}

#[tokio::test]
async fn a_meeting_is_created_once_and_found_again_by_its_external_reference() {
    let t = crate::spawn().await;
    let key = t.key();
    let (known, known_email, _) = crate::lookup::person(&t, 0).await;
    let companies = crate::lookup::record_ids(&t, "companies").await;
    let hook = crate::receiver::Hook::new(&t, &["record.created"]).await;
    let mut body = meeting_body(
        json!("crm-meeting-42"),
        json!([
            {"email_address": known_email.to_uppercase(), "is_organizer": true, "status": "accepted"},
            {"email_address": " New.Person@Example.test ", "is_organizer": "false", "status": "tentative"},
        ]),
    );
    body["data"]["linked_records"] = json!([{"object": "companies", "record_id": companies[0]}]);
    let (status, created) = create(&t, &key, &body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let meeting = &created["data"];
    assert_eq!(meeting["title"], "Renewal call");
    assert_eq!(meeting["is_all_day"], false);
    assert_eq!(
        meeting["start"],
        json!({"datetime": "2027-11-27T19:00:00.000000000Z", "timezone": "America/New_York"})
    );
    assert_eq!(
        meeting["participants"],
        json!([
            {"status": "accepted", "is_organizer": true, "email_address": known_email.to_lowercase()},
            {"status": "tentative", "is_organizer": false, "email_address": "new.person@example.test"},
        ])
    );
    assert_eq!(meeting["created_by_actor"]["type"], "api-token");
    crate::assert_timestamp(&meeting["created_at"]);

    // The unknown participant became a person (record.created), and both people are linked.
    let events = hook.exactly(&t, 1).await;
    let new_person = events[0]["id"]["record_id"].as_str().expect("a record id");
    let linked: Vec<(&str, &str)> = meeting["linked_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["object_slug"].as_str().unwrap(),
                l["record_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        linked,
        [
            ("companies", companies[0].as_str()),
            ("people", known.as_str()),
            ("people", new_person),
        ]
    );
    let (status, found) = crate::lookup::record(&t, "people", new_person).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["data"]["values"]["email_addresses"][0]["email_address"],
        "new.person@example.test"
    );

    // The same reference finds the same meeting, unchanged, and creates nobody.
    let mut again = body.clone();
    again["data"]["title"] = json!("Another title");
    again["data"]["participants"][1]["email_address"] = json!("third@example.test");
    let (status, found) = create(&t, &key, &again).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found, created);
    assert!(t.sandbox().wait_for_idle(crate::receiver::DEADLINE).await);
    assert_eq!(hook.receiver.received().len(), 1, "nobody else was created");

    // The listing has it, and its filters find it.
    let id = meeting_id(&created);
    let (_, all) = list(&t, &key, "").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    for query in [
        "?participants=nobody@example.test,NEW.person@example.test".to_owned(),
        format!("?linked_object=companies&linked_record_id={}", companies[0]),
        format!("?linked_object=people&linked_record_id={new_person}"),
    ] {
        let (status, filtered) = list(&t, &key, &query).await;
        assert_eq!(status, StatusCode::OK, "{query}: {filtered}");
        let ids: Vec<String> = filtered["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"]["meeting_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, std::slice::from_ref(&id), "{query}");
    }

    // Deleting a linked record drops the link.
    let (status, _) = t
        .call(
            reqwest::Method::DELETE,
            &format!("/v2/objects/companies/records/{}", companies[0]),
            &key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, shown) = t.get(&format!("/v2/meetings/{id}"), &key).await;
    assert_eq!(shown["data"]["linked_records"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn all_day_meetings_use_dates_and_calendar_references_tell_occurrences_apart() {
    let t = crate::spawn().await;
    let key = t.key();
    let (_, email, _) = crate::lookup::person(&t, 1).await;
    let participants = json!([{"email_address": email, "is_organizer": true, "status": "pending"}]);
    let ical = |original: Option<&str>| {
        let mut r = json!({"ical_uid": "evt-123@calendar.test", "provider": "google",
            "is_recurring": original.is_some()});
        if let Some(at) = original {
            r["original_start_time"] = json!(at);
        }
        r
    };
    let mut body = meeting_body(ical(None), participants);
    body["data"]["is_all_day"] = json!(true);
    body["data"]["start"] = json!({"date": "2027-06-03"});
    body["data"]["end"] = json!({"date": "2027-06-04"});
    let (status, created) = create(&t, &key, &body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["is_all_day"], true);
    assert_eq!(created["data"]["start"], json!({"date": "2027-06-03"}));
    assert_eq!(created["data"]["end"], json!({"date": "2027-06-04"}));
    let (_, same) = create(&t, &key, &body).await;
    assert_eq!(meeting_id(&same), meeting_id(&created));

    // An exception of a recurring event is its own meeting, found again by the same time.
    body["data"]["external_ref"] = ical(Some("2027-06-10T00:00:00Z"));
    let (status, exception) = create(&t, &key, &body).await;
    assert_eq!(status, StatusCode::OK, "{exception}");
    assert_ne!(meeting_id(&exception), meeting_id(&created));
    body["data"]["external_ref"] = ical(Some("2027-06-10T02:00:00+02:00"));
    let (_, again) = create(&t, &key, &body).await;
    assert_eq!(meeting_id(&again), meeting_id(&exception));
    // The same UID from another provider is another meeting; so is a text reference.
    body["data"]["external_ref"]["provider"] = json!("microsoft");
    let (_, other) = create(&t, &key, &body).await;
    assert_ne!(meeting_id(&other), meeting_id(&exception));
    body["data"]["external_ref"] = json!("evt-123@calendar.test");
    let (_, text) = create(&t, &key, &body).await;
    assert_ne!(meeting_id(&text), meeting_id(&created));

    let (_, all) = list(
        &t,
        &key,
        "?ends_from=2027-06-01T00:00:00Z&starts_before=2027-06-04T00:00:00Z",
    )
    .await;
    assert_eq!(
        titles(&all).len(),
        4,
        "every all-day meeting of June 3rd: {all}"
    );
}

#[tokio::test]
async fn meeting_bodies_are_validated_with_the_documented_400() {
    let t = crate::spawn().await;
    let key = t.key();
    let person = crate::lookup::record_ids(&t, "people").await[0].clone();
    let one =
        json!([{"email_address": "a@example.test", "is_organizer": true, "status": "accepted"}]);
    let good = meeting_body(json!("ref-1"), one);
    let with = |path: &[&str], value: Option<Value>| {
        let mut body = good.clone();
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut body["data"];
        for key in parents {
            at = &mut at[*key];
        }
        match value {
            Some(value) => at[*last] = value,
            None => {
                at.as_object_mut().unwrap().remove(*last);
            }
        }
        body
    };
    let cases = [
        ("title missing", with(&["title"], None)),
        ("participants missing", with(&["participants"], None)),
        ("no participants", with(&["participants"], Some(json!([])))),
        (
            "a bad email",
            with(
                &["participants"],
                Some(
                    json!([{"email_address": "nobody", "is_organizer": true, "status": "accepted"}]),
                ),
            ),
        ),
        (
            "an unknown status",
            with(
                &["participants"],
                Some(
                    json!([{"email_address": "a@example.test", "is_organizer": true, "status": "maybe"}]),
                ),
            ),
        ),
        (
            "is_organizer as a word",
            with(
                &["participants"],
                Some(
                    json!([{"email_address": "a@example.test", "is_organizer": "yes", "status": "accepted"}]),
                ),
            ),
        ),
        (
            "a date for a timed meeting",
            with(&["start"], Some(json!({"date": "2027-11-27"}))),
        ),
        (
            "a datetime for an all-day meeting",
            with(&["is_all_day"], Some(json!(true))),
        ),
        (
            "an unreadable datetime",
            with(&["start", "datetime"], Some(json!("soon"))),
        ),
        (
            "an unknown key in start",
            with(&["start", "zone"], Some(json!("UTC"))),
        ),
        (
            "the end before the start",
            with(
                &["end", "datetime"],
                Some(json!("2027-11-27T13:00:00-05:00")),
            ),
        ),
        (
            "an empty external_ref",
            with(&["external_ref"], Some(json!(""))),
        ),
        (
            "an unknown provider",
            with(
                &["external_ref"],
                Some(json!({"ical_uid": "x", "provider": "yahoo", "is_recurring": false})),
            ),
        ),
        (
            "no is_recurring",
            with(
                &["external_ref"],
                Some(json!({"ical_uid": "x", "provider": "google"})),
            ),
        ),
        (
            "an unknown record",
            with(
                &["linked_records"],
                Some(json!([{"object": "people", "record_id": uuid::Uuid::new_v4()}])),
            ),
        ),
        (
            "an unknown object",
            with(
                &["linked_records"],
                Some(json!([{"object": "deals", "record_id": person}])),
            ),
        ),
        (
            "an unknown field",
            with(&["location"], Some(json!("Room 1"))),
        ),
        (
            "is_all_day as text",
            with(&["is_all_day"], Some(json!("false"))),
        ),
    ];
    for (case, body) in cases {
        let (status, error) = create(&t, &key, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {error}");
        assert_eq!(error["code"], "validation_type", "{case}: {error}");
        assert_eq!(error["type"], "invalid_request_error", "{case}");
        assert_eq!(error["status_code"], 400, "{case}");
        assert_eq!(
            error["statusCode"], 400,
            "{case}: as the document spells it"
        );
    }
    let (status, error) = create(&t, &key, &with(&["participants"], Some(json!([])))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["message"], "No participants were provided.");
    let (_, all) = list(&t, &key, "").await;
    assert_eq!(titles(&all).len(), 2, "nothing was created");

    let read_only = t.sandbox().mint_api_key(Some(vec![
        "meeting:read".to_owned(),
        "record_permission:read".to_owned(),
    ]));
    let (status, error) = create(&t, &read_only, &good).await;
    crate::assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
    let (status, error) = list(&t, &key, "?linked_object=deals&linked_record_id=x").await;
    crate::assert_flat_error(status, &error, (404, "invalid_request_error", "not_found"));
    let (status, error) = list(&t, &key, "?linked_object=people&linked_record_id=x").await;
    crate::assert_flat_error(
        status,
        &error,
        (400, "invalid_request_error", "validation_type"),
    );
}
