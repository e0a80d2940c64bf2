//! `POST /oauth/token` (authorization-code exchange, RFC 6749 §4.1.3) and `POST /oauth/revoke`
//! (RFC 7009 as Attio documents it).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::error::{ApiError, OAuthError};
use super::extract::{bearer_token, body_rejection, pairs, single, CredentialError};
use crate::ids::secrets_equal;
use crate::store::RedeemError;
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/oauth/token", post(exchange_code))
        .route("/oauth/revoke", post(revoke))
}

async fn exchange_code(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = body
        .map_err(|_| OAuthError::bad_request("invalid_request", "The body could not be read."))?;
    let params = token_params(&headers, &body)?;
    let param = |name| {
        single(&params, name)
            .map(|v| v.filter(|v| !v.is_empty()))
            .map_err(|m| OAuthError::bad_request("invalid_request", m))
    };
    let basic = basic_credentials(&headers)?;
    let used_basic = basic.is_some();
    let (client_id, client_secret) = match basic {
        Some((id, secret)) => {
            if param("client_id")?.is_some_and(|body_id| body_id != id)
                || param("client_secret")?.is_some()
            {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    "Authenticate the client with HTTP Basic or with body fields, not both.",
                ));
            }
            (id, secret)
        }
        None => (
            param("client_id")?.unwrap_or_default().to_owned(),
            param("client_secret")?.unwrap_or_default().to_owned(),
        ),
    };

    let mut store = sandbox.store();
    let authenticated = store
        .app(&client_id)
        .is_some_and(|app| secrets_equal(&app.client_secret, &client_secret));
    if !authenticated {
        return Err(OAuthError::invalid_client(
            "Client authentication failed.",
            used_basic,
        ));
    }
    match param("grant_type")? {
        None => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "grant_type is required.",
            ))
        }
        Some("authorization_code") => {}
        Some(_) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "Only the authorization_code grant is supported.",
            ))
        }
    }
    let code = param("code")?
        .ok_or_else(|| OAuthError::bad_request("invalid_request", "code is required."))?;
    let token = store
        .redeem_code(&client_id, code, param("redirect_uri")?)
        .map_err(|e| {
            let description = match e {
                RedeemError::Unknown => "The authorization code is invalid.",
                RedeemError::AlreadyUsed => {
                    "The authorization code was already used; the token issued from it is revoked."
                }
                RedeemError::Expired => "The authorization code has expired.",
                RedeemError::OtherClient => "The authorization code was issued to another client.",
                RedeemError::RedirectMismatch => {
                    "redirect_uri does not match the one used in the authorization request."
                }
            };
            OAuthError::bad_request("invalid_grant", description)
        })?;
    drop(store);
    let mut response =
        Json(json!({ "access_token": token, "token_type": "Bearer" })).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Body parameters: a form (what Attio's tutorial sends) or a JSON object of strings.
fn token_params(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Ok(pairs(body));
    }
    let invalid = || {
        OAuthError::bad_request(
            "invalid_request",
            "The JSON body must be an object of string values.",
        )
    };
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid());
    };
    object
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(invalid()),
        })
        .collect()
}

/// Client credentials from `Authorization: Basic` (each part form-urlencoded, RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client("The Basic credentials are unreadable.", true);
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

fn form_decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn revoke(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let body = body.map_err(body_rejection)?;
    let from_header = match bearer_token(&headers) {
        Ok(token) => Some(token),
        Err(CredentialError::Missing) => None,
        Err(CredentialError::Malformed) => {
            return Err(ApiError::validation(
                "The Authorization header must be \"Bearer <token>\".",
            ))
        }
    };
    let form = pairs(&body);
    let from_body = single(&form, "token")
        .map_err(ApiError::validation)?
        .filter(|t| !t.is_empty());
    let token = match (from_header.as_deref(), from_body) {
        (None, None) => {
            return Err(ApiError::validation(
                "Send the token in the Authorization header or as the form field \"token\".",
            ))
        }
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::validation(
                "The token in the Authorization header and the one in the body differ.",
            ))
        }
        (Some(token), _) | (None, Some(token)) => token,
    };
    sandbox.store().revoke_token(token);
    Ok(StatusCode::NO_CONTENT)
}
