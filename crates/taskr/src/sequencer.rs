//! A small client for the mail-sequencing API behind the "sequencer" connection: list
//! sequences, enroll a contact by email. A 401 is reported as `CallError::Unauthorized` so that
//! `Connections::call` can refresh once and retry once.

use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::connections::{CallError, Connection};
use crate::store::ProviderName;

/// The connection provider whose tokens this API takes (the demo declares one by this name).
pub const PROVIDER: ProviderName = ProviderName::from_static("sequencer");

#[derive(Debug, Clone, Deserialize)]
pub struct Sequence {
    pub id: String,
    pub name: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, CallError> {
    match response.status().as_u16() {
        401 => Err(CallError::Unauthorized),
        200..=299 => Ok(response),
        status => {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let message = body["message"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no details")
                .to_owned();
            Err(CallError::Other(anyhow::anyhow!(
                "the sequencer answered HTTP {status}: {message}"
            )))
        }
    }
}

fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, CallError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| CallError::Other(anyhow::anyhow!("the sequencer URL cannot be a base")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

pub async fn list_sequences(
    http: &reqwest::Client,
    base: &Url,
    connection: &Connection,
) -> Result<Vec<Sequence>, CallError> {
    let response = http
        .get(endpoint(base, &["sequencer", "v1", "sequences"])?)
        .bearer_auth(connection.value.expose())
        .send()
        .await
        .map_err(|e| CallError::Other(e.without_url().into()))?;
    let page: Envelope<Vec<Sequence>> = check(response)
        .await?
        .json()
        .await
        .map_err(|e| CallError::Other(e.without_url().into()))?;
    Ok(page.data)
}

pub async fn enroll(
    http: &reqwest::Client,
    base: &Url,
    connection: &Connection,
    sequence: &str,
    email: &str,
) -> Result<(), CallError> {
    let response = http
        .post(endpoint(
            base,
            &["sequencer", "v1", "sequences", sequence, "enrollments"],
        )?)
        .bearer_auth(connection.value.expose())
        .json(&json!({ "email": email }))
        .send()
        .await
        .map_err(|e| CallError::Other(e.without_url().into()))?;
    check(response).await.map(|_| ())
}
