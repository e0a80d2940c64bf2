//! `POST /v2/objects/{object}/records/query` with `filter` and `sorts`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{Crm, PEOPLE};
use crate::assert_flat_error;

#[tokio::test]
async fn shorthand_filters_match_names_email_addresses_and_domains() {
    let crm = Crm::new().await;
    let cases = [
        (
            "people",
            json!({"name": "Ada Lovelace"}),
            vec!["Ada Lovelace"],
        ),
        (
            "people",
            json!({"email_addresses": "alan@bletchley.test"}),
            vec!["Alan Turing"],
        ),
        (
            "people",
            json!({"email_addresses": "ALAN@bletchley.test"}),
            vec!["Alan Turing"],
        ),
        ("people", json!({"name": "Ada"}), vec![]),
        (
            "companies",
            json!({"domains": "park.bletchley.test"}),
            vec!["Bletchley Park"],
        ),
        (
            "companies",
            json!({"name": "Harvard Computation Lab"}),
            vec!["Harvard Computation Lab"],
        ),
        ("people", json!({"age": 79}), vec!["Charles Babbage"]),
        // Several attributes in one object must all match.
        (
            "people",
            json!({"name": "Ada Lovelace", "email_addresses": "ada@analytical.test"}),
            vec!["Ada Lovelace"],
        ),
        (
            "people",
            json!({"name": "Ada Lovelace", "email_addresses": "alan@bletchley.test"}),
            vec![],
        ),
        ("people", json!({}), PEOPLE.to_vec()),
    ];
    for (object, filter, expected) in cases {
        let names = crm.names(object, json!({ "filter": filter })).await;
        assert_eq!(names, expected, "{object} {filter}");
    }
}

