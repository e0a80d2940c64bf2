//! Sign-up, log-in and log-out pages. Bad input comes back on the form with a message and what
//! the user typed (never the password); log-in and sign-up are rate limited per client address,
//! and failed log-ins are throttled per account (see `accounts::throttle`).

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::{render, safe_next, session, ClientAddr, Nav, Visitor};
use crate::accounts::{self, AccountError, Password, Username};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout_page).post(logout))
}

#[derive(Template)]
#[template(path = "auth_form.html")]
struct AuthForm {
    nav: Nav,
    heading: &'static str,
    action: &'static str,
    error: Option<String>,
    username: String,
    next: String,
    password_autocomplete: &'static str,
    switch_text: &'static str,
    switch_href: &'static str,
    switch_label: &'static str,
}

impl AuthForm {
    fn signup(visitor: &Visitor, username: String, error: Option<String>) -> Self {
        Self {
            nav: Nav::new(visitor, None),
            heading: "Sign up",
            action: "/signup",
            error,
            username,
            next: "/".to_owned(),
            password_autocomplete: "new-password",
            switch_text: "Already have an account?",
            switch_href: "/login",
            switch_label: "Log in",
        }
    }

    fn login(visitor: &Visitor, username: String, next: String, error: Option<String>) -> Self {
        Self {
            nav: Nav::new(visitor, None),
            heading: "Log in",
            action: "/login",
            error,
            username,
            next,
            password_autocomplete: "current-password",
            switch_text: "New to Taskr?",
            switch_href: "/signup",
            switch_label: "Sign up",
        }
    }
}

/// The same form again, with a status that says what went wrong.
fn form_error(status: StatusCode, form: AuthForm) -> Result<Response, AppError> {
    let mut response = render(&form)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The same form again, with a status and a `Retry-After`.
fn form_retry(status: StatusCode, form: AuthForm, wait: Duration) -> Result<Response, AppError> {
    let mut response = form_error(status, form)?;
    response
        .headers_mut()
        .insert(RETRY_AFTER, whole_secs(wait).into());
    Ok(response)
}

/// Whole seconds, rounded up (at least 1), so that a client that waits this long gets in.
fn whole_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

const BUSY_MESSAGE: &str =
    "Taskr is busy checking passwords right now. Please try again in a few seconds.";
const BUSY_RETRY: Duration = Duration::from_secs(2);

/// The cookie that marks a browser that has logged in to an account before.
const DEVICE_COOKIE: &str = "taskr_device";
const DEVICE_TTL_SECS: i64 = 365 * 24 * 3600;

fn device_token(state: &AppState, account_key: &str) -> String {
    hex::encode(state.cipher.mac(
        crate::crypto::purposes::KNOWN_DEVICE,
        account_key.as_bytes(),
    ))
}

/// Whether this browser has logged in to the account `account_key` before.
fn is_known_device(state: &AppState, headers: &HeaderMap, account_key: &str) -> bool {
    let expected = device_token(state, account_key);
    session::cookie_values(headers, DEVICE_COOKIE)
        .any(|value| subtle::ConstantTimeEq::ct_eq(value.as_bytes(), expected.as_bytes()).into())
}

fn device_cookie(state: &AppState, account_key: &str) -> HeaderValue {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{DEVICE_COOKIE}={}; Path=/login; HttpOnly; SameSite=Lax; Max-Age={DEVICE_TTL_SECS}{secure}",
        device_token(state, account_key)
    );
    HeaderValue::from_str(&cookie).expect("hex is a valid cookie value")
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// What a failed sign-up or log-in tells the visitor when the form does not answer it itself.
impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Busy => AppError::Busy {
                message: BUSY_MESSAGE,
                retry_after_secs: BUSY_RETRY.as_secs(),
            },
            AccountError::UsernameTaken
            | AccountError::UsernameLookalike
            | AccountError::BadCredentials => AppError::BadRequest(e.to_string()),
            AccountError::Store(e) => e.into(),
            AccountError::Hash(_) => AppError::Internal(e.into()),
        }
    }
}

async fn check_rate(state: &AppState, client: ClientAddr) -> Result<(), AppError> {
    if state.accounts.limits.check_address(client.0).await {
        return Ok(());
    }
    state
        .metrics
        .count(crate::metrics::AUTH_RATE_LIMITED, &[], 1);
    Err(AppError::RateLimited)
}

fn count_busy(state: &AppState) {
    state
        .metrics
        .count(crate::metrics::PASSWORD_QUEUE_REFUSALS, &[], 1);
}

