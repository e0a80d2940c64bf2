//! Sign-up, log-in and log-out pages. Bad input comes back on the form with a message and what
//! the user typed (never the password); log-in and sign-up are rate limited per client address.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::{render, safe_next, session, Nav, Visitor};
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

fn check_rate(state: &AppState, peer: SocketAddr) -> Result<(), AppError> {
    state
        .auth_limiter
        .check_key(&peer.ip())
        .map_err(|_| AppError::RateLimited)
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    visitor: Visitor,
    Form(form): Form<Credentials>,
) -> Result<Response, AppError> {
    check_rate(&state, peer)?;
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
    match accounts::sign_up(state.store.as_ref(), &username, password, crate::now()).await {
        Ok(user) => {
            tracing::info!(user = %user.id, "signed up");
            let cookie = session::start_session(&state, &visitor, &user).await?;
            Ok(logged_in_redirect(cookie, "/?notice=welcome"))
        }
        Err(AccountError::UsernameTaken) => form_error(
            StatusCode::CONFLICT,
            AuthForm::signup(
                &visitor,
                typed,
                Some("That username is taken. Try another one, or log in.".to_owned()),
            ),
        ),
        Err(e) => Err(AppError::Internal(e.into())),
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    visitor: Visitor,
    Form(form): Form<Credentials>,
) -> Result<Response, AppError> {
    check_rate(&state, peer)?;
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
    match accounts::log_in(state.store.as_ref(), &form.username, &form.password).await {
        Ok(user) => {
            tracing::info!(user = %user.id, "logged in");
            let cookie = session::start_session(&state, &visitor, &user).await?;
            Ok(logged_in_redirect(cookie, &next))
        }
        Err(AccountError::BadCredentials) => form_error(
            StatusCode::UNAUTHORIZED,
            AuthForm::login(
                &visitor,
                typed,
                next,
                Some("Wrong username or password.".to_owned()),
            ),
        ),
        Err(e) => Err(AppError::Internal(e.into())),
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
