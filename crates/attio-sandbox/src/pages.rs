//! What the sandbox's two authorization servers (Attio's and the generic provider's) share when
//! they answer a browser: hardened HTML pages and the redirect back to the client.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

/// Renders a page that may be neither framed nor cached, nor leak its URL (which carries the
/// client's `state`) through `Referer`.
pub(crate) fn render_page(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
                ),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A 302 to the client with `params` (and `state` if the client sent one) added to the redirect
/// URI's own query; `None` when the result cannot be a `Location` header.
pub(crate) fn redirect_to_client(
    mut url: Url,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> Option<Response> {
    {
        let mut query = url.query_pairs_mut();
        query.extend_pairs(params);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    let location = HeaderValue::from_str(url.as_str()).ok()?;
    Some(
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
    )
}