fn logged_in_redirect(cookie: axum::http::HeaderValue, to: &str) -> Response {
    ([(SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

async fn signup_page(visitor: Visitor) -> Result<Response, AppError> {
    if visitor.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    render(&AuthForm::signup(&visitor, String::new(), None))
}

#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
    Form(form): Form<Credentials>,
) -> Result<Response, AppError> {
    check_rate(&state, client).await?;
    let typed = form.username.trim().to_owned();
    let parsed = Username::parse(&form.username)
        .and_then(|name| Password::parse(&form.password).map(|password| (name, password)));
    let (username, password) = match parsed {
        Ok(both) => both,
        Err(message) => {
            return form_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                AuthForm::signup(&visitor, typed, Some(message.to_owned())),
            )
        }
    };
    match accounts::sign_up(
        state.store.as_ref(),
        &state.accounts.hasher,
        &username,
        password,
        crate::now(),
    )
    .await
    {
        Ok(user) => {
            tracing::info!(user = %user.id, "signed up");
            let cookie = session::start_session(&state, &visitor, &user).await?;
            let mut response = logged_in_redirect(cookie, "/?notice=welcome");
            response
                .headers_mut()
                .append(SET_COOKIE, device_cookie(&state, &username.key()));
            Ok(response)
        }
        Err(AccountError::UsernameTaken) => form_error(
            StatusCode::CONFLICT,
            AuthForm::signup(
                &visitor,
                typed,
                Some("That username is taken. Try another one, or log in.".to_owned()),
            ),
        ),
        Err(AccountError::UsernameLookalike) => form_error(
            StatusCode::CONFLICT,
            AuthForm::signup(
                &visitor,
                typed,
                Some(
                    "That username looks too much like an existing one. Choose another.".to_owned(),
                ),
            ),
        ),
        Err(AccountError::Busy) => {
            count_busy(&state);
            form_retry(
                StatusCode::SERVICE_UNAVAILABLE,
                AuthForm::signup(&visitor, typed, Some(BUSY_MESSAGE.to_owned())),
                BUSY_RETRY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn login_page(
    visitor: Visitor,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    if visitor.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render(&AuthForm::login(&visitor, String::new(), next, None))
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<Credentials>,
) -> Result<Response, AppError> {
    check_rate(&state, client).await?;
    let next = safe_next(form.next.as_deref());
    let typed = form.username.trim().to_owned();
    if form.password.chars().count() > accounts::PASSWORD_MAX || typed.len() > 256 {
        return form_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            AuthForm::login(
                &visitor,
                String::new(),
                next,
                Some("Wrong username or password.".to_owned()),
            ),
        );
    }
    // A known device is throttled on its own count, so that nobody else's failures slow it.
    let account = accounts::key_of(&form.username);
    let throttle_key = if is_known_device(&state, &headers, &account) {
        format!("device:{account}")
    } else {
        format!("account:{account}")
    };
    if let Err(wait) = state.accounts.limits.check_account(&throttle_key).await {
        state
            .metrics
            .count(crate::metrics::LOGIN_THROTTLE_REFUSALS, &[], 1);
        let secs = whole_secs(wait);
        return form_retry(
            StatusCode::TOO_MANY_REQUESTS,
            AuthForm::login(
                &visitor,
                typed,
                next,
                Some(format!(
                    "Too many failed log-ins for this account. Try again in {secs} second{}.",
                    if secs == 1 { "" } else { "s" }
                )),
            ),
            wait,
        );
    }
    match accounts::log_in(
        state.store.as_ref(),
        &state.accounts.hasher,
        &form.username,
        &form.password,
    )
    .await
    {
        Ok(user) => {
            tracing::info!(user = %user.id, "logged in");
            state.accounts.limits.account_succeeded(&throttle_key).await;
            let cookie = session::start_session(&state, &visitor, &user).await?;
            let mut response = logged_in_redirect(cookie, &next);
            response
                .headers_mut()
                .append(SET_COOKIE, device_cookie(&state, &account));
            Ok(response)
        }
        Err(AccountError::BadCredentials) => {
            state.accounts.limits.account_failed(&throttle_key).await;
            form_error(
                StatusCode::UNAUTHORIZED,
                AuthForm::login(
                    &visitor,
                    typed,
                    next,
                    Some("Wrong username or password.".to_owned()),
                ),
            )
        }
        Err(AccountError::Busy) => {
            count_busy(&state);
            form_retry(
                StatusCode::SERVICE_UNAVAILABLE,
                AuthForm::login(&visitor, typed, next, Some(BUSY_MESSAGE.to_owned())),
                BUSY_RETRY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    nav: Nav,
}

/// The tutorial linked to `GET /logout`; logging out changes state, so it is a POST, and the
/// GET shows a button for it.
async fn logout_page(visitor: Visitor) -> Result<Response, AppError> {
    if visitor.user.is_none() {
        return Ok(Redirect::to("/").into_response());
    }
    render(&LogoutPage {
        nav: Nav::new(&visitor, None),
    })
}

async fn logout(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let cookie = session::end_session(&state, &visitor).await?;
    Ok(logged_in_redirect(cookie, "/?notice=logged-out"))
}