#[tokio::test]
async fn verbose_operators_reach_the_properties_of_compound_values() {
    let crm = Crm::new().await;
    let alan = crm.id_of("people", "Alan Turing").await;
    let grace = crm.id_of("people", "Grace Hopper").await;
    let cases = [
        (
            json!({"name": {"first_name": {"$eq": "Grace"}}}),
            vec!["Grace Hopper"],
        ),
        (
            json!({"name": {"last_name": {"$starts_with": "lo"}}}),
            vec!["Ada Lovelace"],
        ),
        (
            json!({"name": {"$contains": "LA"}}),
            vec!["Ada Lovelace", "Alan Turing"],
        ),
        (
            json!({"name": {"full_name": {"$ends_with": "ing"}}}),
            vec!["Alan Turing"],
        ),
        (
            json!({"email_addresses": {"email_domain": "analytical.test"}}),
            vec!["Ada Lovelace", "Charles Babbage"],
        ),
        (
            json!({"email_addresses": {"email_local_specifier": {"$starts_with": "gr"}}}),
            vec!["Grace Hopper"],
        ),
        (
            json!({"email_addresses": {"$ends_with": "@harvard.test"}}),
            vec!["Grace Hopper"],
        ),
        (
            json!({"phone_numbers": {"$starts_with": "+44", "$ends_with": "798"}}),
            vec!["Ada Lovelace"],
        ),
        (
            json!({"phone_numbers": {"$not_empty": true}}),
            vec!["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        ),
        (
            json!({"company": {"$not_empty": false}}),
            vec!["Grace Hopper"],
        ),
        (
            json!({"record_id": {"$in": [alan, grace]}}),
            vec!["Alan Turing", "Grace Hopper"],
        ),
        (
            json!({"age": {"$gte": 41, "$lt": 85}}),
            vec!["Alan Turing", "Charles Babbage"],
        ),
        (json!({"age": {"$gt": 79}}), vec!["Grace Hopper"]),
        (json!({"age": {"$lte": 36}}), vec!["Ada Lovelace"]),
        (
            json!({"joined": {"$gte": "1900-01-01", "$lte": "1940-12-31"}}),
            vec!["Alan Turing"],
        ),
        (
            json!({"joined": {"$lt": "1843-07-01"}}),
            vec!["Charles Babbage"],
        ),
        (
            json!({"created_at": {"$gte": "2000-01-01T00:00:00Z"}}),
            super::PEOPLE.to_vec(),
        ),
    ];
    for (filter, expected) in cases {
        let names = crm.names("people", json!({ "filter": filter })).await;
        assert_eq!(names, expected, "{filter}");
    }
    let companies = [
        (
            json!({"domains": {"root_domain": "bletchley.test"}}),
            vec!["Bletchley Park"],
        ),
        (
            json!({"domains": {"domain": {"$contains": "VARD"}}}),
            vec!["Harvard Computation Lab"],
        ),
        (
            json!({"domains": {"$not_empty": true}}),
            vec![
                "Analytical Engines",
                "Bletchley Park",
                "Harvard Computation Lab",
            ],
        ),
        (
            json!({"name": {"$in": ["Bletchley Park", "Nowhere"]}}),
            vec!["Bletchley Park"],
        ),
    ];
    for (filter, expected) in companies {
        let names = crm.names("companies", json!({ "filter": filter })).await;
        assert_eq!(names, expected, "{filter}");
    }
}

#[tokio::test]
async fn and_or_and_not_nest() {
    let crm = Crm::new().await;
    let cases = [
        (
            json!({"$or": [{"name": "Ada Lovelace"}, {"name": "Grace Hopper"}]}),
            vec!["Ada Lovelace", "Grace Hopper"],
        ),
        (
            json!({"$not": {"email_addresses": {"email_domain": "analytical.test"}}}),
            vec!["Alan Turing", "Grace Hopper"],
        ),
        (
            json!({"$and": [
                {"$or": [{"age": {"$lt": 40}}, {"age": {"$gt": 80}}]},
                {"$not": {"name": {"first_name": "Ada"}}}
            ]}),
            vec!["Grace Hopper"],
        ),
        (
            json!({"$not": {"$or": [{"name": {"$contains": "a"}}, {"age": 85}]}}),
            vec![],
        ),
        (json!({"$and": []}), PEOPLE.to_vec()),
        (json!({"$or": []}), vec![]),
    ];
    for (filter, expected) in cases {
        let names = crm.names("people", json!({ "filter": filter })).await;
        assert_eq!(names, expected, "{filter}");
    }
}

#[tokio::test]
async fn paths_drill_through_record_references() {
    let crm = Crm::new().await;
    let bletchley = crm.id_of("companies", "Bletchley Park").await;
    let cases = [
        (
            json!({"path": [["people", "company"], ["companies", "name"]],
                   "constraints": {"$starts_with": "analytical"}}),
            vec!["Ada Lovelace", "Charles Babbage"],
        ),
        (
            json!({"path": [["people", "company"], ["companies", "domains"]],
                   "constraints": {"domain": "park.bletchley.test"}}),
            vec!["Alan Turing"],
        ),
        (
            json!({"company": {"target_object": "companies", "target_record_id": bletchley}}),
            vec!["Alan Turing"],
        ),
        (
            json!({"$not": {"path": [["people", "company"], ["companies", "name"]],
                            "constraints": "Analytical Engines"}}),
            vec!["Alan Turing", "Grace Hopper"],
        ),
    ];
    for (filter, expected) in cases {
        let names = crm.names("people", json!({ "filter": filter })).await;
        assert_eq!(names, expected, "{filter}");
    }
    // A person added later is found through the reference written by record id.
    crm.ok(
        Method::POST,
        "/v2/objects/people/records",
        json!({"data": {"values": {"name": "Joan Clarke",
            "company": [{"target_object": "companies", "target_record_id": bletchley}]}}}),
    )
    .await;
    let colleagues = crm
        .names(
            "people",
            json!({"filter": {"path": [["people", "company"], ["companies", "name"]],
                              "constraints": {"$eq": "Bletchley Park"}}}),
        )
        .await;
    assert_eq!(colleagues, ["Alan Turing", "Joan Clarke"]);
}

#[tokio::test]
async fn sorts_order_by_fields_and_paths_and_break_ties_in_turn() {
    let crm = Crm::new().await;
    let sorted = |sorts: Value| {
        let crm = &crm;
        async move { crm.names("people", json!({ "sorts": sorts })).await }
    };
    assert_eq!(
        sorted(json!([{"direction": "asc", "attribute": "name", "field": "last_name"}])).await,
        [
            "Charles Babbage",
            "Grace Hopper",
            "Ada Lovelace",
            "Alan Turing"
        ]
    );
    assert_eq!(
        sorted(json!([{"direction": "desc", "attribute": "age"}])).await,
        [
            "Grace Hopper",
            "Charles Babbage",
            "Alan Turing",
            "Ada Lovelace"
        ]
    );
    // Company name (Grace has none: last), then age descending within a company.
    assert_eq!(
        sorted(json!([
            {"direction": "asc", "path": [["people", "company"], ["companies", "name"]]},
            {"direction": "desc", "attribute": "age"}
        ]))
        .await,
        [
            "Charles Babbage",
            "Ada Lovelace",
            "Alan Turing",
            "Grace Hopper"
        ]
    );
    // Equal keys keep creation order, whichever the direction.
    assert_eq!(
        sorted(
            json!([{"direction": "desc", "attribute": "email_addresses", "field": "email_domain"}])
        )
        .await,
        [
            "Grace Hopper",
            "Alan Turing",
            "Ada Lovelace",
            "Charles Babbage"
        ]
    );
    assert_eq!(
        sorted(json!([{"direction": "asc", "attribute": "joined"}])).await,
        [
            "Charles Babbage",
            "Ada Lovelace",
            "Alan Turing",
            "Grace Hopper"
        ]
    );
}

#[tokio::test]
async fn filter_and_sorts_run_before_offset_and_limit() {
    let crm = Crm::new().await;
    let names = crm
        .names(
            "people",
            json!({"filter": {"age": {"$gt": 36}},
                   "sorts": [{"direction": "asc", "attribute": "age"}],
                   "offset": 1, "limit": 1}),
        )
        .await;
    assert_eq!(names, ["Charles Babbage"]);
    let (status, body) = crm
        .call(
            Method::POST,
            "/v2/objects/people/records/query",
            json!({"filter": null, "sorts": null, "limit": 2}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "null filter and sorts mean none: {body}"
    );
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn invalid_filters_and_sorts_answer_filter_error() {
    let crm = Crm::new().await;
    let cases = [
        ("unknown attribute", json!({"filter": {"nickname": "Ada"}})),
        (
            "unknown operator",
            json!({"filter": {"name": {"$neq": "Ada"}}}),
        ),
        (
            "unknown property",
            json!({"filter": {"name": {"middle_name": "X"}}}),
        ),
        (
            "operator the type lacks",
            json!({"filter": {"age": {"$contains": "4"}}}),
        ),
        (
            "operand of the wrong type",
            json!({"filter": {"age": "old"}}),
        ),
        (
            "bad date",
            json!({"filter": {"joined": {"$gte": "last year"}}}),
        ),
        (
            "$in without an array",
            json!({"filter": {"record_id": {"$in": "x"}}}),
        ),
        (
            "$or of a non-array",
            json!({"filter": {"$or": {"name": "Ada"}}}),
        ),
        ("unknown logical operator", json!({"filter": {"$xor": []}})),
        ("filter not an object", json!({"filter": "Ada"})),
        (
            "path from another object",
            json!({"filter": {"path": [["companies", "name"]], "constraints": "x"}}),
        ),
        (
            "path through a non-reference",
            json!({"filter": {"path": [["people", "age"], ["companies", "name"]], "constraints": "x"}}),
        ),
        (
            "path without constraints",
            json!({"filter": {"path": [["people", "company"], ["companies", "name"]]}}),
        ),
        (
            "sorts not an array",
            json!({"sorts": {"direction": "asc", "attribute": "name"}}),
        ),
        (
            "sort without a direction",
            json!({"sorts": [{"attribute": "name"}]}),
        ),
        (
            "sort by an unknown attribute",
            json!({"sorts": [{"direction": "asc", "attribute": "nickname"}]}),
        ),
        (
            "sort by an unknown field",
            json!({"sorts": [{"direction": "asc", "attribute": "name", "field": "nick"}]}),
        ),
    ];
    for (case, body) in cases {
        let (status, answer) = crm
            .call(Method::POST, "/v2/objects/people/records/query", body)
            .await;
        assert_flat_error(
            status,
            &answer,
            (400, "invalid_request_error", "filter_error"),
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| m.len() > 10),
            "{case}: {answer}"
        );
    }
    let (status, answer) = crm
        .call(
            Method::POST,
            "/v2/objects/planets/records/query",
            json!({"filter": {"name": "Mars"}}),
        )
        .await;
    assert_flat_error(status, &answer, (404, "invalid_request_error", "not_found"));
}
