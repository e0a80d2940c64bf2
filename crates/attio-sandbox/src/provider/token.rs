//! `POST /provider/token` (authorization-code and refresh-token grants, RFC 6749 §4.1.3 and §6)
//! and `POST /provider/revoke` (RFC 7009).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::client::{authenticate, pairs, single};
use super::error::TokenError;
use super::grants::{GrantError, Issued};
use super::Provider;

pub(super) fn router() -> Router<Provider> {
    Router::new()
        .route("/provider/token", post(token))
        .route("/provider/revoke", post(revoke))
}

fn duplicate(_: &str) -> TokenError {
    TokenError::invalid_request("A parameter was given more than once.")
}

#[tracing::instrument(name = "provider.token", skip_all)]
async fn token(
    State(provider): State<Provider>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TokenError> {
    let params = body.as_deref().map(pairs).unwrap_or_default();
    let grant_type = single(&params, "grant_type");
    let is_refresh = grant_type == Ok(Some("refresh_token"));
    let mut store = provider.store();
    store.token_requests += 1;
    if is_refresh {
        store.refresh_requests += 1;
        if let Some((status, error)) = store.take_refresh_failure() {
            return Err(TokenError::injected(status, &error));
        }
    }
    if body.is_err() {
        return Err(TokenError::invalid_request("The body could not be read."));
    }
    authenticate(&store.config, &headers, &params)?;
    let param = |name| single(&params, name).map_err(duplicate);
    let store = &mut *store;
    let issued = match grant_type.map_err(duplicate)? {
        None => return Err(TokenError::invalid_request("grant_type is required.")),
        Some("authorization_code") => {
            let code = param("code")?.ok_or(TokenError::invalid_request("code is required."))?;
            store.grants.redeem(
                &store.config,
                code,
                param("redirect_uri")?,
                param("code_verifier")?,
            )
        }
        Some("refresh_token") => {
            let refresh = param("refresh_token")?
                .ok_or(TokenError::invalid_request("refresh_token is required."))?;
            let scope = param("scope")?
                .map(|s| {
                    s.split(' ')
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .filter(|scopes: &Vec<String>| !scopes.is_empty());
            store.grants.refresh(&store.config, refresh, scope)
        }
        Some(_) => return Err(TokenError::unsupported_grant_type()),
    };
    let issued = issued.map_err(|e| match e {
        GrantError::ScopeWidened => TokenError::invalid_scope(e.description()),
        other => TokenError::invalid_grant(other.description()),
    })?;
    Ok(token_response(issued))
}

fn token_response(issued: Issued) -> Response {
    let mut body = Map::new();
    body.insert("access_token".into(), issued.access_token.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("expires_in".into(), issued.expires_in.into());
    if let Some(refresh) = issued.refresh_token {
        body.insert("refresh_token".into(), refresh.into());
    }
    body.insert("scope".into(), issued.scopes.join(" ").into());
    let mut response = Json(Value::Object(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Always 200 for an authenticated, well-formed request, whether or not the token was known
/// (RFC 7009 §2.2), so revocation cannot be used to probe for valid tokens.
#[tracing::instrument(name = "provider.revoke", skip_all)]
async fn revoke(
    State(provider): State<Provider>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TokenError> {
    let body = body.map_err(|_| TokenError::invalid_request("The body could not be read."))?;
    let params = pairs(&body);
    let mut store = provider.store();
    authenticate(&store.config, &headers, &params)?;
    let token = single(&params, "token")
        .map_err(duplicate)?
        .ok_or(TokenError::invalid_request("token is required."))?;
    // `token_type_hint` is not needed (RFC 7009 §2.1 lets the server search all kinds): access
    // and refresh tokens are distinct random values, so one lookup of each cannot mismatch.
    single(&params, "token_type_hint").map_err(duplicate)?;
    if store.grants.revoke(token) {
        store.revoked_tokens += 1;
    }
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
    )
        .into_response())
}
