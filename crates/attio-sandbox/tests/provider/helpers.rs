//! Spawning a provider and walking the authorization-code flow, so each test states only what
//! it checks.

use attio_sandbox::provider::{Provider, ProviderConfig};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::LOCATION;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use url::Url;

pub const CLIENT_ID: &str = "taskr-test";
pub const CLIENT_SECRET: &str = "taskr-test-secret";
pub const REDIRECT_URI: &str = "http://127.0.0.1:3050/connections/sequencer/callback";
pub const STATE: &str = "state-123";
/// RFC 7636 appendix B's verifier.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn config() -> ProviderConfig {
    ProviderConfig {
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        ..Default::default()
    }
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub struct TestProvider {
    pub provider: Provider,
    pub base: String,
    pub http: reqwest::Client,
}

/// Tokens from one completed flow.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

pub async fn spawn() -> TestProvider {
    spawn_with(config()).await
}

pub async fn spawn_with(config: ProviderConfig) -> TestProvider {
    let provider = Provider::new(config);
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("binds a free port");
    let addr = listener.local_addr().expect("has an address");
    let app = provider.router();
    // The server dies with the test's runtime.
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds");
    TestProvider {
        provider,
        base: format!("http://{addr}"),
        http,
    }
}

/// The authorize parameters of a well-behaved client using PKCE.
pub fn authorize_params() -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("state", STATE),
        ("scope", "sequences:read enrollments:write"),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `params` with `name` set to `value`, or removed when `value` is `None`.
pub fn with(
    mut params: Vec<(String, String)>,
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    params.retain(|(k, _)| k != name);
    if let Some(value) = value {
        params.push((name.to_owned(), value.to_owned()));
    }
    params
}

/// The hidden `request_id` of a consent page.
pub fn request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("the page has a request_id") + marker.len();
    let len = html[start..].find('"').expect("the value is quoted");
    html[start..start + len].to_owned()
}

/// The `Location` of a 302, parsed.
pub fn location(response: &Response) -> Url {
    assert_eq!(response.status(), StatusCode::FOUND, "expected a redirect");
    let location = response
        .headers()
        .get(LOCATION)
        .expect("a redirect has a Location")
        .to_str()
        .expect("Location is ASCII");
    Url::parse(location).expect("Location is an absolute URL")
}

pub fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl TestProvider {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn authorize(&self, params: &[(String, String)]) -> Response {
        self.http
            .get(self.url("/provider/authorize"))
            .query(params)
            .send()
            .await
            .expect("authorize answers")
    }

    pub async fn answer(&self, request_id: &str, decision: &str) -> Response {
        self.http
            .post(self.url("/provider/authorize"))
            .form(&[("request_id", request_id), ("decision", decision)])
            .send()
            .await
            .expect("consent answers")
    }

    /// Shows the consent page for `params` and answers it; returns the redirect.
    pub async fn consent(&self, params: &[(String, String)], decision: &str) -> Url {
        let page = self.authorize(params).await;
        assert_eq!(page.status(), StatusCode::OK, "the consent page is shown");
        let html = page.text().await.expect("page body");
        let redirect = self.answer(&request_id(&html), decision).await;
        location(&redirect)
    }

    /// An authorization code for `params`, approved.
    pub async fn code_for(&self, params: &[(String, String)]) -> String {
        let back = self.consent(params, "approve").await;
        assert_eq!(query(&back, "state").as_deref(), Some(STATE));
        query(&back, "code").expect("approval carries a code")
    }

    /// Posts a form to the token endpoint with the client's credentials in the body.
    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = form.to_vec();
        form.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
        let response = self
            .http
            .post(self.url("/provider/token"))
            .form(&form)
            .send()
            .await
            .expect("token answers");
        read_json(response).await
    }

    pub async fn exchange(&self, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.token(&form).await
    }

    /// The whole PKCE flow: consent, approval, exchange.
    pub async fn grant(&self) -> Tokens {
        let code = self.code_for(&authorize_params()).await;
        let (status, body) = self.exchange(&code, Some(VERIFIER)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Tokens {
            access: string(&body, "access_token"),
            refresh: string(&body, "refresh_token"),
        }
    }

    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// Calls the protected APIs with an optional bearer token and JSON body.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read_json(request.send().await.expect("the API answers")).await
    }

    pub async fn sequences(&self, token: &str) -> StatusCode {
        self.api(Method::GET, "/sequencer/v1/sequences", Some(token), None)
            .await
            .0
    }
}

/// Status and JSON body (`Value::Null` when the body is empty).
pub async fn read_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.expect("body reads");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("the body is JSON")
    };
    (status, body)
}

pub fn string(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string in {body}"))
        .to_owned()
}
