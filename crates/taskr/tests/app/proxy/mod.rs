//! The deployment of `deploy/`, tested: nginx with the repository's site file in front of two
//! Taskr processes on one PostgreSQL database. Everything a person does goes through nginx:
//! sign-up and log-in, the Attio link, a live page, readiness; the client's address Taskr
//! uses for rate limits is the one nginx saw, not the one a client claims. `crash` streams
//! webhook deliveries through nginx while an instance is SIGKILLed.

mod cluster;
mod crash;

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::PASSWORD;
use cluster::{browser_from, loopback, skipped, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_two_instances_share_accounts_live_pages_readiness_and_see_real_clients() {
    if skipped(
        "through_nginx_two_instances_share_accounts_live_pages_readiness_and_see_real_clients",
    ) {
        return;
    }
    let cluster = Cluster::start(3).await;
    let readyz = reqwest::get(cluster.url("/readyz")).await.unwrap();
    assert_eq!(readyz.status(), StatusCode::OK, "/readyz through nginx");

    // Sign up and link Attio: the OAuth flow starts on one instance and, round robin, its
    // callback lands on the other.
    let ann = cluster.connected_user("ann", loopback(2)).await;
    for _ in 0..4 {
        let home = ann.get(cluster.url("/")).send().await.unwrap();
        assert!(
            home.text().await.unwrap().contains("Signed in as"),
            "the session holds on whichever instance answers"
        );
    }
    // Log in again from a new browser.
    let again = browser_from(loopback(2));
    let response = cluster
        .post_account(&again, "/login", "ann", PASSWORD, None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "log-in");

    // A live page through nginx: a change in Attio reaches it as an event, unbuffered.
    let mut live = crate::helpers::LiveStream::open_at(&cluster.url("/live"), &ann).await;
    cluster
        .sandbox
        .sandbox
        .create_task_as_member("Seen through nginx");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        live.expect("tasks").await;
        let page = ann.get(cluster.url("/tasks")).send().await.unwrap();
        if page.text().await.unwrap().contains("Seen through nginx") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tasks page never listed the change"
        );
    }

    // Client addresses. Mallory (127.0.0.3) fails to log in, each time claiming another
    // address in X-Forwarded-For, until both instances refuse her: what she claims is not
    // believed, the address nginx saw is.
    let mallory = browser_from(loopback(3));
    let mut refused_in_a_row = 0;
    for attempt in 0..16 {
        let forged = format!("203.0.113.{attempt}");
        let response = cluster
            .post_account(
                &mallory,
                "/login",
                "mallory",
                "not-her-password",
                Some(&forged),
            )
            .await;
        match response.status() {
            StatusCode::TOO_MANY_REQUESTS => refused_in_a_row += 1,
            StatusCode::UNAUTHORIZED => refused_in_a_row = 0,
            other => panic!("log-in attempt {attempt} answered {other}"),
        }
        if refused_in_a_row == 2 {
            break;
        }
    }
    assert_eq!(
        refused_in_a_row, 2,
        "a forged X-Forwarded-For escaped the limit"
    );
    // Bob (127.0.0.4) has a budget of his own: Taskr trusts nginx (127.0.0.1) to name the
    // client. Were X-Forwarded-For ignored, everyone would be nginx's 127.0.0.1 and limited.
    let bob = browser_from(loopback(4));
    let response = cluster
        .post_account(&bob, "/login", "bob", "not-his-password", None)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "another client behind the proxy is not limited by Mallory's attempts"
    );

    // /metrics is for the host's scraper: through the proxy it is someone else's request.
    let metrics = reqwest::get(cluster.url("/metrics")).await.unwrap();
    assert_eq!(metrics.status(), StatusCode::NOT_FOUND);
}
