//! Attributes as Attio's document describes them.

use serde_json::json;

#[tokio::test]
async fn every_attribute_carries_both_configurations_the_document_requires() {
    let t = crate::spawn().await;
    let key = t.key();
    for path in [
        "/v2/objects/people/attributes",
        "/v2/objects/companies/attributes",
        "/v2/lists/sales-pipeline/attributes",
    ] {
        let (status, body) = t.get(path, &key).await;
        assert!(status.is_success(), "{path}: {body}");
        let attributes = body["data"].as_array().expect("a list");
        assert!(!attributes.is_empty(), "{path}");
        for attribute in attributes {
            assert_eq!(
                attribute["config"],
                json!({
                    "currency": {"default_currency_code": null, "display_type": null},
                    "record_reference": {"allowed_object_ids": null},
                }),
                "{path}: {}",
                attribute["api_slug"]
            );
        }
    }
}
