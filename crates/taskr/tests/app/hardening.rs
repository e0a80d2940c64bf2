//! Hostile input against accounts: bounded password hashing, per-account throttling that an
//! attacker cannot turn against the account's owner, and usernames that cannot impersonate.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use taskr::accounts::ThrottlePolicy;
use taskr::config::PasswordHashing;

use crate::helpers::{browser, form_value, TestApp, TestOptions, PASSWORD};

async fn log_in(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.post_form(
        client,
        "/login",
        &[("username", username), ("password", password)],
    )
    .await
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get(RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

#[tokio::test]
async fn repeated_failures_slow_an_account_for_strangers_but_not_for_its_owners_browser() {
    let app = TestApp::spawn_with(TestOptions {
        login_throttle: ThrottlePolicy {
            free_failures: 3,
            first_delay: Duration::from_secs(60),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    // The owner signed up in this browser, so it is a known device for the account.
    let owner = app.user("victoria").await;
    app.post_form(&owner, "/logout", &[]).await;

    let attacker = browser();
    for attempt in 1..=4 {
        let response = log_in(&app, &attacker, "victoria", "guess-number-x").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    // Even the right password now waits, from a browser the account has never used.
    let response = log_in(&app, &attacker, "Victoria", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&response);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Too many failed log-ins for this account"),
        "{page}"
    );
    assert_eq!(form_value(&page, "username").as_deref(), Some("Victoria"));

    // The owner's browser is not slowed by the attacker's failures.
    let response = log_in(&app, &owner, "victoria", PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the owner logs in"
    );

    // An unknown account is treated exactly like a known one: the answer reveals nothing.
    for _ in 1..=4 {
        assert_eq!(
            log_in(&app, &attacker, "nobody-here", "guess-number-x")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in(&app, &attacker, "nobody-here", "guess-number-x")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_known_device_that_keeps_failing_is_slowed_on_its_own_count() {
    let app = TestApp::spawn_with(TestOptions {
        login_throttle: ThrottlePolicy {
            free_failures: 2,
            first_delay: Duration::from_secs(60),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let owner = app.user("wendell").await;
    app.post_form(&owner, "/logout", &[]).await;
    for _ in 1..=3 {
        log_in(&app, &owner, "wendell", "not-my-password").await;
    }
    assert_eq!(
        log_in(&app, &owner, "wendell", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a stolen device cookie does not give unlimited guesses"
    );
    // ...while a fresh browser has its own, untouched count.
    assert_eq!(
        log_in(&app, &browser(), "wendell", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_burst_beyond_the_hashing_queue_is_refused_with_retry_after_while_pages_still_answer() {
    let app = TestApp::spawn_with(TestOptions {
        password_hashing: PasswordHashing {
            workers: 1,
            queue: 1,
        },
        ..Default::default()
    })
    .await;
    // Each client fetches its form first, so that the log-ins themselves arrive together.
    let mut prepared = Vec::new();
    for n in 0..24 {
        let client = browser();
        let csrf = app.csrf(&client).await;
        prepared.push((client, csrf, format!("burst-user-{n}")));
    }
    let url = app.url("/login");
    let burst = prepared.iter().map(|(client, csrf, name)| {
        client
            .post(&url)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", name.as_str()),
                ("password", "wrong-password"),
            ])
            .send()
    });
    let bystander = async {
        let response = app.get(&browser(), "/login").await;
        response.status()
    };
    let (answers, bystander) = tokio::join!(futures_join_all(burst), bystander);
    assert_eq!(
        bystander,
        StatusCode::OK,
        "other pages answer during the burst"
    );
    let mut refused = 0;
    let mut checked = 0;
    for response in answers {
        let response = response.unwrap();
        match response.status() {
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert!(retry_after(&response) >= 1);
                assert!(response
                    .text()
                    .await
                    .unwrap()
                    .contains("busy checking passwords"));
            }
            StatusCode::UNAUTHORIZED => checked += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        refused > 0,
        "one worker and one queue slot cannot take 24 at once"
    );
    assert!(checked > 0, "what fits in the queue is checked");
    // After the burst the pool works normally.
    let client = app.user("after-burst").await;
    assert!(app.page(&client, "/").await.contains("after-burst"));
}

/// `join_all` without a dependency on the futures crate: spawn each and await them in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn look_alike_invisible_and_mixed_script_usernames_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    app.user("Alice").await;
    let cases: &[(&str, StatusCode, &str)] = &[
        ("ALICE", StatusCode::CONFLICT, "That username is taken"),
        (
            "a1ice",
            StatusCode::CONFLICT,
            "looks too much like an existing one",
        ),
        ("ａｌｉｃｅ", StatusCode::CONFLICT, "That username is taken"),
        (
            "Alice\u{200b}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invisible",
        ),
        (
            "Alice\u{202e}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "text-direction",
        ),
        (
            "\u{410}lice",
            StatusCode::UNPROCESSABLE_ENTITY,
            "different scripts",
        ),
    ];
    for (name, status, message) in cases {
        let response = app.sign_up(&browser(), name).await;
        assert_eq!(response.status(), *status, "{name:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{name:?}: {page}");
    }
    // A whole-script look-alike (all Cyrillic) of an existing Latin name.
    app.user("ape-fan").await;
    let response = app.sign_up(&browser(), "аре-fan").await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "mixed scripts"
    );
    app.user("cop").await;
    let response = app.sign_up(&browser(), "сор").await;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "Cyrillic сор looks like cop"
    );

    // Log-in normalises what is typed the same way.
    let response = log_in(&app, &browser(), "  ＡＬＩＣＥ ", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn accounts_made_before_normalisation_get_their_skeleton_at_start_up() {
    let app = TestApp::spawn().await;
    app.user("oldtimer").await;
    app.execute("UPDATE users SET username_skeleton = NULL")
        .await;
    assert_eq!(
        app.sign_up(&browser(), "o1dtimer").await.status(),
        StatusCode::SEE_OTHER,
        "without a skeleton the old account is not protected"
    );
    app.execute("DELETE FROM users WHERE username = 'o1dtimer'")
        .await;
    taskr::accounts::backfill_username_keys(app.state.store.as_ref())
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username_skeleton IS NULL")
            .await,
        0
    );
    assert_eq!(
        app.sign_up(&browser(), "o1dtimer").await.status(),
        StatusCode::CONFLICT
    );
}
