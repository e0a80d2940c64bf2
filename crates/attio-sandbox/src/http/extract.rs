//! Request parsing at the edge: bearer credentials with scope checks, JSON and form bodies, query
//! strings. Each rejection is one of our own error shapes, never axum's plain-text rejections.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use crate::scopes::grants;
use crate::shared::WorkspaceGuard;
use crate::store::{Actor, Owner, TokenKind, WorkspaceKey};
use crate::Sandbox;

/// Why no token could be read from the `Authorization` header.
pub(crate) enum CredentialError {
    Missing,
    Malformed,
}

impl From<CredentialError> for ApiError {
    fn from(error: CredentialError) -> Self {
        ApiError::unauthenticated(match error {
            CredentialError::Missing => {
                "Missing Authorization header: send \"Authorization: Bearer <access token>\"."
            }
            CredentialError::Malformed => {
                "Unreadable Authorization header: use the Bearer scheme, or Basic with the token as username."
            }
        })
    }
}

/// Reads a token from `Authorization: Bearer X` or `Basic base64(X:)` (token as username).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<String, CredentialError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(CredentialError::Missing)?
        .to_str()
        .map_err(|_| CredentialError::Malformed)?;
    let (scheme, rest) = value
        .trim()
        .split_once(' ')
        .ok_or(CredentialError::Malformed)?;
    let rest = rest.trim();
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .map_err(|_| CredentialError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| CredentialError::Malformed)?;
        match decoded.split_once(':') {
            Some((user, _)) => user.to_owned(),
            None => decoded,
        }
    } else {
        return Err(CredentialError::Malformed);
    };
    if token.is_empty() {
        return Err(CredentialError::Malformed);
    }
    Ok(token)
}

/// The scopes one endpoint requires, as a type so that the check runs before the body is read.
pub(crate) trait ScopeSet {
    const REQUIRED: &'static [&'static str];
}

/// Declares a [`ScopeSet`] naming the scopes an operation requires.
macro_rules! scopes {
    ($name:ident, $($scope:literal),+) => {
        pub(crate) struct $name;
        impl ScopeSet for $name {
            const REQUIRED: &'static [&'static str] = &[$($scope),+];
        }
    };
}

// The configuration scopes, shared by objects, attributes, options and statuses, and lists.
scopes!(ReadObjectConfig, "object_configuration:read");
scopes!(WriteObjectConfig, "object_configuration:read-write");
scopes!(ReadListConfig, "list_configuration:read");
scopes!(WriteListConfig, "list_configuration:read-write");

/// The caller's active token, already checked against the scopes of `R`, and its workspace: the
/// only one [`Authorized::store`] opens, so a `/v2` handler cannot see another.
pub(crate) struct Authorized<R> {
    pub token_id: Uuid,
    workspace: WorkspaceKey,
    /// Who owns webhooks this token creates: its OAuth app, or the API key itself.
    pub owner: Owner,
    pub scopes: Vec<String>,
    _required: PhantomData<R>,
}

impl<R> Authorized<R> {
    /// Changes made with a token are attributed to it (`api-token`), as Attio does.
    pub fn actor(&self) -> Actor {
        Actor::ApiToken(self.token_id)
    }

    /// Locks the store, narrowed to the token's workspace.
    pub fn store<'a>(&self, sandbox: &'a Sandbox) -> WorkspaceGuard<'a> {
        sandbox.store().into_workspace(self.workspace)
    }

    /// Checks scopes beyond the endpoint's fixed set (e.g. per comment target).
    pub fn require(&self, scopes: &[&str]) -> Result<(), ApiError> {
        missing_scopes(&self.scopes, scopes)
    }
}

fn missing_scopes(granted: &[String], required: &[&str]) -> Result<(), ApiError> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|scope| !grants(granted, scope))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let (list, noun) = match missing.as_slice() {
        [one] => ((*one).to_owned(), "scope"),
        many => (many.join(", "), "scopes"),
    };
    Err(ApiError::forbidden(format!(
        "This request requires the {list} {noun}, which the access token was not granted."
    )))
}

impl<R: ScopeSet> FromRequestParts<Sandbox> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        let store = sandbox.store();
        let active = store.active_token(&token).ok_or_else(|| {
            ApiError::unauthenticated("The access token is invalid or has been revoked.")
        })?;
        missing_scopes(&active.scopes, R::REQUIRED)?;
        let workspace = store.key(active.workspace_id).ok_or_else(|| {
            ApiError::unauthenticated("The access token is invalid or has been revoked.")
        })?;
        let owner = match &active.kind {
            TokenKind::OAuth { client_id } => Owner::App(client_id.clone()),
            TokenKind::ApiKey => Owner::ApiKey(active.id),
        };
        Ok(Authorized {
            token_id: active.id,
            workspace,
            owner,
            scopes: active.scopes.clone(),
            _required: PhantomData,
        })
    }
}

/// A body that parsed as JSON; its shape is validated by the handler for precise messages.
pub(crate) struct ApiJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ApiJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::validation(
                "The request body is empty; expected a JSON object.",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::validation(format!("The request body is not valid JSON: {e}.")))
    }
}

/// Like [`ApiJson`], but an empty body reads as `{}` (sandbox controls with optional fields).
pub(crate) struct MaybeJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for MaybeJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeJson(Value::Object(serde_json::Map::new())));
        }
        serde_json::from_slice(&bytes)
            .map(MaybeJson)
            .map_err(|e| ApiError::validation(format!("The request body is not valid JSON: {e}.")))
    }
}

pub(crate) fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large("The request body is too large.")
    } else {
        ApiError::validation("The request body could not be read.")
    }
}

/// Decoded `key=value` pairs of a query string or form body, in order.
pub(crate) fn pairs(input: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `name`, if present.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The only value of `name`; a parameter given twice is an error (RFC 6749 §3.1).
pub(crate) fn single<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, String> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let value = values.next();
    if values.next().is_some() {
        return Err(format!(
            "The parameter \"{name}\" was given more than once."
        ));
    }
    Ok(value)
}

/// The UUID in a `{id}` path segment, or the raw segment (for the 404 message) when it is not one.
pub(crate) fn path_uuid(path: Result<Path<String>, PathRejection>) -> Result<Uuid, String> {
    let raw = path.map(|Path(raw)| raw).unwrap_or_default();
    Uuid::parse_str(&raw).map_err(|_| raw)
}

/// Two path segments (`/{a}/{b}`); empty strings when unreadable, which then match nothing.
pub(crate) fn path_pair(path: Result<Path<(String, String)>, PathRejection>) -> (String, String) {
    path.map(|Path(pair)| pair).unwrap_or_default()
}

/// Whether a peer is the local machine (an IPv4-mapped loopback address included). Unknown
/// peers are not.
pub(crate) fn is_loopback(peer: Option<std::net::SocketAddr>) -> bool {
    peer.is_some_and(|addr| addr.ip().to_canonical().is_loopback())
}
