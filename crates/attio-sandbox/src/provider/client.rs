//! Credentials and parameters at the edge: form and query pairs, the OAuth client's credentials
//! (HTTP Basic or body fields, RFC 6749 §2.3.1) and bearer tokens (RFC 6750 §2.1).

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::error::TokenError;
use super::secrets::secrets_equal;
use super::ProviderConfig;

/// Decoded `key=value` pairs of a query string or form body, in order.
pub(super) fn pairs(input: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The only value of `name`. An empty value counts as absent (RFC 6749 §3.1); a parameter
/// given twice is an error, reported as `Err(name)`.
pub(super) fn single<'a>(
    pairs: &'a [(String, String)],
    name: &'static str,
) -> Result<Option<&'a str>, &'static str> {
    let mut values = pairs
        .iter()
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str());
    let value = values.next();
    match values.next() {
        Some(_) => Err(name),
        None => Ok(value),
    }
}

/// Checks the client's credentials against the registered client. Basic and body fields may
/// both be sent only if they agree.
pub(super) fn authenticate(
    config: &ProviderConfig,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(), TokenError> {
    let duplicate = |_| TokenError::invalid_request("A parameter was given more than once.");
    let body_id = single(params, "client_id").map_err(duplicate)?;
    let body_secret = single(params, "client_secret").map_err(duplicate)?;
    let (id, secret, basic) = match basic_credentials(headers)? {
        Some((id, secret)) => {
            let disagrees = body_id.is_some_and(|b| b != id)
                || body_secret.is_some_and(|b| !secrets_equal(b, &secret));
            if disagrees {
                return Err(TokenError::invalid_request(
                    "The Basic credentials and the body's client fields differ.",
                ));
            }
            (id, secret, true)
        }
        None => (
            body_id.unwrap_or_default().to_owned(),
            body_secret.unwrap_or_default().to_owned(),
            false,
        ),
    };
    let known = id == config.client_id;
    // Compare the secret even for an unknown id, so timing does not tell the two apart.
    let secret_ok = secrets_equal(&secret, &config.client_secret);
    if known && secret_ok && !secret.is_empty() {
        Ok(())
    } else {
        Err(TokenError::invalid_client(basic))
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`; another scheme is ignored.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || TokenError::invalid_client(true);
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
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

/// The token of `Authorization: Bearer <token>`, if the header has that shape.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
