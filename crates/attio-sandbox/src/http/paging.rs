//! The two ways Attio pages lists: `limit` with `offset`, and `limit` with an opaque `cursor`
//! (answered as `pagination.next_cursor`). The sandbox's cursor is the position as decimal text.

use serde_json::Value;

use super::error::ApiError;
use super::extract::single;

/// `limit` (1 to `max`, `default` when absent): a 400 `validation_type` otherwise.
pub(super) fn limit(
    params: &[(String, String)],
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match single(params, "limit").map_err(ApiError::validation)? {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "limit must be an integer between 1 and {max}, got \"{raw}\"."
                ))
            }),
    }
}

/// `offset` (0 when absent).
pub(super) fn offset(params: &[(String, String)]) -> Result<usize, ApiError> {
    match single(params, "offset").map_err(ApiError::validation)? {
        None => Ok(0),
        Some(raw) => raw.parse::<usize>().map_err(|_| {
            ApiError::validation(format!(
                "offset must be a non-negative integer, got \"{raw}\"."
            ))
        }),
    }
}

/// The position a `cursor` stands for (0 when absent).
pub(super) fn cursor(params: &[(String, String)]) -> Result<usize, ApiError> {
    match single(params, "cursor").map_err(ApiError::validation)? {
        None => Ok(0),
        Some(raw) => raw
            .parse::<usize>()
            .map_err(|_| ApiError::validation(format!("\"{raw}\" is not a cursor this API gave."))),
    }
}

/// `next_cursor` after a page of `limit` from `position` out of `total`: `null` on the last page.
pub(super) fn next_cursor(position: usize, limit: usize, total: usize) -> Value {
    let next = position.saturating_add(limit);
    if next < total {
        Value::from(next.to_string())
    } else {
        Value::Null
    }
}
