//! Accessibility in a real browser (headless Chromium, see `browser.rs`): every Taskr page and
//! the sandbox's pages, signed out and in, connected and not, with an error on a form, at phone
//! (360 px) and desktop (1280 px) width, in light and dark mode: no sideways scrolling of the
//! page, and no violation of axe-core's WCAG 2.0/2.1 A and AA rules. Screenshots of each are
//! written to a folder the test prints. A second test walks sign-up, connect and "Sync now"
//! with the keyboard alone, a third does it with JavaScript off.
//!
//! axe-core is read from the file named by `TASKR_AXE_JS` (`.ci/run` installs it from npm into a
//! scratch folder); without it that part is skipped with a printed reason, or fails when
//! `TASKR_REQUIRE_BROWSER` is set.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::Method;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::error::CmdError;
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::chromium;
use crate::helpers::{wait_until, TestApp, TestOptions};

const WIDTHS: [u32; 2] = [360, 1280];
const SCHEMES: [&str; 2] = ["light", "dark"];
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// A Chrome DevTools command sent through chromedriver (`goog/cdp/execute`): how the test
/// emulates `prefers-color-scheme: dark`, which no WebDriver command or Chromium flag in
/// Debian's build switches reliably per page.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.0.to_string()))
    }
}

async fn color_scheme(browser: &Client, scheme: &str) -> Result<(), CmdError> {
    browser
        .issue_cmd(Cdp(json!({
            "cmd": "Emulation.setEmulatedMedia",
            "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        })))
        .await?;
    let applied = browser
        .execute(
            "return matchMedia('(prefers-color-scheme: ' + arguments[0] + ')').matches;",
            vec![json!(scheme)],
        )
        .await?;
    assert_eq!(
        applied, true,
        "the page sees prefers-color-scheme: {scheme}"
    );
    Ok(())
}

/// axe-core's source, or `None` (saying why) where `TASKR_AXE_JS` is not set.
fn axe_source() -> Option<String> {
    let Some(path) = std::env::var_os("TASKR_AXE_JS") else {
        assert!(
            std::env::var_os("TASKR_REQUIRE_BROWSER").is_none(),
            "TASKR_REQUIRE_BROWSER is set but TASKR_AXE_JS names no axe-core file"
        );
        eprintln!("SKIPPED the axe-core checks: TASKR_AXE_JS is not set (npm install axe-core@4 into a scratch folder and point it at axe.min.js)");
        return None;
    };
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}")))
}

const RUN_AXE: &str = r#"
var done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: "tag", values: arguments[0] }, resultTypes: ["violations"] })
  .then(function (result) {
    done(result.violations.map(function (v) {
      return { id: v.id, help: v.help, nodes: v.nodes.map(function (n) {
        return { target: n.target.join(" "), summary: n.failureSummary };
      }) };
    }));
  })
  .catch(function (e) { done({ error: String(e) }); });
"#;

/// Looks at pages and collects what is wrong with them, to report everything at the end.
struct Audit<'a> {
    browser: &'a Client,
    axe: Option<String>,
    shots: PathBuf,
    problems: Vec<String>,
    /// Page, width, scheme, axe violations (nodes) found.
    results: Vec<(String, u32, &'static str, usize)>,
}

