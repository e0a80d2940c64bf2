//! `GET /v2/objects` and `GET /v2/objects/{object}` as Attio's document describes them.

use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_standard_objects_are_listed_and_found_by_slug_or_id() {
    let t = crate::spawn().await;
    let key = t.key();
    let (status, all) = t.get("/v2/objects", &key).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let objects = all["data"].as_array().expect("a list");
    let slugs: Vec<&str> = objects
        .iter()
        .map(|o| o["api_slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["people", "companies"]);
    for object in objects {
        assert_eq!(
            object["id"]["workspace_id"],
            t.sandbox().workspace_id().to_string()
        );
        crate::assert_timestamp(&object["created_at"]);
        let slug = object["api_slug"].as_str().unwrap();
        let id = object["id"]["object_id"].as_str().unwrap();
        for key_path in [slug, id] {
            let (status, one) = t.get(&format!("/v2/objects/{key_path}"), &key).await;
            assert_eq!(status, StatusCode::OK, "{key_path}: {one}");
            assert_eq!(&one["data"], object, "{key_path}");
        }
    }
    assert_eq!(objects[0]["singular_noun"], "Person");
    assert_eq!(objects[1]["plural_noun"], "Companies");

    let (status, missing) = t.get("/v2/objects/deals", &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing,
        json!({"status_code": 404, "type": "invalid_request_error", "code": "not_found",
               "message": "Object with slug/ID \"deals\" not found."})
    );
    let narrow = t.sandbox().mint_api_key(Some(vec!["task:read".to_owned()]));
    let (status, _) = t.get("/v2/objects", &narrow).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "object_configuration:read is needed"
    );
}

#[tokio::test]
async fn a_custom_object_is_created_holds_records_and_can_be_renamed() {
    let t = crate::spawn().await;
    let key = t.key();
    let body = json!({"data": {"api_slug": "projects", "singular_noun": "Project", "plural_noun": "Projects"}});
    let (status, created) = t
        .call(reqwest::Method::POST, "/v2/objects", &key, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["api_slug"], "projects");
    let object_id = created["data"]["id"]["object_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, all) = t.get("/v2/objects", &key).await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(3), "{all}");

    // Its own attribute, a record with a value, found by a filter; a task linked to it.
    let attribute = json!({"data": {"title": "Code", "description": null, "api_slug": "code",
        "type": "text", "is_required": false, "is_unique": true, "is_multiselect": false, "config": {}}});
    let (status, answer) = t
        .call(
            reqwest::Method::POST,
            "/v2/objects/projects/attributes",
            &key,
            Some(&attribute),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, record) = t
        .call(
            reqwest::Method::POST,
            "/v2/objects/projects/records",
            &key,
            Some(&json!({"data": {"values": {"code": "APOLLO"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["data"]["id"]["object_id"], object_id.as_str());
    assert_eq!(record["data"]["values"]["code"][0]["value"], "APOLLO");
    let record_id = record["data"]["id"]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, found) = t
        .call(
            reqwest::Method::POST,
            "/v2/objects/projects/records/query",
            &key,
            Some(&json!({"filter": {"code": "APOLLO"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["data"][0]["id"]["record_id"], record_id.as_str());
    let (status, again) = t
        .call(
            reqwest::Method::PUT,
            "/v2/objects/projects/records?matching_attribute=code",
            &key,
            Some(&json!({"data": {"values": {"code": "APOLLO"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["data"]["id"]["record_id"],
        record_id.as_str(),
        "asserted by the unique code"
    );
    let task = json!({"data": {"content": "Launch", "format": "plaintext", "deadline_at": null,
        "is_completed": false, "assignees": [],
        "linked_records": [{"target_object": "projects", "target_record_id": record_id}]}});
    let (status, task) = t
        .call(reqwest::Method::POST, "/v2/tasks", &key, Some(&task))
        .await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(
        task["data"]["linked_records"][0]["target_object_id"],
        "projects"
    );

    // Renamed: the new slug finds it and its records, the old one no longer does.
    let (status, renamed) = t
        .call(
            reqwest::Method::PATCH,
            &format!("/v2/objects/{object_id}"),
            &key,
            Some(&json!({"data": {"api_slug": "missions", "plural_noun": "Missions"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["data"]["api_slug"], "missions");
    assert_eq!(renamed["data"]["singular_noun"], "Project");
    let (status, _) = t
        .get(&format!("/v2/objects/missions/records/{record_id}"), &key)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.get("/v2/objects/projects", &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Refusals, as the document lists them.
    let cases = [
        (
            reqwest::Method::POST,
            "/v2/objects",
            json!({"data": {"api_slug": "missions", "singular_noun": "M", "plural_noun": "Ms"}}),
            409,
        ),
        (
            reqwest::Method::POST,
            "/v2/objects",
            json!({"data": {"api_slug": "other", "singular_noun": "Person", "plural_noun": "Others"}}),
            409,
        ),
        (
            reqwest::Method::POST,
            "/v2/objects",
            json!({"data": {"api_slug": "Bad Slug", "singular_noun": "B", "plural_noun": "Bs"}}),
            400,
        ),
        (
            reqwest::Method::POST,
            "/v2/objects",
            json!({"data": {"api_slug": "x", "singular_noun": "", "plural_noun": "Xs"}}),
            400,
        ),
        (
            reqwest::Method::PATCH,
            "/v2/objects/missions",
            json!({"data": {}}),
            400,
        ),
        (
            reqwest::Method::PATCH,
            "/v2/objects/missions",
            json!({"data": {"api_slug": "people"}}),
            409,
        ),
        (
            reqwest::Method::PATCH,
            "/v2/objects/people",
            json!({"data": {"api_slug": "humans"}}),
            400,
        ),
        (
            reqwest::Method::PATCH,
            "/v2/objects/nothing",
            json!({"data": {"plural_noun": "X"}}),
            404,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = t.call(method, path, &key, Some(&body)).await;
        assert_eq!(status.as_u16(), expected, "{path} {body}: {answer}");
    }
    let narrow = t
        .sandbox()
        .mint_api_key(Some(vec!["object_configuration:read".to_owned()]));
    let (status, _) = t
        .call(
            reqwest::Method::POST,
            "/v2/objects",
            &narrow,
            Some(&json!({"data": {"api_slug": "z", "singular_noun": "Z", "plural_noun": "Zs"}})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "object_configuration:read-write is needed"
    );
}
