//! `object-attribute.created` and `object-attribute.updated`, and the attribute endpoints' rules.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{object_id, token_actor, workspace};
use crate::receiver::Hook;
use crate::{assert_flat_error, spawn};

fn attribute(slug: &str) -> serde_json::Value {
    json!({"data": {"title": "Rating", "description": "How warm", "api_slug": slug, "type": "rating",
        "is_required": false, "is_unique": false, "is_multiselect": false, "config": {}}})
}

#[tokio::test]
async fn object_attributes_emit_created_and_updated() {
    let t = spawn().await;
    let key = t.key();
    let actor = token_actor(&t, &key).await;
    let hook = Hook::new(
        &t,
        &["object-attribute.created", "object-attribute.updated"],
    )
    .await;
    let (status, created) = t
        .call(
            Method::POST,
            "/v2/objects/companies/attributes",
            &key,
            Some(&attribute("rating")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["type"], "rating");
    assert_eq!(created["data"]["is_system_attribute"], false);
    let patch = json!({"data": {"title": "Score", "api_slug": "score"}});
    let (status, updated) = t
        .call(
            Method::PATCH,
            "/v2/objects/companies/attributes/rating",
            &key,
            Some(&patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (status, _) = t.get("/v2/objects/companies/attributes/score", &key).await;
    assert_eq!(status, StatusCode::OK, "found by its new slug");

    let id = json!({"workspace_id": workspace(&t), "object_id": object_id(&t, "companies").await,
        "attribute_id": created["data"]["id"]["attribute_id"]});
    assert_eq!(
        hook.exactly(&t, 2).await,
        [
            json!({"event_type": "object-attribute.created", "id": id, "actor": actor}),
            json!({"event_type": "object-attribute.updated", "id": id, "actor": actor}),
        ]
    );
}

#[tokio::test]
async fn attribute_slugs_are_unique_and_system_slugs_are_fixed() {
    let t = spawn().await;
    let key = t.key();
    let (status, error) = t
        .call(
            Method::POST,
            "/v2/objects/people/attributes",
            &key,
            Some(&attribute("job_title")),
        )
        .await;
    assert_flat_error(
        status,
        &error,
        (409, "invalid_request_error", "slug_conflict"),
    );
    let patch = json!({"data": {"api_slug": "emails"}});
    let (status, error) = t
        .call(
            Method::PATCH,
            "/v2/objects/people/attributes/email_addresses",
            &key,
            Some(&patch),
        )
        .await;
    assert_flat_error(
        status,
        &error,
        (400, "invalid_request_error", "system_edit_unauthorized"),
    );
    let mut missing = attribute("colour");
    missing["data"].as_object_mut().map(|d| d.remove("config"));
    let mut bad_type = attribute("colour");
    bad_type["data"]["type"] = json!("colour");
    let mut bad_slug = attribute("Colour Name");
    bad_slug["data"]["type"] = json!("text");
    for body in [missing, bad_type, bad_slug] {
        let (status, error) = t
            .call(
                Method::POST,
                "/v2/objects/people/attributes",
                &key,
                Some(&body),
            )
            .await;
        assert_flat_error(
            status,
            &error,
            (400, "invalid_request_error", "validation_type"),
        );
    }
    let reader = t
        .sandbox()
        .mint_api_key(Some(vec!["object_configuration:read".to_owned()]));
    let (status, _) = t.get("/v2/objects/people/attributes", &reader).await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = t
        .call(
            Method::POST,
            "/v2/objects/people/attributes",
            &reader,
            Some(&attribute("x")),
        )
        .await;
    assert_flat_error(status, &error, (403, "auth_error", "unauthorized"));
}