impl Audit<'_> {
    /// Checks the page the browser shows now, under `name`, at both widths in both schemes.
    async fn page(&mut self, name: &str) -> Result<(), CmdError> {
        for scheme in SCHEMES {
            color_scheme(self.browser, scheme).await?;
            for width in WIDTHS {
                self.browser.set_window_size(width, 900).await?;
                let sizes = self
                    .browser
                    .execute(
                        "return [document.documentElement.scrollWidth, window.innerWidth];",
                        vec![],
                    )
                    .await?;
                let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
                assert_eq!(inner, u64::from(width), "the window is {width} px wide");
                if scroll > inner {
                    self.problems.push(format!(
                        "{name} at {width} px ({scheme}): the page is {scroll} px wide"
                    ));
                }
                if width == WIDTHS[0] && scheme == SCHEMES[0] {
                    self.tap_targets(name).await?;
                }
                self.screenshot(&format!("{name}-{width}-{scheme}.png"), width)
                    .await?;
                let found = self.axe(name, width, scheme).await?;
                self.results.push((name.to_owned(), width, scheme, found));
            }
        }
        color_scheme(self.browser, "light").await
    }

    /// On a narrow screen, every control a finger aims at (buttons, fields, menus, filters, row
    /// actions, paging, button links) is at least 44 px tall. Links inside running text are
    /// left out, as WCAG's target-size rule leaves them out; so are check boxes, whose label is
    /// part of the target, and what is not shown (the skip link until it is focused).
    async fn tap_targets(&mut self, name: &str) -> Result<(), CmdError> {
        let small = self
            .browser
            .execute(
                r#"var out = [];
                   document.querySelectorAll('button, select, a.button, nav a, .filters a,'
                       + ' .row-actions a, .paging a,'
                       + ' input:not([type=hidden]):not([type=checkbox]):not([type=radio])')
                     .forEach(function (el) {
                       var r = el.getBoundingClientRect();
                       if (r.width === 0 || r.height === 0 || el.classList.contains('skip')) return;
                       if (getComputedStyle(el).visibility === 'hidden') return;
                       if (r.height < 44) out.push(el.tagName.toLowerCase() + ' "'
                         + (el.textContent || el.value || el.name || '').trim().slice(0, 30)
                         + '" ' + Math.round(r.height) + ' px');
                     });
                   return out;"#,
                vec![],
            )
            .await?;
        for target in small.as_array().into_iter().flatten() {
            self.problems.push(format!(
                "{name} at {} px: a tap target is under 44 px: {}",
                WIDTHS[0],
                target.as_str().unwrap_or_default()
            ));
        }
        Ok(())
    }

    /// A screenshot of the whole page: the window is made as tall as the page for a moment.
    async fn screenshot(&self, file: &str, width: u32) -> Result<(), CmdError> {
        let height = self
            .browser
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await?
            .as_u64()
            .unwrap_or(900)
            .clamp(900, 8000);
        self.browser
            .set_window_size(width, u32::try_from(height).unwrap())
            .await?;
        std::fs::write(self.shots.join(file), self.browser.screenshot().await?).unwrap();
        self.browser.set_window_size(width, 900).await
    }

    /// Runs axe-core on the page; returns how many elements violate a rule.
    async fn axe(&mut self, name: &str, width: u32, scheme: &str) -> Result<usize, CmdError> {
        let Some(source) = &self.axe else {
            return Ok(0);
        };
        let loaded = self
            .browser
            .execute("return typeof axe !== 'undefined';", vec![])
            .await?;
        if loaded != Value::Bool(true) {
            self.browser.execute(source, vec![]).await?;
        }
        let violations = self
            .browser
            .execute_async(RUN_AXE, vec![json!(AXE_TAGS)])
            .await?;
        let Some(violations) = violations.as_array() else {
            panic!("axe-core failed on {name}: {violations}");
        };
        let mut count = 0;
        for v in violations {
            for node in v["nodes"].as_array().into_iter().flatten() {
                count += 1;
                self.problems.push(format!(
                    "{name} at {width} px ({scheme}): axe {} ({}) at `{}`: {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    node["target"].as_str().unwrap_or("?"),
                    node["summary"].as_str().unwrap_or("?").replace('\n', " "),
                ));
            }
        }
        Ok(count)
    }

    /// Goes to `path` on `base` and checks the page.
    async fn visit(&mut self, name: &str, url: &str) -> Result<(), CmdError> {
        self.browser.goto(url).await?;
        self.page(name).await
    }

    fn report(self) {
        eprintln!("axe-core violations (elements) per page, width and scheme:");
        for (name, width, scheme, found) in &self.results {
            eprintln!("  {name:<28} {width:>5} px  {scheme:<5}  {found}");
        }
        eprintln!("screenshots: {}", self.shots.display());
        assert!(
            self.problems.is_empty(),
            "{} accessibility problems:\n{}",
            self.problems.len(),
            self.problems.join("\n")
        );
    }
}

/// The screenshots' folder, kept after the test for people to look at.
fn screenshots() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taskr-screenshots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn fill(browser: &Client, id: &str, text: &str) -> Result<(), CmdError> {
    let field = browser.find(Locator::Id(id)).await?;
    field.clear().await?;
    field.send_keys(text).await
}

async fn submit(browser: &Client) -> Result<(), CmdError> {
    browser
        .find(Locator::Css("main form button[type=submit]"))
        .await?
        .click()
        .await
}

