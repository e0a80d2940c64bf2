//! The read-only record page at a record's `web_url` path: it shows the record (escaped),
//! answers 404 for a record that is gone, keeps unknown paths the API's 404, and serves the
//! local machine only.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{assert_flat_error, read_json, spawn};

#[tokio::test]
async fn a_records_web_url_path_shows_the_record_escaped_until_it_is_deleted() {
    let t = spawn().await;
    let key = t.key();
    let (status, created) = t
        .call(
            Method::POST,
            "/v2/objects/people/records",
            &key,
            Some(&json!({"data": {"values": {
                "name": [{"first_name": "<script>alert(1)</script>", "last_name": "Smith",
                          "full_name": "<script>alert(1)</script> Smith"}],
                "email_addresses": ["script.smith@example.test"]
            }}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let web_url = url::Url::parse(created["data"]["web_url"].as_str().expect("web_url"))
        .expect("an absolute URL");
    let path = web_url.path().to_owned();
    let record = created["data"]["id"]["record_id"].as_str().expect("id");
    assert_eq!(path, format!("/acme-demo/people/{record}"));

    let response = t.http.get(t.url(&path)).send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    let page = response.text().await.expect("page");
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62; Smith"),
        "{page}"
    );
    assert!(
        !page.contains("<script>"),
        "nothing from the record is markup"
    );
    assert!(page.contains("Person") && page.contains("script.smith@example.test"));

    // The object may be named by its id too, as a task's link may.
    let (_, people) = t.get("/v2/objects/people", &key).await;
    let object_id = people["data"]["id"]["object_id"]
        .as_str()
        .expect("object id");
    let by_id = t
        .http
        .get(t.url(&format!("/acme-demo/{object_id}/{record}")))
        .send()
        .await
        .expect("answers");
    assert_eq!(by_id.status(), StatusCode::OK);

    let posted = t.http.post(t.url(&path)).send().await.expect("answers");
    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED, "read-only");

    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("/v2/objects/people/records/{record}"),
            &key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let gone = t.http.get(t.url(&path)).send().await.expect("answers");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(gone.text().await.expect("page").contains("No such record"));
}

#[tokio::test]
async fn paths_that_name_no_workspace_stay_the_apis_404() {
    let t = spawn().await;
    for (method, path) in [
        (Method::GET, "/v2/no-such/route"),
        (
            Method::POST,
            "/nobody/people/00000000-0000-0000-0000-000000000000",
        ),
    ] {
        let response = t
            .http
            .request(method.clone(), t.url(path))
            .send()
            .await
            .expect("answers");
        let (status, body) = read_json(response).await;
        assert_flat_error(status, &body, (404, "invalid_request_error", "not_found"));
    }
    let response = t
        .http
        .get(t.url("/acme-demo/people/not-a-uuid"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn record_pages_refuse_peers_that_are_not_loopback() {
    // Served without connect info the sandbox cannot see the peer, and must fail closed.
    let sandbox = attio_sandbox::Sandbox::new(attio_sandbox::Config::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        sandbox.router(),
    )));
    let key = sandbox.mint_api_key(None);
    let people: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/v2/objects/people/records/query"))
        .bearer_auth(key)
        .json(&json!({"limit": 1}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let record = people["data"][0]["id"]["record_id"]
        .as_str()
        .expect("a person");
    let response = reqwest::get(format!("http://{addr}/acme-demo/people/{record}"))
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!response.text().await.expect("page").contains(record));
}
