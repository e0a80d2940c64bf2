//! `GET /scim/v2/Schemas`: a SCIM list response of the User and Group schemas, for a token with
//! the scope Attio's document names.

use reqwest::StatusCode;
use serde_json::Value;

use crate::assert_flat_error;

#[tokio::test]
async fn scim_schemas_are_a_list_response_of_user_and_group() {
    let t = crate::spawn().await;
    let (status, body) = t.get("/scim/v2/Schemas", &t.key()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["schemas"],
        serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let resources = body["Resources"].as_array().expect("Resources");
    assert_eq!(body["totalResults"], resources.len());
    assert_eq!(body["itemsPerPage"], resources.len());
    assert_eq!(body["startIndex"], 1);
    let ids: Vec<&str> = resources
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group"
        ]
    );
    for resource in resources {
        assert_eq!(
            resource["schemas"][0],
            "urn:ietf:params:scim:schemas:core:2.0:Schema"
        );
        assert_eq!(resource["meta"]["resourceType"], "Schema");
        let names: Vec<&str> = resource["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        let key = if resource["name"] == "User" {
            "userName"
        } else {
            "displayName"
        };
        assert!(names.contains(&key), "{names:?}");
    }
    let user = &resources[0]["attributes"];
    let role = user
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "appRole")
        .expect("appRole");
    assert_eq!(
        role["canonicalValues"],
        serde_json::json!(["admin", "member"])
    );

    let narrow = t.sandbox().mint_api_key(Some(vec![
        "scim_management:read".to_owned(),
        "user_management:read".to_owned(),
    ]));
    let (status, body) = t.get("/scim/v2/Schemas", &narrow).await;
    assert_flat_error(status, &body, (403, "auth_error", "unauthorized"));
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("scim_management:read-write"));
    let response = t
        .http
        .get(t.url("/scim/v2/Schemas"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["code"], "unauthorized");
}
