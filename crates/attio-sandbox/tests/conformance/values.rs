//! Record values as Attio's document shapes them: one value object per attribute type, each with
//! `active_from`, `active_until` and `created_by_actor` (every answer read through `call` is also
//! validated against the document's schema).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn attribute(t: &crate::TestSandbox, key: &str, slug: &str, kind: &str) {
    let body = json!({"data": {"title": slug, "description": null, "api_slug": slug, "type": kind,
        "is_required": false, "is_unique": false, "is_multiselect": false, "config": {}}});
    let (status, answer) = t
        .call(
            Method::POST,
            "/v2/objects/people/attributes",
            key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn each_attribute_type_has_its_value_shape_and_the_writer_and_time_of_the_value() {
    let t = crate::spawn().await;
    let key = t.key();
    for (slug, kind) in [
        ("phone", "phone-number"),
        ("site", "domain"),
        ("tier", "select"),
        ("budget", "currency"),
        ("born", "date"),
        ("office", "location"),
        ("score", "rating"),
        ("owner", "actor-reference"),
        ("employer", "record-reference"),
    ] {
        attribute(&t, &key, slug, kind).await;
    }
    let body = json!({"data": {"title": "Gold"}});
    let (status, option) = t
        .call(
            Method::POST,
            "/v2/objects/people/attributes/tier/options",
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{option}");
    let (_, companies) = t
        .call(
            Method::POST,
            "/v2/objects/companies/records/query",
            &key,
            Some(&json!({"limit": 1})),
        )
        .await;
    let company = companies["data"][0]["id"]["record_id"].clone();
    let member = t.sandbox().admin_member_id();
    let values = json!({
        "name": "Ada Lovelace",
        "email_addresses": ["Ada.Lovelace+crm@Mail.Example.co"],
        "phone": "+44 20 7946 0958",
        "site": [{"domain": "app.example.org"}],
        "tier": "Gold",
        "budget": {"currency_value": 1200.5},
        "born": "1815-12-10",
        "office": "12 St James's Square",
        "score": 4,
        "owner": member.to_string(),
        "employer": {"target_object": "companies", "target_record_id": company},
    });
    let (status, created) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&json!({"data": {"values": values}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let v = &created["data"]["values"];
    let email = &v["email_addresses"][0];
    assert_eq!(
        email["original_email_address"],
        "Ada.Lovelace+crm@Mail.Example.co"
    );
    assert_eq!(email["email_address"], "ada.lovelace+crm@mail.example.co");
    assert_eq!(email["email_domain"], "mail.example.co");
    assert_eq!(email["email_root_domain"], "example.co");
    assert_eq!(email["email_local_specifier"], "ada.lovelace");
    assert_eq!(v["phone"][0]["phone_number"], "+442079460958");
    assert_eq!(v["phone"][0]["country_code"], "GB");
    assert_eq!(v["site"][0]["root_domain"], "example.org");
    assert_eq!(v["tier"][0]["option"]["title"], "Gold");
    assert_eq!(v["tier"][0]["option"]["id"], option["data"]["id"]);
    assert_eq!(v["budget"][0]["currency_value"], 1200.5);
    assert_eq!(v["born"][0]["value"], "1815-12-10");
    assert_eq!(v["office"][0]["line_1"], "12 St James's Square");
    assert_eq!(v["office"][0]["locality"], Value::Null);
    assert_eq!(v["owner"][0]["referenced_actor_id"], member.to_string());
    assert_eq!(v["employer"][0]["target_record_id"], company);
    assert_eq!(v["name"][0]["last_name"], "Lovelace");
    let actor = crate::events::token_actor(&t, &key).await;
    for (slug, values) in v.as_object().expect("values") {
        for value in values.as_array().expect("an array") {
            assert_eq!(value["created_by_actor"], actor, "{slug}");
            assert_eq!(value["active_until"], Value::Null, "{slug}");
            assert_eq!(
                value["active_from"], created["data"]["created_at"],
                "{slug}"
            );
        }
    }

    // A value of the wrong kind, an unknown option, a bad phone number: 400s.
    for bad in [
        json!({"tier": "Platinum"}),
        json!({"score": 9}),
        json!({"phone": "12"}),
        json!({"born": "yesterday"}),
        json!({"site": "not a domain"}),
        json!({"owner": uuid::Uuid::new_v4().to_string()}),
    ] {
        let (status, error) = t
            .call(
                Method::POST,
                "/v2/objects/people/records",
                &key,
                Some(&json!({"data": {"values": bad}})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
    }
}

#[tokio::test]
async fn an_update_starts_a_new_value_and_the_old_one_is_history() {
    let t = crate::spawn().await;
    let key = t.key();
    let (_, created) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&json!({"data": {"values": {"name": "Grace Hopper", "job_title": "Officer"}}})),
        )
        .await;
    let id = created["data"]["id"]["record_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/v2/objects/people/records/{id}");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let other = t.sandbox().mint_api_key(None);
    let (status, updated) = t
        .call(
            Method::PATCH,
            &path,
            &other,
            Some(&json!({"data": {"values": {"job_title": "Admiral"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let title = &updated["data"]["values"]["job_title"][0];
    assert_eq!(title["value"], "Admiral");
    assert_ne!(
        title["active_from"], created["data"]["created_at"],
        "a new value, a new start"
    );
    assert_eq!(
        title["created_by_actor"],
        crate::events::token_actor(&t, &other).await
    );
    let name = &updated["data"]["values"]["name"][0];
    assert_eq!(
        name["active_from"], created["data"]["created_at"],
        "untouched values keep theirs"
    );

    let (status, history) = t
        .get(
            &format!("{path}/attributes/job_title/values?show_historic=true"),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let history = history["data"].as_array().expect("values");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["value"], "Officer");
    assert_eq!(
        history[0]["active_until"], title["active_from"],
        "ended when replaced"
    );
    assert_eq!(history[1]["value"], "Admiral");
    let (_, current) = t
        .get(&format!("{path}/attributes/job_title/values"), &key)
        .await;
    assert_eq!(
        current["data"].as_array().map(Vec::len),
        Some(1),
        "{current}"
    );
    let (_, page) = t
        .get(
            &format!("{path}/attributes/job_title/values?show_historic=true&limit=1&offset=1"),
            &key,
        )
        .await;
    assert_eq!(page["data"][0]["value"], "Admiral", "{page}");
}

#[tokio::test]
async fn multiselect_values_are_added_by_patch_and_replaced_by_put_on_records_and_entries() {
    let t = crate::spawn().await;
    let key = t.key();
    let tags = json!({"data": {"title": "Tags", "description": null, "api_slug": "tags", "type": "select",
        "is_required": false, "is_unique": false, "is_multiselect": true, "config": {}}});
    let (status, answer) = t
        .call(
            Method::POST,
            "/v2/objects/people/attributes",
            &key,
            Some(&tags),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for title in ["Alpha", "Beta", "Gamma"] {
        let (status, answer) = t
            .call(
                Method::POST,
                "/v2/objects/people/attributes/tags/options",
                &key,
                Some(&json!({"data": {"title": title}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let titles = |record: &Value| -> Vec<String> {
        record["data"]["values"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|v| v["option"]["title"].as_str().expect("a title").to_owned())
            .collect()
    };
    let (_, created) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&json!({"data": {"values": {"name": "Ada", "tags": ["Alpha", "Beta"]}}})),
        )
        .await;
    assert_eq!(titles(&created), ["Alpha", "Beta"]);
    let path = format!(
        "/v2/objects/people/records/{}",
        created["data"]["id"]["record_id"].as_str().unwrap()
    );
    let (_, patched) = t
        .call(
            Method::PATCH,
            &path,
            &key,
            Some(&json!({"data": {"values": {"tags": ["Gamma", "Alpha"]}}})),
        )
        .await;
    assert_eq!(
        titles(&patched),
        ["Alpha", "Beta", "Gamma"],
        "PATCH adds, without repeats"
    );
    let (_, put) = t
        .call(
            Method::PUT,
            &path,
            &key,
            Some(&json!({"data": {"values": {"tags": "Beta"}}})),
        )
        .await;
    assert_eq!(titles(&put), ["Beta"], "PUT replaces");
    let (status, found) = t
        .call(
            Method::POST,
            "/v2/objects/people/records/query",
            &key,
            Some(&json!({"filter": {"tags": "Beta"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["data"].as_array().map(Vec::len), Some(1), "{found}");

    // A multiselect list attribute on an entry behaves the same.
    let (_, lists) = t.get("/v2/lists", &key).await;
    let list = lists["data"]
        .as_array()
        .and_then(|all| all.iter().find(|l| l["parent_object"][0] == "people"))
        .map(|l| l["api_slug"].as_str().unwrap().to_owned())
        .expect("a list of people");
    let labels = json!({"data": {"title": "Labels", "description": null, "api_slug": "labels", "type": "text",
        "is_required": false, "is_unique": false, "is_multiselect": true, "config": {}}});
    let (status, answer) = t
        .call(
            Method::POST,
            &format!("/v2/lists/{list}/attributes"),
            &key,
            Some(&labels),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let record = created["data"]["id"]["record_id"].clone();
    let (status, entry) = t
        .call(
            Method::POST,
            &format!("/v2/lists/{list}/entries"),
            &key,
            Some(
                &json!({"data": {"parent_record_id": record, "parent_object": "people",
                "entry_values": {"labels": ["warm"]}}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    let entry_path = format!(
        "/v2/lists/{list}/entries/{}",
        entry["data"]["id"]["entry_id"].as_str().unwrap()
    );
    let labels_of = |entry: &Value| -> Vec<String> {
        entry["data"]["entry_values"]["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|v| v["value"].as_str().expect("text").to_owned())
            .collect()
    };
    let (_, patched) = t
        .call(
            Method::PATCH,
            &entry_path,
            &key,
            Some(&json!({"data": {"entry_values": {"labels": ["vip"]}}})),
        )
        .await;
    assert_eq!(labels_of(&patched), ["warm", "vip"]);
    let (_, put) = t
        .call(
            Method::PUT,
            &entry_path,
            &key,
            Some(&json!({"data": {"entry_values": {"labels": ["cold"]}}})),
        )
        .await;
    assert_eq!(labels_of(&put), ["cold"]);
}
