//! Black-box conformance tests: each test spawns a sandbox on a free port and speaks HTTP to it,
//! checking the wire formats of attio-api.md; webhook tests receive deliveries on a recording
//! receiver of their own.

mod admin;
mod attributes;
mod console;
mod coverage;
mod events;
mod faults;
mod keep_alive;
mod limits;
mod lookup;
mod meetings;
mod members;
mod merge;
mod notes;
mod oauth;
mod objects;
mod persistence;
mod properties;
mod query;
mod receiver;
mod record_page;
mod recordings;
mod records;
mod schema;
mod scim;
mod scopes;
mod tasks;
mod threads;
mod values;
mod webhooks;
mod workspaces;

use attio_sandbox::{Config, Sandbox, SpawnedSandbox, DEFAULT_REDIRECT_URI};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct TestSandbox {
    pub spawned: SpawnedSandbox,
    pub http: reqwest::Client,
}

pub async fn spawn() -> TestSandbox {
    spawn_with(Config::default()).await
}

pub async fn spawn_with(config: Config) -> TestSandbox {
    serve(Sandbox::new(config)).await
}

/// Serves an already built sandbox (e.g. one opened on a data directory).
pub async fn serve(sandbox: Sandbox) -> TestSandbox {
    let spawned = sandbox.spawn().await.expect("sandbox binds a port");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds");
    TestSandbox { spawned, http }
}

impl TestSandbox {
    pub fn sandbox(&self) -> &Sandbox {
        &self.spawned.sandbox
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.spawned.base_url())
    }

    /// An API key with every scope.
    pub fn key(&self) -> String {
        self.sandbox().mint_api_key(None)
    }

    /// Sends a request with a bearer token and an optional JSON body; returns status and JSON
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let (status, answer) = read_json(request.send().await.expect("request is sent")).await;
        schema::assert_valid(method.as_str(), path, status.as_u16(), &answer);
        (status, answer)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// Opens the consent page for the default app and returns its request id.
    pub async fn open_consent(&self, state: Option<&str>) -> String {
        let mut query = vec![
            ("client_id", "sandbox-client"),
            ("response_type", "code"),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
        ];
        query.extend(state.map(|s| ("state", s)));
        let page = self.consent_page(&query).await;
        request_id(&page)
    }

    /// `GET /authorize` that must render the consent page; returns the HTML.
    pub async fn consent_page(&self, query: &[(&str, &str)]) -> String {
        let response = self
            .http
            .get(self.url("/authorize"))
            .query(query)
            .send()
            .await
            .expect("authorize answers");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("consent page body")
    }

    /// Answers a consent page; returns the response (a redirect or an error page).
    pub async fn answer(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/authorize"))
            .form(form)
            .send()
            .await
            .expect("consent answer is sent")
    }

    /// Runs the consent flow as `member` and returns the authorization code.
    pub async fn code_for(&self, member: uuid::Uuid) -> String {
        let request_id = self.open_consent(Some("st")).await;
        let member = member.to_string();
        let response = self
            .answer(&[
                ("request_id", &request_id),
                ("decision", "approve"),
                ("member_id", &member),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = url::Url::parse(location(&response)).expect("absolute redirect");
        query_value(&location, "code").expect("redirect carries a code")
    }

    pub async fn code(&self) -> String {
        self.code_for(self.sandbox().admin_member_id()).await
    }

    /// `POST /oauth/token` with client_secret_post credentials.
    pub async fn exchange(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .expect("token endpoint answers");
        read_json(response).await
    }

    /// The standard, valid exchange of `code` for the default app.
    pub async fn exchange_code(&self, code: &str) -> (StatusCode, Value) {
        self.exchange(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("client_id", "sandbox-client"),
            ("client_secret", "sandbox-secret"),
        ])
        .await
    }

    /// A fresh OAuth access token for the default app, authorised by the admin.
    pub async fn oauth_token(&self) -> String {
        let code = self.code().await;
        let (status, body) = self.exchange_code(&code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

pub async fn read_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body is readable");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is JSON ({e}): {text}"))
    };
    (status, value)
}

pub fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ASCII location")
}

pub fn query_value(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The hidden `request_id` of a consent page.
pub fn request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("the page has a request_id") + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

/// Asserts Attio's flat error shape: exactly the four fields, with these values.
#[track_caller]
pub fn assert_flat_error(status: StatusCode, body: &Value, expected: (u16, &str, &str)) {
    let (code, kind, error_code) = expected;
    assert_eq!(status.as_u16(), code, "status for {body}");
    let object = body.as_object().expect("error body is an object");
    assert_eq!(object.len(), 4, "exactly four fields in {body}");
    assert_eq!(body["status_code"], code, "{body}");
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["code"], error_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
}

/// Every timestamp Attio sends: `2022-11-21T13:22:49.061281000Z`.
#[track_caller]
pub fn assert_timestamp(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp string, got {value}"));
    let bytes = s.as_bytes();
    let shape_ok = s.len() == 30
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && bytes[29] == b'Z'
        && s[20..29].bytes().all(|b| b.is_ascii_digit());
    assert!(shape_ok, "timestamp shape: {s}");
}
