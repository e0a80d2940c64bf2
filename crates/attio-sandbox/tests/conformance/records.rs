//! `POST /v2/objects/{object}/records/query`: paging as Attio's document types it.

use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn limit_and_offset_are_numbers_so_whole_floats_page_and_fractions_are_refused() {
    let t = crate::spawn().await;
    let key = t.key();
    let query = |body: serde_json::Value| {
        let t = &t;
        let key = &key;
        async move {
            t.call(
                Method::POST,
                "/v2/objects/people/records/query",
                key,
                Some(&body),
            )
            .await
        }
    };
    let (status, all) = query(json!({})).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let total = all["data"].as_array().unwrap().len();
    assert!(total > 3, "the demo has people: {total}");

    let (status, page) = query(json!({"limit": 3.0, "offset": 1.0})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = page["data"].as_array().unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[0], all["data"][1], "offset 1.0 skips one");

    for bad in [
        json!({"limit": 2.5}),
        json!({"limit": -1}),
        json!({"offset": "1"}),
    ] {
        let (status, body) = query(bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "validation_type", "{bad}: {body}");
    }
}
