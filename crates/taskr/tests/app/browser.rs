//! A browser smoke test: headless Chromium through chromedriver signs up, connects Attio,
//! approves on the sandbox's consent page, sees the tasks, then completes a task on one open
//! page and sees it struck through on a second open page without reloading. Skips, saying why, where no
//! chromedriver is installed (`.ci/run` installs it and sets
//! `TASKR_REQUIRE_BROWSER`, which turns the skip into a failure).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::TestApp;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<String> {
    if let Ok(path) = std::env::var("CHROMEDRIVER") {
        return Some(path);
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_owned)
}

async fn wait_for_port(port: u16) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A headless Chromium session driven through a chromedriver of its own; dropping it stops both.
pub(crate) struct Chromium {
    pub client: Client,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

/// Starts Chromium, or says why not and returns `None` where no chromedriver is installed
/// (a failure instead when `TASKR_REQUIRE_BROWSER` is set). `what` names the skipped test.
pub(crate) async fn chromium(what: &str) -> Option<Chromium> {
    let Some(driver_path) = chromedriver() else {
        assert!(
            std::env::var_os("TASKR_REQUIRE_BROWSER").is_none(),
            "TASKR_REQUIRE_BROWSER is set but no chromedriver was found"
        );
        eprintln!(
            "SKIPPED {what}: chromedriver not found (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let driver = Driver(
        Command::new(&driver_path)
            .arg(format!("--port={port}"))
            // The browser's time zone, which the tasks page's script reports for the user.
            .env("TZ", "Asia/Tokyo")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    assert!(
        wait_for_port(port).await,
        "chromedriver did not start listening"
    );

    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            format!("--user-data-dir={}", profile.path().display()),
        ]}),
    );
    // fantoccini's rustls needs a process-wide crypto provider; ring is the one reqwest uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session");
    Some(Chromium {
        client,
        _profile: profile,
        _driver: driver,
    })
}

#[tokio::test]
async fn a_person_signs_up_connects_attio_and_sees_tasks_in_a_real_browser() {
    let Some(session) = chromium("browser smoke test").await else {
        return;
    };
    let browser = &session.client;
    let app = TestApp::spawn().await;

    let live_task = app.create_task("Browser live task").await["data"]["id"]["task_id"]
        .as_str()
        .expect("task id")
        .to_owned();
    let run = async {
        browser.goto(&app.url("/")).await?;
        browser
            .find(Locator::LinkText("Sign up"))
            .await?
            .click()
            .await?;
        browser
            .find(Locator::Id("username"))
            .await?
            .send_keys("browser-user")
            .await?;
        browser
            .find(Locator::Id("password"))
            .await?
            .send_keys("a long password")
            .await?;
        browser
            .find(Locator::Css("form button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::LinkText("Connect Attio"))
            .await?
            .click()
            .await?;
        // The sandbox's consent page.
        let approve = browser
            .wait()
            .for_element(Locator::Css("button[value=approve]"))
            .await?;
        let consent = browser.source().await?;
        approve.click().await?;
        browser
            .wait()
            .for_element(Locator::Css("table.tasks"))
            .await?;
        let page = browser.source().await?;
        // With JavaScript on, the user's zone defaults to the browser's.
        browser
            .wait()
            .for_element(Locator::XPath(
                "//p[contains(., 'Times are shown in Asia/Tokyo')]",
            ))
            .await?;

        // Two pages open on the same view; a task completed on one is struck through on the
        // other without a reload (and appears on both live when Attio's webhook brings it).
        let view = app.url("/tasks?q=Browser+live+task");
        let first = browser.window().await?;
        browser.goto(&view).await?;
        let row = format!("tr#task-{live_task}");
        browser.wait().for_element(Locator::Css(&row)).await?;
        // A keyboard user's place on the first page, in a region that live updates swap.
        let edit = format!("{row} a[href*='/edit']");
        browser
            .execute(
                "document.querySelector(arguments[0]).focus();",
                vec![serde_json::json!(edit)],
            )
            .await?;
        let second = browser.new_window(false).await?;
        browser.switch_to_window(second.handle).await?;
        browser.goto(&view).await?;
        browser
            .wait()
            .for_element(Locator::Css(&format!(
                "button[formaction='/tasks/{live_task}/complete']"
            )))
            .await?
            .click()
            .await?;
        let done = format!("tr.done#task-{live_task}");
        browser.wait().for_element(Locator::Css(&done)).await?;
        browser.switch_to_window(first).await?;
        let following = browser
            .execute(
                "return document.documentElement.dataset.liveStream;",
                vec![],
            )
            .await?;
        assert_eq!(following, "connected", "the first page follows changes");
        browser.wait().for_element(Locator::Css(&done)).await?;
        let struck = browser
            .find(Locator::Css(&format!("{done} td.content")))
            .await?
            .css_value("text-decoration-line")
            .await?;
        // Screen readers hear a short note, and the focus stays where it was.
        let announced = "var note = document.querySelector('[data-live-announce]');
            return note.getAttribute('aria-live') === 'polite' && note.textContent === 'Tasks updated';";
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while browser.execute(announced, vec![]).await? != true {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the update was never announced"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let kept = browser
            .execute(
                "return document.activeElement === document.querySelector(arguments[0]);",
                vec![serde_json::json!(edit)],
            )
            .await?;
        assert_eq!(
            kept, true,
            "the focus stays on the same link after the update"
        );
        Ok::<_, fantoccini::error::CmdError>((consent, page, struck))
    };
    let result = run.await;
    let _ = browser.clone().close().await;
    let (consent, page, struck) = result.expect("the browser journey");
    assert_eq!(
        struck, "line-through",
        "the completed task is struck through"
    );
    let attio = app
        .sandbox_get(&format!("/v2/tasks/{live_task}"), &app.api_key())
        .await;
    assert_eq!(attio["data"]["is_completed"], true, "completed in Attio");
    assert!(consent.contains("Taskr"), "consent page names the app");
    assert!(page.contains("Attio is connected"));
    assert!(page.contains(&app.sandbox.sandbox.workspace_name()));
    assert!(page.matches("<tr").count() > 10, "the tasks are listed");
}