#[tokio::test]
async fn every_page_fits_a_phone_and_passes_axe_in_light_and_dark_mode() {
    let Some(session) = chromium("accessibility test").await else {
        return;
    };
    let browser = &session.client;
    let app = TestApp::spawn_with(TestOptions {
        sequencer: Some(Default::default()),
        ..Default::default()
    })
    .await;
    let mut audit = Audit {
        browser,
        axe: axe_source(),
        shots: screenshots(),
        problems: Vec::new(),
        results: Vec::new(),
    };
    let run = async {
        audit.visit("landing", &app.url("/")).await?;
        audit.visit("sign-up", &app.url("/signup")).await?;
        audit.visit("log-in", &app.url("/login")).await?;
        fill(browser, "username", "nobody-here").await?;
        fill(browser, "password", "not the password").await?;
        submit(browser).await?;
        browser
            .wait()
            .for_element(Locator::Css(".notice.error"))
            .await?;
        audit.page("log-in-with-error").await?;
        audit.visit("not-found", &app.url("/no-such-page")).await?;

        browser.goto(&app.url("/signup")).await?;
        fill(browser, "username", "a11y-user").await?;
        fill(browser, "password", "a long password").await?;
        submit(browser).await?;
        browser
            .wait()
            .for_element(Locator::LinkText("Connect Attio"))
            .await?;
        audit.page("tasks-not-connected").await?;
        audit.visit("settings", &app.url("/settings")).await?;
        audit.visit("connections", &app.url("/connections")).await?;

        browser.goto(&app.url("/tasks")).await?;
        browser
            .find(Locator::LinkText("Connect Attio"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Css("button[value=approve]"))
            .await?;
        audit.page("sandbox-consent").await?;
        browser
            .find(Locator::Css("button[value=approve]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Css("table.tasks"))
            .await?;
        audit.page("tasks").await?;
        let edit = browser
            .find(Locator::Css("a.row-action[href*='/edit']"))
            .await?
            .attr("href")
            .await?
            .expect("an edit link");
        let record = browser
            .find(Locator::Css("a.chip.record"))
            .await?
            .attr("href")
            .await?
            .expect("a linked record's link");
        let sequence = browser
            .find(Locator::Css("a.row-action[href*='/sequence']"))
            .await?
            .attr("href")
            .await?
            .expect("an add-to-sequence link");
        audit.visit("task-edit", &app.url(&edit)).await?;
        fill(browser, "deadline", "").await?;
        browser
            .execute(
                "document.getElementById('deadline').type = 'text'; document.getElementById('deadline').value = 'someday';",
                vec![],
            )
            .await?;
        submit(browser).await?;
        browser
            .wait()
            .for_element(Locator::Css(".notice.error"))
            .await?;
        audit.page("task-edit-with-error").await?;
        audit.visit("sequence", &app.url(&sequence)).await?;
        audit.visit("activity", &app.url("/activity")).await?;
        audit
            .visit("connections-connected", &app.url("/connections"))
            .await?;
        audit.visit("sandbox-record", &record).await?;
        audit
            .visit("sandbox-console", &format!("{}/", app.sandbox.base_url()))
            .await?;
        Ok::<_, CmdError>(())
    };
    let result = run.await;
    let _ = browser.clone().close().await;
    result.expect("the pages load");
    audit.report();
}

/// What has the keyboard focus: tag, text (or value), and whether its focus is drawn.
async fn focused(browser: &Client) -> Result<(String, String, bool), CmdError> {
    let about = browser
        .execute(
            "var e = document.activeElement; var s = getComputedStyle(e);
             return [e.tagName.toLowerCase(), (e.value || e.textContent || '').trim(),
                     s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2];",
            vec![],
        )
        .await?;
    Ok((
        about[0].as_str().unwrap_or_default().to_owned(),
        about[1].as_str().unwrap_or_default().to_owned(),
        about[2].as_bool().unwrap_or_default(),
    ))
}

async fn press(browser: &Client, key: Key) -> Result<(), CmdError> {
    let key: char = key.into();
    browser
        .perform_actions(
            KeyActions::new("keyboard".to_owned())
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key }),
        )
        .await
}

/// Presses Tab until the focus is on an element whose text (or value) is `text`, checking that
/// every element on the way shows its focus; returns what was focused on the way.
async fn tab_to(browser: &Client, text: &str) -> Result<Vec<String>, CmdError> {
    let mut path = Vec::new();
    for _ in 0..60 {
        press(browser, Key::Tab).await?;
        let (tag, label, visible) = focused(browser).await?;
        assert!(visible, "the focus on <{tag}> “{label}” is visible");
        path.push(label.clone());
        if label == text {
            return Ok(path);
        }
    }
    panic!("Tab never reached “{text}”; it went through {path:?}");
}

async fn wait_for_url(browser: &Client, part: &str) -> Result<(), CmdError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if browser.current_url().await?.as_str().contains(part) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the address never contained “{part}”");
}

