//! `/v2/webhooks`: list (limit 10 to 100), create (the only answer with the `secret`), get,
//! update and delete. A token sees only the webhooks of its own OAuth app (or API key).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use url::{Host, Url};

use super::body::Fields;
use super::error::ApiError;
use super::extract::{pairs, path_uuid, single, ApiJson, Authorized, ScopeSet};
use crate::events::{event_type, Filter};
use crate::store::{Subscription, Webhook, WorkspaceStore};
use crate::timestamp::{format, now};
use crate::Sandbox;

pub(super) struct ReadWebhooks;
impl ScopeSet for ReadWebhooks {
    const REQUIRED: &'static [&'static str] = &["webhook:read"];
}

pub(super) struct WriteWebhooks;
impl ScopeSet for WriteWebhooks {
    const REQUIRED: &'static [&'static str] = &["webhook:read-write"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v2/webhooks", get(list).post(create))
        .route(
            "/v2/webhooks/{webhook_id}",
            get(show).patch(update).delete(remove),
        )
}

async fn list(
    auth: Authorized<ReadWebhooks>,
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    let number = |name: &str, range: std::ops::RangeInclusive<usize>, default: usize| match single(
        &params, name,
    )
    .map_err(ApiError::validation)?
    {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "{name} must be an integer between {} and {}, got \"{raw}\".",
                    range.start(),
                    range.end()
                ))
            }),
    };
    let limit = number("limit", 10..=100, 10)?;
    let offset = number("offset", 0..=usize::MAX, 0)?;
    let store = auth.store(&sandbox);
    let data: Vec<Value> = store
        .owned_webhooks(&auth.owner)
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|w| webhook_json(&store, w))
        .collect();
    Ok(Json(json!({ "data": data })))
}

async fn create(
    auth: Authorized<WriteWebhooks>,
    State(sandbox): State<Sandbox>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let mut data = Fields::data(body)?;
    data.only(&["target_url", "subscriptions"])?;
    data.require(&["target_url", "subscriptions"])?;
    let target = target_url(data.take("target_url"))?;
    let subscriptions = subscriptions(data.take("subscriptions"))?;
    let mut store = auth.store(&sandbox);
    let (id, secret) = store.create_webhook(auth.owner.clone(), target, subscriptions, now());
    let webhook = store
        .webhook(id)
        .ok_or_else(|| not_found(&id.to_string()))?;
    let mut json = webhook_json(&store, webhook);
    json["secret"] = Value::String(secret);
    Ok(Json(json!({ "data": json })))
}

async fn show(
    auth: Authorized<ReadWebhooks>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let store = auth.store(&sandbox);
    let id = path_uuid(path).map_err(|raw| not_found(&raw))?;
    let webhook = store
        .owned_webhook(&auth.owner, id)
        .ok_or_else(|| not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": webhook_json(&store, webhook) })))
}

async fn update(
    auth: Authorized<WriteWebhooks>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let id = path_uuid(path).map_err(|raw| not_found(&raw))?;
    let mut data = Fields::data(body)?;
    data.only(&["target_url", "subscriptions"])?;
    let target = match data.take("target_url") {
        None => None,
        value => Some(target_url(value)?),
    };
    let subscriptions = match data.take("subscriptions") {
        None => None,
        value => Some(subscriptions(value)?),
    };
    let mut store = auth.store(&sandbox);
    if store.owned_webhook(&auth.owner, id).is_none() {
        return Err(not_found(&id.to_string()));
    }
    store.update_webhook(id, target, subscriptions);
    let webhook = store
        .webhook(id)
        .ok_or_else(|| not_found(&id.to_string()))?;
    Ok(Json(json!({ "data": webhook_json(&store, webhook) })))
}

async fn remove(
    auth: Authorized<WriteWebhooks>,
    State(sandbox): State<Sandbox>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let gone = || ApiError::not_found("Webhook not found");
    let id = path_uuid(path).map_err(|_| gone())?;
    let mut store = auth.store(&sandbox);
    if store.owned_webhook(&auth.owner, id).is_none() {
        return Err(gone());
    }
    store.delete_webhook(id);
    Ok(Json(json!({})))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Webhook with ID \"{id}\" was not found."))
}

/// The Webhook object of attio-api.md 5 (without `secret`).
pub(super) fn webhook_json(store: &WorkspaceStore, webhook: &Webhook) -> Value {
    let subscriptions: Vec<Value> = webhook
        .subscriptions
        .iter()
        .map(|s| json!({ "event_type": s.event_type, "filter": s.filter.as_ref().map(Filter::to_json) }))
        .collect();
    json!({
        "target_url": webhook.target_url,
        "subscriptions": subscriptions,
        "id": { "workspace_id": store.workspace.id, "webhook_id": webhook.id },
        "status": store.webhook_status_now(webhook).as_str(),
        "created_at": format(webhook.created_at),
    })
}

/// `https://…`, or `http://` to a loopback address so that local apps can receive deliveries.
fn target_url(value: Option<Value>) -> Result<String, ApiError> {
    let Some(Value::String(raw)) = value else {
        return Err(ApiError::validation("data.target_url must be a string."));
    };
    let url = Url::parse(&raw).map_err(|_| {
        ApiError::validation(format!(
            "data.target_url must be an absolute URL, got \"{raw}\"."
        ))
    })?;
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw),
        "http" if loopback => Ok(raw),
        _ => Err(ApiError::validation(
            "data.target_url must start with https:// (the sandbox also accepts http:// to a loopback address).",
        )),
    }
}

/// `[{event_type, filter}]`: both keys required, `filter` may be null.
fn subscriptions(value: Option<Value>) -> Result<Vec<Subscription>, ApiError> {
    let Some(Value::Array(items)) = value else {
        return Err(ApiError::validation(
            "data.subscriptions must be an array of {event_type, filter}.",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("data.subscriptions[{i}]");
            let Value::Object(map) = item else {
                return Err(ApiError::validation(format!(
                    "{at} must be an object {{event_type, filter}}."
                )));
            };
            if let Some(key) = map.keys().find(|k| *k != "event_type" && *k != "filter") {
                return Err(ApiError::validation(format!(
                    "{at} has the unknown field \"{key}\"; a subscription is {{event_type, filter}}."
                )));
            }
            let name = map.get("event_type").and_then(Value::as_str).ok_or_else(|| {
                ApiError::validation(format!("{at}.event_type is required and must be a string."))
            })?;
            let event_type = event_type(name).ok_or_else(|| {
                ApiError::validation(format!(
                    "{at}.event_type \"{name}\" is not one of Attio's 27 event types."
                ))
            })?;
            let filter = map.get("filter").ok_or_else(|| {
                ApiError::validation(format!("{at}.filter is required (null for no filter)."))
            })?;
            let filter = Filter::parse(filter, &format!("{at}.filter")).map_err(ApiError::validation)?;
            Ok(Subscription { event_type, filter })
        })
        .collect()
}
