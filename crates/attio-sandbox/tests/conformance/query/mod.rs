//! Attio's filter and sort language on `POST /v2/objects/{object}/records/query` and
//! `POST /v2/lists/{list}/entries/query`, and `POST /v2/objects/records/search`, over a workspace
//! of their own whose every record the test knows.

mod entries;
mod records;
mod search;

use attio_sandbox::{AccessLevel, NewMember, NewWorkspace};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{spawn, TestSandbox};

/// A workspace with four people and three companies (created in this order):
///
/// | person | email | company | age | joined | phone | primary_location | tier |
/// |---|---|---|---|---|---|---|---|
/// | Ada Lovelace | ada@analytical.test | Analytical Engines | 36 | 1843-07-01 | +44 7700 900798 | London, GB | Gold |
/// | Alan Turing | alan@bletchley.test | Bletchley Park | 41 | 1938-09-04 | +44 7700 900123 | Bletchley, GB | — |
/// | Grace Hopper | grace@harvard.test | — | 85 | 1944-07-01 | +1 555 867 5309 | New York City, US | Silver |
/// | Charles Babbage | charles@analytical.test | Analytical Engines | 79 | 1828-01-01 | — | — | — |
///
/// Companies: Analytical Engines (`analytical.test`), Bletchley Park (`bletchley.test`,
/// `park.bletchley.test`), Harvard Computation Lab (`harvard.test`).
pub struct Crm {
    pub t: TestSandbox,
    pub key: String,
}

/// People in creation order, by full name.
pub const PEOPLE: [&str; 4] = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Charles Babbage",
];

impl Crm {
    pub async fn new() -> Crm {
        let t = spawn().await;
        let workspace = t
            .sandbox()
            .create_workspace(NewWorkspace {
                name: "Query Lab".to_owned(),
                slug: "query-lab".to_owned(),
                members: vec![NewMember {
                    first_name: "Quinn".to_owned(),
                    last_name: "Admin".to_owned(),
                    email: "quinn@query-lab.test".to_owned(),
                    access_level: AccessLevel::Admin,
                }],
                seed: false,
            })
            .expect("the workspace is created");
        let key = t
            .sandbox()
            .mint_api_key_in(workspace, None)
            .expect("a key for the new workspace");
        let crm = Crm { t, key };
        for (slug, kind) in [
            ("company", "record-reference"),
            ("age", "number"),
            ("joined", "date"),
            ("phone_numbers", "phone-number"),
            ("primary_location", "location"),
            ("tier", "select"),
        ] {
            crm.ok(
                Method::POST,
                "/v2/objects/people/attributes",
                json!({"data": {"title": slug, "description": null, "api_slug": slug,
                    "type": kind, "is_required": false, "is_unique": false,
                    "is_multiselect": false, "config": {}}}),
            )
            .await;
        }
        for title in ["Gold", "Silver"] {
            crm.ok(
                Method::POST,
                "/v2/objects/people/attributes/tier/options",
                json!({"data": {"title": title}}),
            )
            .await;
        }
        let mut companies = Vec::new();
        for (name, domains) in [
            ("Analytical Engines", json!(["analytical.test"])),
            (
                "Bletchley Park",
                json!(["bletchley.test", "park.bletchley.test"]),
            ),
            ("Harvard Computation Lab", json!(["harvard.test"])),
        ] {
            let company = crm
                .ok(
                    Method::POST,
                    "/v2/objects/companies/records",
                    json!({"data": {"values": {"name": name, "domains": domains}}}),
                )
                .await;
            companies.push(company["id"]["record_id"].clone());
        }
        let (analytical, bletchley) = (&companies[0], &companies[1]);
        let people = [
            (
                "Ada Lovelace",
                "ada@analytical.test",
                Some(analytical),
                36,
                "1843-07-01",
                Some("+44 7700 900798"),
            ),
            (
                "Alan Turing",
                "alan@bletchley.test",
                Some(bletchley),
                41,
                "1938-09-04",
                Some("+44 7700 900123"),
            ),
            (
                "Grace Hopper",
                "grace@harvard.test",
                None,
                85,
                "1944-07-01",
                Some("+1 555 867 5309"),
            ),
            (
                "Charles Babbage",
                "charles@analytical.test",
                Some(analytical),
                79,
                "1828-01-01",
                None,
            ),
        ];
        for (name, email, company, age, joined, phone) in people {
            let company =
                company.map(|id| json!([{"target_object": "companies", "target_record_id": id}]));
            crm.ok(
                Method::POST,
                "/v2/objects/people/records",
                json!({"data": {"values": {"name": name, "email_addresses": [email],
                    "company": company, "age": age, "joined": joined, "phone_numbers": phone}}}),
            )
            .await;
        }
        crm
    }

    pub async fn call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.t.call(method, path, &self.key, Some(&body)).await
    }

    /// A call that must succeed; its `data`.
    pub async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(method, path, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
        answer["data"].clone()
    }

    /// `records/query` on `object`; the full names (people) or names (companies), in order.
    pub async fn names(&self, object: &str, body: Value) -> Vec<String> {
        let data = self
            .ok(
                Method::POST,
                &format!("/v2/objects/{object}/records/query"),
                body,
            )
            .await;
        data.as_array()
            .expect("an array of records")
            .iter()
            .map(name_of)
            .collect()
    }

    /// The id of the record of `object` called `name`.
    pub async fn id_of(&self, object: &str, name: &str) -> String {
        let data = self
            .ok(
                Method::POST,
                &format!("/v2/objects/{object}/records/query"),
                json!({}),
            )
            .await;
        let record = data
            .as_array()
            .expect("records")
            .iter()
            .find(|r| name_of(r) == name)
            .unwrap_or_else(|| panic!("{name} exists"));
        record["id"]["record_id"]
            .as_str()
            .expect("an id")
            .to_owned()
    }
}

/// A record's name: a person's `full_name` or a company's `value`.
pub fn name_of(record: &Value) -> String {
    let name = &record["values"]["name"][0];
    name["full_name"]
        .as_str()
        .or_else(|| name["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}
