//! A person's way through Taskr before the load starts: sign up, connect Attio through the
//! sandbox's consent form (the flow of `TestApp::user` and `TestApp::connect` in the tests),
//! and wait for pages to show what the bench needs. It keeps cookies and does not follow
//! redirects, like the tests' browser.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use url::Url;

use crate::forms::{form_value, selected_option};

const USERNAME: &str = "bench";
const PASSWORD: &str = "correct horse battery";

pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: Url,
}

fn location(response: &Response) -> Result<String> {
    let value = response
        .headers()
        .get(LOCATION)
        .with_context(|| format!("no Location header on a {}", response.status()))?;
    Ok(value.to_str()?.to_owned())
}

/// N of a paged list's "Showing a–b of N." (the tasks page and the activity feed).
pub fn page_total(html: &str) -> Option<u64> {
    let showing = html.find("Showing ")?;
    let of = html[showing..].find(" of ")? + showing + " of ".len();
    let digits: String = html[of..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

async fn expect_redirect(response: Response, what: &str) -> Result<String> {
    let status = response.status();
    ensure!(
        status.is_redirection(),
        "{what}: expected a redirect, got {status}"
    );
    location(&response)
}

impl Browser {
    pub fn new(base: &str) -> Result<Self> {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .no_proxy()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            jar,
            base: Url::parse(base)?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// A page's HTML; anything but a 200 is an error.
    pub async fn page(&self, path: &str) -> Result<String> {
        let response = self.client.get(self.url(path)).send().await?;
        ensure!(
            response.status() == StatusCode::OK,
            "GET {path}: {}",
            response.status()
        );
        Ok(response.text().await?)
    }

    pub async fn sign_up(&self) -> Result<()> {
        let form = self.page("/login").await?;
        let csrf = form_value(&form, "csrf_token").context("a CSRF token on /login")?;
        let response = self
            .client
            .post(self.url("/signup"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", USERNAME),
                ("password", PASSWORD),
            ])
            .send()
            .await?;
        ensure!(
            response.status() == StatusCode::SEE_OTHER,
            "sign-up answered {}",
            response.status()
        );
        Ok(())
    }

    /// "Connect Attio", approved on the sandbox's consent page as the member it selects.
    pub async fn connect(&self, sandbox_base: &str) -> Result<()> {
        let start = self
            .client
            .get(self.url("/integrations/attio/connect"))
            .send()
            .await?;
        let authorize = expect_redirect(start, "connect").await?;
        ensure!(authorize.starts_with(sandbox_base), "sent to {authorize}");
        let consent = self.client.get(&authorize).send().await?;
        ensure!(
            consent.status() == StatusCode::OK,
            "consent page: {}",
            consent.status()
        );
        let html = consent.text().await?;
        let request_id =
            form_value(&html, "request_id").context("request_id on the consent page")?;
        let member = selected_option(&html).context("a member on the consent page")?;
        let answer = self
            .client
            .post(format!("{sandbox_base}/authorize"))
            .form(&[
                ("request_id", request_id.as_str()),
                ("decision", "approve"),
                ("member_id", member.as_str()),
            ])
            .send()
            .await?;
        let callback = expect_redirect(answer, "consent").await?;
        ensure!(
            callback.starts_with(&self.url("/integrations/attio/callback")),
            "the sandbox sent the browser to {callback}"
        );
        let done = self.client.get(&callback).send().await?;
        expect_redirect(done, "callback").await?;
        Ok(())
    }

    /// Polls `path` until its list total satisfies `done`; returns the total.
    pub async fn wait_for_total(
        &self,
        path: &str,
        what: &str,
        limit: Duration,
        done: impl Fn(u64) -> bool,
    ) -> Result<u64> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let total = page_total(&self.page(path).await?);
            if let Some(total) = total.filter(|t| done(*t)) {
                return Ok(total);
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "{path} did not show {what} within {limit:?} (last total: {total:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `Cookie` header a browser would send with the signed-in session, and nothing else
    /// (the sandbox on the same host may have set cookies of its own).
    pub fn session_cookie(&self) -> Result<String> {
        let name = taskr::web::session::COOKIE_NAME;
        let header = self
            .jar
            .cookies(&self.base)
            .context("no cookies for Taskr")?;
        header
            .to_str()?
            .split(';')
            .map(str::trim)
            .find(|pair| pair.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .context("no session cookie")
    }
}
