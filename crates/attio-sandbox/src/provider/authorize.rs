//! `GET/POST /provider/authorize`: the consent page. A request whose client or redirect URI
//! cannot be verified gets an HTML error page and is never redirected (RFC 6749 §4.1.2.1);
//! every later problem is reported to the client by redirect.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use url::Url;

use super::client::{pairs, single};
use super::error::{render_page, PageError};
use super::grants::{Pending, Subject};
use super::secrets::{is_pkce_value, subject_for};
use super::sequences::is_valid_email;
use super::Provider;

/// Scopes granted when the client asks for none.
const DEFAULT_SCOPES: [&str; 2] = ["sequences:read", "enrollments:write"];
/// Who approves when the client sends no usable `login_hint`.
const DEFAULT_EMAIL: &str = "demo@sequencer.test";
const STYLESHEET: &str = include_str!("../../templates/provider/provider.css");

pub(super) fn router() -> Router<Provider> {
    Router::new()
        .route(
            "/provider/authorize",
            get(show_consent).post(answer_consent),
        )
        .route("/provider/provider.css", get(stylesheet))
}

#[derive(Template)]
#[template(path = "provider/consent.html")]
struct ConsentPage {
    client_id: String,
    scopes: Vec<String>,
    email: String,
    request_id: String,
    redirect_origin: String,
}

#[tracing::instrument(name = "provider.authorize", skip_all)]
async fn show_consent(
    State(provider): State<Provider>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let duplicate = |_| PageError::new("Invalid request", "A parameter was given more than once.");
    let client_id = single(&params, "client_id").map_err(duplicate)?;
    let redirect_uri = single(&params, "redirect_uri").map_err(duplicate)?;

    let mut store = provider.store();
    if client_id != Some(store.config.client_id.as_str()) {
        return Err(PageError::new(
            "Unknown application",
            "No application with this client_id is registered with Sequencer.",
        ));
    }
    let redirect_uri = redirect_uri
        .filter(|uri| store.config.redirect_uris.iter().any(|r| r == uri))
        .ok_or(PageError::new(
            "Invalid redirect URI",
            "The redirect_uri is missing or is not one registered for this application.",
        ))?;
    let redirect_url = parse_redirect(redirect_uri)?;

    // The redirect URI is trusted from here on: problems go back to the client.
    let state = single(&params, "state").ok().flatten();
    let fail = |error: &str, description: &str| {
        redirect(
            redirect_url.clone(),
            &[("error", error), ("error_description", description)],
            state,
        )
    };
    let Ok(params) = AuthorizeParams::read(&params) else {
        return fail("invalid_request", "A parameter was given more than once.");
    };
    match params.response_type {
        Some("code") => {}
        None => return fail("invalid_request", "response_type is required."),
        Some(_) => return fail("unsupported_response_type", "Only response_type=code."),
    }
    let Some(scopes) = parse_scopes(params.scope) else {
        return fail("invalid_scope", "The scope is malformed.");
    };
    let code_challenge = match (params.code_challenge, params.code_challenge_method) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if is_pkce_value(challenge) => Some(challenge.to_owned()),
        (Some(_), Some("S256")) => {
            return fail("invalid_request", "The code_challenge is malformed.")
        }
        (Some(_), _) => {
            return fail("invalid_request", "code_challenge_method must be S256.");
        }
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge.",
            );
        }
    };
    let email = params
        .login_hint
        .filter(|hint| is_valid_email(hint))
        .unwrap_or(DEFAULT_EMAIL)
        .to_owned();
    let subject = Subject {
        sub: subject_for(&email),
        email: email.clone(),
    };
    let request_id = store.grants.begin(Pending::new(
        redirect_uri.to_owned(),
        state.map(str::to_owned),
        scopes.clone(),
        code_challenge,
        subject,
    ));
    drop(store);
    let page = ConsentPage {
        client_id: params.client_id.to_owned(),
        scopes,
        email,
        request_id,
        redirect_origin: redirect_url.origin().ascii_serialization(),
    };
    Ok(render_page(StatusCode::OK, &page))
}

/// The authorization parameters read after the client is verified; others are ignored.
struct AuthorizeParams<'a> {
    client_id: &'a str,
    response_type: Option<&'a str>,
    scope: Option<&'a str>,
    code_challenge: Option<&'a str>,
    code_challenge_method: Option<&'a str>,
    login_hint: Option<&'a str>,
}

impl<'a> AuthorizeParams<'a> {
    fn read(params: &'a [(String, String)]) -> Result<Self, &'static str> {
        // `state` was read leniently to report errors; a duplicate is still an error.
        single(params, "state")?;
        Ok(AuthorizeParams {
            client_id: single(params, "client_id")?.unwrap_or_default(),
            response_type: single(params, "response_type")?,
            scope: single(params, "scope")?,
            code_challenge: single(params, "code_challenge")?,
            code_challenge_method: single(params, "code_challenge_method")?,
            login_hint: single(params, "login_hint")?,
        })
    }
}

/// Space-separated scope tokens of RFC 6749 §3.3 characters, without duplicates; the default
/// set when none are asked for; `None` when a token has a forbidden character.
fn parse_scopes(scope: Option<&str>) -> Option<Vec<String>> {
    let mut scopes: Vec<String> = Vec::new();
    for token in scope
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
    {
        let valid = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return None;
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    if scopes.is_empty() {
        scopes = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    }
    Some(scopes)
}

#[tracing::instrument(name = "provider.consent", skip_all)]
async fn answer_consent(
    State(provider): State<Provider>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let form = body.as_deref().map(pairs).unwrap_or_default();
    let invalid = || {
        PageError::new(
            "Invalid request",
            "The form must carry one request_id and a decision of \"approve\" or \"deny\".",
        )
    };
    let approve = match single(&form, "decision").map_err(|_| invalid())? {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(invalid()),
    };
    let request_id = single(&form, "request_id")
        .map_err(|_| invalid())?
        .ok_or_else(invalid)?;
    let mut store = provider.store();
    let pending = store.grants.take_pending(request_id).ok_or(PageError::new(
        "Request expired",
        "This authorization request is unknown, has expired or was already answered. \
         Start again from the application.",
    ))?;
    let redirect_url = parse_redirect(&pending.redirect_uri)?;
    let state = pending.state.clone();
    if !approve {
        return redirect(
            redirect_url,
            &[("error", "access_denied")],
            state.as_deref(),
        );
    }
    let code = store.grants.issue_code(pending);
    drop(store);
    redirect(redirect_url, &[("code", &code)], state.as_deref())
}

fn parse_redirect(uri: &str) -> Result<Url, PageError> {
    Url::parse(uri).map_err(|_| {
        PageError::new(
            "Invalid redirect URI",
            "The application's registered redirect_uri is not an absolute URL.",
        )
    })
}

/// A 302 to the client with `params` and `state` added to the redirect URI's own query.
fn redirect(url: Url, params: &[(&str, &str)], state: Option<&str>) -> Result<Response, PageError> {
    crate::pages::redirect_to_client(url, params, state)
        .ok_or_else(|| PageError::new("Invalid redirect URI", "The redirect URI cannot be used."))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}
