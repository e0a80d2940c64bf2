//! `POST /v2/objects/records/search`: the document's request and response shapes, matching on
//! names, domains, email addresses and phone numbers, best matches first.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::Crm;
use crate::assert_flat_error;

fn body(query: &str, objects: &[&str]) -> Value {
    json!({"query": query, "objects": objects, "request_as": {"type": "workspace"}})
}

impl Crm {
    async fn search(&self, body: Value) -> Vec<Value> {
        let data = self
            .ok(Method::POST, "/v2/objects/records/search", body)
            .await;
        data.as_array().expect("an array of results").clone()
    }

    async fn found(&self, query: &str, objects: &[&str]) -> Vec<String> {
        self.search(body(query, objects))
            .await
            .iter()
            .map(|hit| hit["record_text"].as_str().expect("record_text").to_owned())
            .collect()
    }
}

#[tokio::test]
async fn search_matches_names_domains_emails_and_phone_numbers_best_first() {
    let crm = Crm::new().await;
    let both = ["people", "companies"];
    let cases: [(&str, &[&str], Vec<&str>); 8] = [
        ("Ada Lovelace", &both, vec!["Ada Lovelace"]),
        ("lovelace", &both, vec!["Ada Lovelace"]),
        // Exact domain (Bletchley Park) before a word of an email address (Alan).
        (
            "bletchley.test",
            &both,
            vec!["Bletchley Park", "Alan Turing"],
        ),
        ("grace@harvard.test", &both, vec!["Grace Hopper"]),
        ("+44 7700 900123", &both, vec!["Alan Turing"]),
        ("900798", &both, vec!["Ada Lovelace"]),
        // Name prefixes (Ada, Alan), then word prefixes (analytical: Charles, the company),
        // then substrings (Grace): objects in the order asked within a tier.
        (
            "a",
            &["companies", "people"],
            vec![
                "Analytical Engines",
                "Ada Lovelace",
                "Alan Turing",
                "Charles Babbage",
                "Bletchley Park",
                "Harvard Computation Lab",
                "Grace Hopper",
            ],
        ),
        ("zebra", &both, vec![]),
    ];
    for (query, objects, expected) in cases {
        assert_eq!(
            crm.found(query, objects).await,
            expected,
            "{query:?} in {objects:?}"
        );
    }
}

#[tokio::test]
async fn search_results_have_the_documents_shape_per_object() {
    let crm = Crm::new().await;
    let hits = crm.search(body("Turing", &["people"])).await;
    assert_eq!(hits.len(), 1);
    let alan = &hits[0];
    let mut keys: Vec<&str> = alan
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "email_addresses",
            "id",
            "object_slug",
            "phone_numbers",
            "record_image",
            "record_text"
        ]
    );
    assert_eq!(alan["object_slug"], "people");
    assert_eq!(alan["record_text"], "Alan Turing");
    assert!(alan["record_image"].is_null());
    assert_eq!(alan["email_addresses"], json!(["alan@bletchley.test"]));
    assert_eq!(
        alan["phone_numbers"],
        json!(["+447700900123"]),
        "E.164, as values show it"
    );
    let id = crm.id_of("people", "Alan Turing").await;
    assert_eq!(alan["id"]["record_id"], id.as_str());
    assert!(alan["id"]["workspace_id"].is_string() && alan["id"]["object_id"].is_string());

    let hits = crm.search(body("park", &["companies"])).await;
    let park = &hits[0];
    let mut keys: Vec<&str> = park
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "domains",
            "id",
            "object_slug",
            "record_image",
            "record_text"
        ]
    );
    assert_eq!(park["object_slug"], "companies");
    assert_eq!(
        park["domains"],
        json!(["bletchley.test", "park.bletchley.test"])
    );
}

#[tokio::test]
async fn objects_restrict_the_search_and_limit_caps_it() {
    let crm = Crm::new().await;
    assert_eq!(
        crm.found("", &["companies"]).await,
        [
            "Analytical Engines",
            "Bletchley Park",
            "Harvard Computation Lab"
        ],
        "an empty query returns a default set: every record, oldest first"
    );
    assert_eq!(
        crm.found("analytical", &["people"]).await,
        ["Ada Lovelace", "Charles Babbage"]
    );
    let (_, people) = crm.t.get("/v2/objects/people", &crm.key).await;
    let people_id = people["data"]["id"]["object_id"]
        .as_str()
        .expect("object id")
        .to_owned();
    assert_eq!(
        crm.found("analytical", &[&people_id, "people"]).await,
        ["Ada Lovelace", "Charles Babbage"],
        "objects by ID, each once"
    );
    let mut limited = body("", &["people", "companies"]);
    limited["limit"] = json!(2);
    assert_eq!(crm.search(limited).await.len(), 2);
    let mut whole = body("", &["people", "companies"]);
    whole["limit"] = json!(25.0);
    assert_eq!(crm.search(whole).await.len(), 7);
    let member = json!({"query": "ada", "objects": ["people"],
        "request_as": {"type": "workspace-member", "email_address": "quinn@query-lab.test"}});
    assert_eq!(crm.search(member).await.len(), 1);
}

#[tokio::test]
async fn search_refuses_what_the_document_does_not_allow() {
    let crm = Crm::new().await;
    let (status, answer) = crm
        .call(
            Method::POST,
            "/v2/objects/records/search",
            body("ada", &["people", "deals"]),
        )
        .await;
    assert_flat_error(
        status,
        &answer,
        (400, "invalid_request_error", "value_not_found"),
    );
    assert_eq!(
        answer["message"],
        "Object with slug/ID \"deals\" not found."
    );

    let long = "x".repeat(257);
    let stranger = uuid::Uuid::new_v4();
    let cases = [
        (
            "limit 0",
            json!({"query": "a", "objects": ["people"], "limit": 0, "request_as": {"type": "workspace"}}),
        ),
        (
            "limit 26",
            json!({"query": "a", "objects": ["people"], "limit": 26, "request_as": {"type": "workspace"}}),
        ),
        (
            "fractional limit",
            json!({"query": "a", "objects": ["people"], "limit": 2.5, "request_as": {"type": "workspace"}}),
        ),
        (
            "no objects",
            json!({"query": "a", "objects": [], "request_as": {"type": "workspace"}}),
        ),
        (
            "no request_as",
            json!({"query": "a", "objects": ["people"]}),
        ),
        (
            "no query",
            json!({"objects": ["people"], "request_as": {"type": "workspace"}}),
        ),
        (
            "query too long",
            json!({"query": long, "objects": ["people"], "request_as": {"type": "workspace"}}),
        ),
        (
            "unknown request_as type",
            json!({"query": "a", "objects": ["people"], "request_as": {"type": "robot"}}),
        ),
        (
            "member without id or email",
            json!({"query": "a", "objects": ["people"], "request_as": {"type": "workspace-member"}}),
        ),
        (
            "unknown field",
            json!({"query": "a", "objects": ["people"], "request_as": {"type": "workspace"}, "filter": {}}),
        ),
    ];
    // Bodies that do not fit the request schema: `validation_type`, as on every operation.
    for (case, body) in cases {
        let (status, answer) = crm
            .call(Method::POST, "/v2/objects/records/search", body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert_flat_error(
            status,
            &answer,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let unknown_member = json!({"query": "a", "objects": ["people"],
        "request_as": {"type": "workspace-member", "workspace_member_id": stranger}});
    let (status, answer) = crm
        .call(Method::POST, "/v2/objects/records/search", unknown_member)
        .await;
    assert_flat_error(
        status,
        &answer,
        (400, "invalid_request_error", "value_not_found"),
    );
}
