//! The mail-sequencing API the provider protects: list sequences, enroll an email, list
//! enrollments. It accepts a provider access token or a static API key, the two kinds of
//! connection (OAuth 2.0 and secret) Taskr stores.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::client::bearer;
use super::error::ApiError;
use super::secrets::secrets_equal;
use super::sequences::{is_valid_email, Enrolled, Enrollment};
use super::Provider;

pub(super) fn router() -> Router<Provider> {
    Router::new()
        .route("/sequencer/v1/sequences", get(list_sequences))
        .route(
            "/sequencer/v1/sequences/{id}/enrollments",
            get(list_enrollments).post(enroll),
        )
}

/// Who is calling: the `sub` behind an access token, or `api_key`.
struct Caller(String);

impl FromRequestParts<Provider> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, provider: &Provider) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::invalid_token("Send \"Authorization: Bearer <access token or API key>\".")
        })?;
        let store = provider.store();
        // Check every key, so timing does not tell how many matched before.
        let is_key = store
            .config
            .api_keys
            .iter()
            .fold(false, |found, key| secrets_equal(key, token) | found);
        if is_key {
            return Ok(Caller("api_key".to_owned()));
        }
        store
            .grants
            .access_subject(token)
            .map(|subject| Caller(subject.sub))
            .ok_or_else(|| {
                ApiError::invalid_token("The access token is unknown, revoked or expired.")
            })
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("No sequence with id \"{id}\"."),
    )
}

fn enrollment_json(sequence_id: &str, e: &Enrollment) -> Value {
    json!({
        "sequence_id": sequence_id,
        "email": e.email,
        "enrolled_at": e.enrolled_at,
        "enrolled_by": e.enrolled_by,
    })
}

#[tracing::instrument(name = "sequencer.list_sequences", skip_all)]
async fn list_sequences(State(provider): State<Provider>, _caller: Caller) -> Json<Value> {
    let store = provider.store();
    let data: Vec<Value> = store
        .sequences
        .all()
        .iter()
        .map(|s| json!({ "id": s.id, "name": s.name, "enrolled_count": s.enrollments.len() }))
        .collect();
    Json(json!({ "data": data }))
}

#[tracing::instrument(name = "sequencer.list_enrollments", skip_all)]
async fn list_enrollments(
    State(provider): State<Provider>,
    _caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path.map(|Path(id)| id).unwrap_or_default();
    let store = provider.store();
    let sequence = store.sequences.get(&id).ok_or_else(|| not_found(&id))?;
    let data: Vec<Value> = sequence
        .enrollments
        .iter()
        .map(|e| enrollment_json(sequence.id, e))
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// 201 for a new enrollment, 200 with the existing one when the email is already enrolled.
#[tracing::instrument(name = "sequencer.enroll", skip_all)]
async fn enroll(
    State(provider): State<Provider>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path.map(|Path(id)| id).unwrap_or_default();
    if provider.store().sequences.get(&id).is_none() {
        return Err(not_found(&id));
    }
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body could not be read.",
        )
    })?;
    let value: Value = serde_json::from_slice(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be a JSON object like {\"email\": \"ada@example.com\"}.",
        )
    })?;
    let email = value
        .get("email")
        .and_then(Value::as_str)
        .filter(|email| is_valid_email(email))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_email",
                "\"email\" must be an email address such as ada@example.com.",
            )
        })?;
    let mut store = provider.store();
    let (status, enrollment) = match store.sequences.enroll(&id, email, &caller) {
        Some(Enrolled::New(e)) => (StatusCode::CREATED, enrollment_json(&id, e)),
        Some(Enrolled::Existing(e)) => (StatusCode::OK, enrollment_json(&id, e)),
        None => return Err(not_found(&id)),
    };
    Ok((status, Json(json!({ "data": enrollment }))).into_response())
}
