//! Who is asking: every visitor carries a random session id in an `HttpOnly` cookie. Logged-in
//! sessions are rows keyed by a keyed hash of that id. CSRF tokens are an HMAC of the id, so
//! anonymous forms (sign-up, log-in) are protected without storing anything, and every
//! state-changing request is checked here, before any handler runs.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::crypto::random_token;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::User;

pub const COOKIE_NAME: &str = "taskr_session";
/// Logged-in sessions last 30 days.
pub const SESSION_TTL_SECS: i64 = 30 * 24 * 3600;
/// Forms are small; anything larger than this is refused before it is parsed.
pub const FORM_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct Visitor {
    session_id: String,
    pub user: Option<User>,
    pub csrf_token: String,
}

impl std::fmt::Debug for Visitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Visitor")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Visitor {
    /// The keyed hash under which the session (and anything bound to it) is stored.
    pub fn session_hash(&self, state: &AppState) -> Vec<u8> {
        session_hash(state, &self.session_id)
    }

    pub fn require_user(&self, next: &str) -> Result<&User, AppError> {
        self.user.as_ref().ok_or_else(|| AppError::LoginRequired {
            next: next.to_owned(),
        })
    }
}

pub fn session_hash(state: &AppState, session_id: &str) -> Vec<u8> {
    state
        .cipher
        .mac(crate::crypto::purposes::SESSION, session_id.as_bytes())
        .to_vec()
}

fn csrf_token(state: &AppState, session_id: &str) -> String {
    hex::encode(
        state
            .cipher
            .mac(crate::crypto::purposes::CSRF, session_id.as_bytes()),
    )
}

/// The `Set-Cookie` value for a session id.
pub fn session_cookie(state: &AppState, session_id: &str) -> HeaderValue {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE_NAME}={session_id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL_SECS}{secure}"
    );
    HeaderValue::from_str(&cookie).expect("session ids are URL-safe base64")
}

/// Starts a fresh logged-in session for `user` (a new id: the old one is never promoted) and
/// returns the cookie to set.
pub async fn start_session(
    state: &AppState,
    old: &Visitor,
    user: &User,
) -> Result<HeaderValue, AppError> {
    let now = crate::now();
    state.store.delete_session(&old.session_hash(state)).await?;
    if let Some(previous) = &old.user {
        state.coordinator.user_changed(previous.id);
    }
    let session_id = random_token();
    state
        .store
        .create_session(
            &session_hash(state, &session_id),
            user.id,
            now,
            now + SESSION_TTL_SECS,
        )
        .await?;
    Ok(session_cookie(state, &session_id))
}

/// Ends the session and hands out a new anonymous id.
pub async fn end_session(state: &AppState, visitor: &Visitor) -> Result<HeaderValue, AppError> {
    state
        .store
        .delete_session(&visitor.session_hash(state))
        .await?;
    if let Some(user) = &visitor.user {
        state.coordinator.user_changed(user.id);
    }
    Ok(session_cookie(state, &random_token()))
}

/// The values of the cookies called `name` in a request's `Cookie` headers.
pub fn cookie_values<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(cookie, _)| *cookie == name)
        .map(|(_, value)| value)
}

fn cookie_session_id(parts: &Parts) -> Option<String> {
    cookie_values(&parts.headers, COOKIE_NAME)
        .next()
        .map(str::to_owned)
        // Only ids of the shape Taskr hands out are accepted; anything else starts afresh.
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Where to come back to after connecting: the page itself for a GET; for a form post, the
/// page the form was on (a same-origin `Referer`), or home.
fn return_path(parts: &Parts) -> String {
    if parts.method == Method::GET {
        return parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
    }
    let referer = parts
        .headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok());
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    match (referer, host) {
        (Some(url), Some(host))
            if url
                .host_str()
                .map(|h| match url.port() {
                    Some(port) => format!("{h}:{port}"),
                    None => h.to_owned(),
                })
                .as_deref()
                == Some(host) =>
        {
            let mut path = url.path().to_owned();
            if let Some(q) = url.query() {
                path.push('?');
                path.push_str(q);
            }
            super::safe_next(Some(&path))
        }
        _ => "/".to_owned(),
    }
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Middleware: identifies the visitor, enforces CSRF on every unsafe method, and sets the
/// session cookie for a new visitor unless the handler set one itself.
pub async fn visitor_layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let existing = cookie_session_id(&parts);
    let is_new = existing.is_none();
    let session_id = existing.unwrap_or_else(random_token);

    // A visitor without a cookie has just been given an id: nobody can be logged in with it.
    let user = if is_new {
        None
    } else {
        match state
            .coordinator
            .read_model()
            .session(
                state.store.as_ref(),
                &session_hash(&state, &session_id),
                crate::now(),
            )
            .await
        {
            Ok(user) => user,
            Err(e) => return AppError::from(e).into_response(),
        }
    };
    let visitor = Visitor {
        csrf_token: csrf_token(&state, &session_id),
        session_id: session_id.clone(),
        user,
    };

    let body = if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        body
    } else {
        let bytes = match to_bytes(body, FORM_LIMIT).await {
            Ok(bytes) => bytes,
            Err(_) => return AppError::PayloadTooLarge.into_response(),
        };
        let sent = if is_form(&parts) {
            form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v.into_owned())
        } else {
            None
        };
        let valid = sent
            .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(visitor.csrf_token.as_bytes())));
        if !valid {
            tracing::warn!(
                path = parts.uri.path(),
                "rejected a request without a valid CSRF token"
            );
            return AppError::Csrf.into_response();
        }
        Body::from(bytes)
    };

    parts.extensions.insert(visitor.clone());
    let return_to = return_path(&parts);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(prompt) = response
        .extensions_mut()
        .remove::<crate::error::PendingPrompt>()
    {
        response = super::connections::prompt_page(&visitor, &prompt.0, &return_to);
    }
    let handler_set_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(COOKIE_NAME.as_bytes()));
    if is_new && !handler_set_cookie {
        response
            .headers_mut()
            .append(SET_COOKIE, session_cookie(&state, &session_id));
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("visitor layer is not installed")))
    }
}
