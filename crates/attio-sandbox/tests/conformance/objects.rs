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
