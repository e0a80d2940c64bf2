//! `POST /v2/lists/{list}/entries/query`: entries filtered on their own values and, through
//! `parent_record`, on their parent record's; sorted; paged.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{name_of, Crm};
use crate::assert_flat_error;

/// A `candidates` list of people with `stage` (text) and `score` (number): Ada (Interview, 7),
/// Alan (Offer, 9), Grace (Interview, 8), Charles (Rejected, 3), added in that order.
async fn candidates() -> (Crm, HashMap<String, String>) {
    let crm = Crm::new().await;
    crm.ok(
        Method::POST,
        "/v2/lists",
        json!({"data": {"name": "Candidates", "api_slug": "candidates", "parent_object": "people",
            "workspace_access": "full-access", "workspace_member_access": []}}),
    )
    .await;
    for (slug, kind) in [("stage", "text"), ("score", "number")] {
        crm.ok(
            Method::POST,
            "/v2/lists/candidates/attributes",
            json!({"data": {"title": slug, "description": null, "api_slug": slug, "type": kind,
                "is_required": false, "is_unique": false, "is_multiselect": false, "config": {}}}),
        )
        .await;
    }
    let people = crm
        .ok(Method::POST, "/v2/objects/people/records/query", json!({}))
        .await;
    let names: HashMap<String, String> = people
        .as_array()
        .expect("people")
        .iter()
        .map(|p| {
            (
                p["id"]["record_id"].as_str().unwrap().to_owned(),
                name_of(p),
            )
        })
        .collect();
    for (name, stage, score) in [
        ("Ada Lovelace", "Interview", 7),
        ("Alan Turing", "Offer", 9),
        ("Grace Hopper", "Interview", 8),
        ("Charles Babbage", "Rejected", 3),
    ] {
        let id = names.iter().find(|(_, n)| *n == name).unwrap().0;
        crm.ok(
            Method::POST,
            "/v2/lists/candidates/entries",
            json!({"data": {"parent_record_id": id, "parent_object": "people",
                "entry_values": {"stage": stage, "score": score}}}),
        )
        .await;
    }
    (crm, names)
}

/// The entries' parent names, in order.
async fn query(crm: &Crm, names: &HashMap<String, String>, body: Value) -> Vec<String> {
    let data = crm
        .ok(Method::POST, "/v2/lists/candidates/entries/query", body)
        .await;
    data.as_array()
        .expect("an array of entries")
        .iter()
        .map(|e| names[e["parent_record_id"].as_str().expect("parent_record_id")].clone())
        .collect()
}

#[tokio::test]
async fn entries_filter_on_their_values_and_their_parent_records() {
    let (crm, names) = candidates().await;
    let grace = names
        .iter()
        .find(|(_, n)| *n == "Grace Hopper")
        .unwrap()
        .0
        .clone();
    let cases = [
        (
            json!({}),
            vec![
                "Ada Lovelace",
                "Alan Turing",
                "Grace Hopper",
                "Charles Babbage",
            ],
        ),
        (
            json!({"stage": "Interview"}),
            vec!["Ada Lovelace", "Grace Hopper"],
        ),
        (
            json!({"score": {"$gte": 8}}),
            vec!["Alan Turing", "Grace Hopper"],
        ),
        (
            json!({"$not": {"stage": {"$in": ["Offer", "Rejected"]}}}),
            vec!["Ada Lovelace", "Grace Hopper"],
        ),
        (
            json!({"path": [["candidates", "parent_record"], ["people", "email_addresses"]],
                   "constraints": {"email_domain": "analytical.test"}}),
            vec!["Ada Lovelace", "Charles Babbage"],
        ),
        (
            json!({"path": [["candidates", "parent_record"], ["people", "company"], ["companies", "name"]],
                   "constraints": {"$contains": "bletchley"}}),
            vec!["Alan Turing"],
        ),
        (
            json!({"parent_record": {"target_object": "people", "target_record_id": grace}}),
            vec!["Grace Hopper"],
        ),
        (
            json!({"$and": [{"stage": "Interview"},
                   {"path": [["candidates", "parent_record"], ["people", "age"]], "constraints": {"$gt": 40}}]}),
            vec!["Grace Hopper"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            query(&crm, &names, json!({ "filter": filter })).await,
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn entries_sort_and_page_and_answer_as_the_entry_endpoint_does() {
    let (crm, names) = candidates().await;
    let by_score = json!({"sorts": [{"direction": "desc", "attribute": "score"}]});
    assert_eq!(
        query(&crm, &names, by_score).await,
        [
            "Alan Turing",
            "Grace Hopper",
            "Ada Lovelace",
            "Charles Babbage"
        ]
    );
    let by_parent = json!({"sorts": [{"direction": "asc",
        "path": [["candidates", "parent_record"], ["people", "name"]], "field": "last_name"}]});
    assert_eq!(
        query(&crm, &names, by_parent).await,
        [
            "Charles Babbage",
            "Grace Hopper",
            "Ada Lovelace",
            "Alan Turing"
        ]
    );
    let page =
        json!({"sorts": [{"direction": "asc", "attribute": "stage"}], "offset": 1, "limit": 2});
    assert_eq!(
        query(&crm, &names, page).await,
        ["Grace Hopper", "Alan Turing"]
    );

    let data = crm
        .ok(
            Method::POST,
            "/v2/lists/candidates/entries/query",
            json!({"limit": 1}),
        )
        .await;
    let entry = &data[0];
    let id = entry["id"]["entry_id"].as_str().expect("entry_id");
    let (status, shown) = crm
        .t
        .get(&format!("/v2/lists/candidates/entries/{id}"), &crm.key)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(*entry, shown["data"], "the same Entry object as GET");
}

#[tokio::test]
async fn entry_queries_refuse_bad_filters_unknown_lists_and_missing_scopes() {
    let (crm, _) = candidates().await;
    for body in [
        json!({"filter": {"nickname": "x"}}),
        json!({"filter": {"name": "Ada Lovelace"}}),
        json!({"filter": {"path": [["people", "company"], ["companies", "name"]], "constraints": "x"}}),
        json!({"sorts": [{"direction": "sideways", "attribute": "stage"}]}),
    ] {
        let (status, answer) = crm
            .call(
                Method::POST,
                "/v2/lists/candidates/entries/query",
                body.clone(),
            )
            .await;
        assert_flat_error(
            status,
            &answer,
            (400, "invalid_request_error", "filter_error"),
        );
    }
    let (status, answer) = crm
        .call(Method::POST, "/v2/lists/nowhere/entries/query", json!({}))
        .await;
    assert_flat_error(status, &answer, (404, "invalid_request_error", "not_found"));

    let workspace = crm.t.sandbox().workspace_ids()[2];
    let narrow = crm
        .t
        .sandbox()
        .mint_api_key_in(workspace, Some(vec!["list_configuration:read".to_owned()]))
        .expect("a key");
    let (status, answer) = crm
        .t
        .call(
            Method::POST,
            "/v2/lists/candidates/entries/query",
            &narrow,
            Some(&json!({})),
        )
        .await;
    assert_flat_error(status, &answer, (403, "auth_error", "unauthorized"));
}