#[tokio::test]
async fn a_person_signs_up_connects_and_syncs_with_the_keyboard_alone() {
    let Some(session) = chromium("keyboard test").await else {
        return;
    };
    let browser = &session.client;
    let app = TestApp::spawn().await;
    let run = async {
        browser.set_window_size(1280, 900).await?;
        browser.goto(&app.url("/")).await?;
        let path = tab_to(browser, "Skip to main content").await?;
        assert_eq!(path.len(), 1, "the skip link is the first stop");
        press(browser, Key::Enter).await?;
        // From the main content on, the next stop is the page's first action, not the menu.
        let path = tab_to(browser, "Sign up").await?;
        assert_eq!(
            path.len(),
            1,
            "after skipping, Tab lands in the main content"
        );
        press(browser, Key::Enter).await?;
        browser.wait().for_element(Locator::Id("username")).await?;
        assert_eq!(
            focused(browser).await?.0,
            "input",
            "the username field has the focus"
        );
        browser
            .active_element()
            .await?
            .send_keys("keyboard-user")
            .await?;
        press(browser, Key::Tab).await?;
        browser
            .active_element()
            .await?
            .send_keys("a long password")
            .await?;
        press(browser, Key::Enter).await?;
        browser
            .wait()
            .for_element(Locator::LinkText("Connect Attio"))
            .await?;
        tab_to(browser, "Connect Attio").await?;
        press(browser, Key::Enter).await?;
        browser
            .wait()
            .for_element(Locator::Css("button[value=approve]"))
            .await?;
        let path = tab_to(browser, "approve").await?;
        assert_eq!(path[0], "Skip to main content", "the sandbox's pages too");
        press(browser, Key::Enter).await?;
        browser
            .wait()
            .for_element(Locator::Css("table.tasks"))
            .await?;
        // On a first visit zone.js reports the browser's time zone and may show the page again;
        // the walk goes on on a page that stays.
        wait_until("the browser's zone", Duration::from_secs(10), || async {
            app.count("SELECT COUNT(*) FROM users WHERE time_zone IS NOT NULL")
                .await
                == 1
        })
        .await;
        browser.goto(&app.url("/tasks")).await?;
        browser
            .wait()
            .for_element(Locator::Css("table.tasks"))
            .await?;
        let path = tab_to(browser, "Sync now").await?;
        assert_eq!(path[0], "Skip to main content");
        assert_eq!(&path[1], "Taskr", "then the menu, in reading order");
        assert_eq!(&path[2], "Tasks");
        press(browser, Key::Enter).await?;
        wait_for_url(browser, "notice=synced").await?;
        Ok::<_, CmdError>(())
    };
    let result = run.await;
    let _ = browser.clone().close().await;
    result.expect("the keyboard journey");
    assert!(
        app.count("SELECT COUNT(*) FROM users").await == 1,
        "the account exists"
    );
}

#[tokio::test]
async fn a_person_signs_up_connects_and_syncs_with_javascript_off() {
    let Some(session) = chromium("no-JavaScript test").await else {
        return;
    };
    let browser = &session.client;
    let app = TestApp::spawn().await;
    let run = async {
        browser.goto(&app.url("/")).await?;
        browser
            .issue_cmd(Cdp(json!({
                "cmd": "Emulation.setScriptExecutionDisabled",
                "params": {"value": true},
            })))
            .await?;
        browser.goto(&app.url("/signup")).await?;
        fill(browser, "username", "no-script-user").await?;
        fill(browser, "password", "a long password").await?;
        submit(browser).await?;
        browser
            .wait()
            .for_element(Locator::LinkText("Connect Attio"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Css("button[value=approve]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Css("table.tasks"))
            .await?;
        browser
            .find(Locator::XPath("//button[normalize-space()='Sync now']"))
            .await?
            .click()
            .await?;
        wait_for_url(browser, "notice=synced").await?;
        // A page fully loaded (its deferred scripts would have run by then).
        browser.goto(&app.url("/tasks")).await?;
        let following = browser.source().await?;
        Ok::<_, CmdError>(following)
    };
    let result = run.await;
    let _ = browser.clone().close().await;
    let page = result.expect("the journey without JavaScript");
    assert!(
        !page.contains("data-live-stream"),
        "no script ran: live updates never started"
    );
    assert!(page.contains("class=\"tasks\""), "the tasks are listed");
}
