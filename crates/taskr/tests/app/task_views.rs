//! Finding and ordering tasks (search, sort, filters kept in the URL) and times in the user's
//! time zone (chosen, or reported by the browser).

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{location, TestApp};

async fn task_with(app: &TestApp, content: &str, deadline: Option<&str>) -> String {
    let response = Client::new()
        .post(format!("{}/v2/tasks", app.sandbox.base_url()))
        .bearer_auth(app.api_key())
        .json(&json!({"data": {
            "content": content, "format": "plaintext", "deadline_at": deadline,
            "is_completed": false, "linked_records": [], "assignees": []
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    body["data"]["id"]["task_id"].as_str().unwrap().to_owned()
}

/// The ids of the task rows on a page, in order.
fn row_ids(html: &str) -> Vec<String> {
    html.match_indices("id=\"task-")
        .filter_map(|(at, m)| html.get(at + m.len()..at + m.len() + 36))
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn search_finds_words_in_any_case_and_sorting_orders_by_deadline() {
    let app = TestApp::spawn().await;
    let client = app.user("finder").await;
    app.connect(&client).await;
    let late = task_with(
        &app,
        "Zebra: call ÉMILIE",
        Some("2031-05-01T09:00:00.000000000Z"),
    )
    .await;
    let soon = task_with(&app, "zebra: send 100% of the deck", Some("2030-01-02")).await;
    let none = task_with(&app, "Zebra without a deadline", None).await;
    let response = app.post_form(&client, "/tasks/sync", &[]).await;
    assert_eq!(location(&response), "/tasks?notice=synced");

    let page = app.page(&client, "/tasks?q=ZEBRA&sort=deadline").await;
    assert_eq!(row_ids(&page), [soon.clone(), late.clone(), none.clone()]);
    assert!(
        page.contains("Showing 1–3 of 3."),
        "the total counts the matches"
    );
    assert!(page.contains("value=\"ZEBRA\""), "the box keeps the search");
    // Unicode case folding, and wildcards taken literally.
    assert_eq!(
        row_ids(&app.page(&client, "/tasks?q=%C3%A9milie").await),
        [late.as_str()]
    );
    assert_eq!(
        row_ids(&app.page(&client, "/tasks?q=100%25").await),
        [soon.as_str()]
    );
    assert!(row_ids(&app.page(&client, "/tasks?q=10_%25").await).is_empty());
    let newest = app.page(&client, "/tasks?q=zebra&sort=newest").await;
    assert_eq!(row_ids(&newest), [none.clone(), soon.clone(), late.clone()]);
    let nothing = app.page(&client, "/tasks?q=no+such+words").await;
    assert!(nothing.contains("No tasks match this search."));

    // The view lives in the URL: filter links and paging keep the search and the order.
    let unescaped = page.replace("&#x2f;", "/").replace("&#38;", "&");
    assert!(
        unescaped.contains("href=\"/tasks?filter=open&q=ZEBRA&sort=deadline\""),
        "filter link keeps the view"
    );
    let open = app
        .page(&client, "/tasks?filter=open&q=zebra&sort=deadline")
        .await;
    assert_eq!(row_ids(&open).len(), 3);
    assert!(
        open.contains("name=\"filter\" value=\"open\""),
        "the search form keeps the filter"
    );
    assert!(open.contains("<option value=\"deadline\" selected>"));

    for bad in [
        "/tasks?sort=random",
        &format!("/tasks?q={}", "x".repeat(201)),
    ] {
        assert_eq!(
            app.get(&client, bad).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn times_follow_the_users_zone_chosen_or_reported_by_the_browser() {
    let app = TestApp::spawn().await;
    let client = app.user("traveller").await;
    app.connect(&client).await;
    // 23:30 UTC is already the next day in Tokyo.
    let today = chrono::Utc::now().date_naive();
    let deadline = format!("{}T23:30:00.000000000Z", today.format("%Y-%m-%d"));
    let id = task_with(&app, "Zoned task", Some(&deadline)).await;
    app.post_form(&client, "/tasks/sync", &[]).await;

    let page = app.page(&client, "/tasks?q=zoned").await;
    assert!(page.contains("Times are shown in UTC"));
    assert!(
        page.contains("/static/zone.js"),
        "the browser may report its zone"
    );
    let row_start = page.find(&format!("id=\"task-{id}\"")).unwrap();
    assert!(
        page[row_start..].contains(">today</time>"),
        "in UTC it is due today"
    );

    // The browser's report is kept while the user has none.
    let response = app
        .post_form(
            &client,
            "/settings/time-zone",
            &[("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = app.page(&client, "/tasks?q=zoned").await;
    assert!(page.contains("Times are shown in Asia/Tokyo"));
    assert!(!page.contains("/static/zone.js"), "asked once only");
    let row_start = page.find(&format!("id=\"task-{id}\"")).unwrap();
    let tokyo_words = if chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
        > today
    {
        ">today</time>"
    } else {
        ">tomorrow</time>"
    };
    assert!(
        page[row_start..].contains(tokyo_words),
        "in Tokyo: {tokyo_words}"
    );

    // A later report never overrides it; a choice on the settings page does.
    let response = app
        .post_form(
            &client,
            "/settings/time-zone",
            &[("time_zone", "Europe/Paris")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .post_form(&client, "/settings", &[("time_zone", "America/New_York")])
        .await;
    assert_eq!(location(&response), "/settings?notice=settings-saved");
    let settings = app.page(&client, "/settings").await;
    assert!(settings.contains("<option value=\"America/New_York\" selected>"));
    let page = app.page(&client, "/tasks?q=zoned").await;
    assert!(page.contains("Times are shown in America/New_York"));
    // The feed's times too (the task's creation arrives as a webhook).
    crate::helpers::wait_until(
        "the feed shows times in New York's zone",
        std::time::Duration::from_secs(20),
        || {
            let (app, client) = (&app, &client);
            async move {
                let feed = app.page(client, "/activity").await;
                feed.contains(" EST<") || feed.contains(" EDT<")
            }
        },
    )
    .await;

    // Bad zones are refused with a clear error and change nothing.
    let response = app
        .post_form(&client, "/settings", &[("time_zone", "Mars/Olympus_Mons")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("not a time zone Taskr knows"));
    let response = app
        .post_form(&client, "/settings/time-zone", &[("time_zone", "<script>")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(app
        .page(&client, "/tasks")
        .await
        .contains("America/New_York"));
}

#[tokio::test]
async fn search_also_finds_tasks_by_the_names_of_the_records_they_link() {
    let app = TestApp::spawn().await;
    let client = app.user("seeker").await;
    app.connect(&client).await;
    let companies: serde_json::Value = Client::new()
        .post(format!(
            "{}/v2/objects/companies/records/query",
            app.sandbox.base_url()
        ))
        .bearer_auth(app.api_key())
        .json(&json!({"limit": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let company = &companies["data"][0];
    let record_id = company["id"]["record_id"].as_str().unwrap();
    let name = company["values"]["name"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = Client::new()
        .post(format!("{}/v2/tasks", app.sandbox.base_url()))
        .bearer_auth(app.api_key())
        .json(&json!({"data": {
            "content": "Quarterly check-in", "format": "plaintext", "deadline_at": null,
            "is_completed": false, "assignees": [],
            "linked_records": [{"target_object": "companies", "target_record_id": record_id}]
        }}))
        .send()
        .await
        .unwrap();
    let task: serde_json::Value = response.json().await.unwrap();
    let id = task["data"]["id"]["task_id"].as_str().unwrap().to_owned();
    app.post_form(&client, "/tasks/sync", &[]).await;

    // Part of the company's name, in other case: found through the record, not the content.
    let part: String = name
        .chars()
        .skip(1)
        .take(4)
        .collect::<String>()
        .to_uppercase();
    let url = format!(
        "/tasks?q={}",
        url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>()
    );
    let found = row_ids(&app.page(&client, &url).await);
    assert!(
        found.contains(&id),
        "searching {part:?} (from {name:?}) finds the task: {found:?}"
    );
    let by_content = row_ids(&app.page(&client, "/tasks?q=quarterly+check-in").await);
    assert_eq!(by_content, [id.as_str()]);

    // A rename in Attio is searchable once Taskr has read it.
    Client::new()
        .patch(format!(
            "{}/v2/objects/companies/records/{record_id}",
            app.sandbox.base_url()
        ))
        .bearer_auth(app.api_key())
        .json(&json!({"data": {"values": {"name": "Xylophone Holdings"}}}))
        .send()
        .await
        .unwrap();
    crate::helpers::wait_until(
        "the rename is searchable",
        std::time::Duration::from_secs(20),
        || {
            let app = &app;
            let client = &client;
            let id = id.clone();
            async move { row_ids(&app.page(client, "/tasks?q=xylophone").await).contains(&id) }
        },
    )
    .await;
}
