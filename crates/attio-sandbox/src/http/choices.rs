//! Select options and statuses of object and list attributes:
//! `/v2/{objects|lists}/{identifier}/attributes/{attribute}/{options|statuses}[/{choice}]`.
//! Attio fires no webhook event for these changes (its event list has none).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::Fields;
use super::error::ApiError;
use super::extract::{first, pairs, ApiJson, Authorized, ReadObjectConfig, WriteObjectConfig};
use super::lists::find as find_list;
use super::record_values::choice_json;
use super::records::object;
use crate::store::{
    Attribute, AttributeError, AttributeParent, Choice, ChoicePatch, WorkspaceStore,
};
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    let mut router = Router::new();
    // The parent's parameter is named as the attribute routes name it (`{object}`, `{list}`).
    for (target, parent) in [("objects", "object"), ("lists", "list")] {
        for kind in ["options", "statuses"] {
            let base = format!("/v2/{target}/{{{parent}}}/attributes/{{attribute}}/{kind}");
            router = router
                .route(&base, get(list).post(create))
                .route(&format!("{base}/{{choice}}"), patch(update));
        }
    }
    router
}

/// What a request's path names: objects or lists, options or statuses, and the keys.
struct Target {
    on_list: bool,
    statuses: bool,
    identifier: String,
    attribute: String,
    choice: Option<String>,
}

impl Target {
    fn read(uri: &axum::http::Uri, keys: Vec<String>) -> Target {
        let mut parts = uri.path().trim_start_matches('/').split('/');
        let on_list = parts.nth(1) == Some("lists");
        let statuses = uri.path().split('/').nth(6) == Some("statuses");
        let mut keys = keys.into_iter();
        Target {
            on_list,
            statuses,
            identifier: keys.next().unwrap_or_default(),
            attribute: keys.next().unwrap_or_default(),
            choice: keys.next(),
        }
    }

    fn noun(&self) -> &'static str {
        if self.statuses {
            "status"
        } else {
            "select option"
        }
    }

    /// The attribute, which must be a status attribute for statuses and a select attribute
    /// for options. A wrong kind answers `wrong_kind`.
    fn attribute<'a>(
        &self,
        store: &'a WorkspaceStore,
        wrong_kind: fn(String) -> ApiError,
    ) -> Result<&'a Attribute, ApiError> {
        let parent = if self.on_list {
            AttributeParent::List(find_list(store, &self.identifier)?.id)
        } else {
            AttributeParent::Object(object(store, &self.identifier)?)
        };
        let attribute = store.attribute(parent, &self.attribute).ok_or_else(|| {
            ApiError::not_found(format!(
                "Attribute with slug/ID \"{}\" not found.",
                self.attribute
            ))
        })?;
        let kind = if self.statuses { "status" } else { "select" };
        if attribute.kind != kind {
            return Err(wrong_kind(format!(
                "This attribute is not a {kind} attribute."
            )));
        }
        Ok(attribute)
    }
}

fn path_keys(path: Result<Path<Vec<(String, String)>>, PathRejection>) -> Vec<String> {
    path.map(|Path(pairs)| pairs.into_iter().map(|(_, v)| v).collect())
        .unwrap_or_default()
}

async fn list(
    auth: Authorized<ReadObjectConfig>,
    State(sandbox): State<Sandbox>,
    uri: axum::http::Uri,
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let target = Target::read(&uri, path_keys(path));
    let query = pairs(query.unwrap_or_default().as_bytes());
    let show_archived = match first(&query, "show_archived") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "show_archived must be true or false; got \"{other}\"."
            )))
        }
    };
    let store = auth.store(&sandbox);
    let attribute = target.attribute(&store, ApiError::not_found)?;
    let data: Vec<Value> = attribute
        .choices
        .iter()
        .filter(|c| show_archived || !c.is_archived)
        .map(|c| choice_json(&store, attribute, c))
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// `target_time_in_status`: an ISO 8601 duration (`P0Y0M1DT0H0M0S`) or null.
fn duration(fields: &mut Fields) -> Result<Option<Option<String>>, ApiError> {
    let value = fields.nullable_string("target_time_in_status")?;
    if let Some(Some(text)) = &value {
        let valid = text.starts_with('P')
            && text.len() > 1
            && text[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || "YMWDTHS.,".contains(c));
        if !valid {
            return Err(ApiError::validation(format!(
                "target_time_in_status must be an ISO 8601 duration such as \"P0Y0M1DT0H0M0S\"; got \"{text}\"."
            )));
        }
    }
    Ok(value)
}

fn non_empty_title(fields: &mut Fields) -> Result<Option<String>, ApiError> {
    if !fields.has("title") {
        return Ok(None);
    }
    let title = fields.text("title")?;
    if title.trim().is_empty() {
        return Err(ApiError::validation("data.title must not be empty."));
    }
    Ok(Some(title))
}

async fn create(
    auth: Authorized<WriteObjectConfig>,
    State(sandbox): State<Sandbox>,
    uri: axum::http::Uri,
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let target = Target::read(&uri, path_keys(path));
    let mut data = Fields::data(body)?;
    if target.statuses {
        data.only(&["title", "celebration_enabled", "target_time_in_status"])?;
    } else {
        data.only(&["title"])?;
    }
    data.require(&["title"])?;
    let title = non_empty_title(&mut data)?.unwrap_or_default();
    let celebration_enabled = data.bool("celebration_enabled")?.unwrap_or(false);
    let target_time_in_status = duration(&mut data)?.flatten();
    let mut store = auth.store(&sandbox);
    let attribute = target.attribute(&store, ApiError::validation)?.id;
    let choice = Choice {
        id: Uuid::new_v4(),
        title,
        is_archived: false,
        celebration_enabled,
        target_time_in_status,
    };
    let choice = store
        .add_choice(attribute, choice)
        .map_err(|e| conflict(&target, e))?;
    answer(&store, attribute, choice)
}

/// `{"data": option or status}` for a choice of the attribute `attribute_id`.
fn answer(
    store: &WorkspaceStore,
    attribute_id: Uuid,
    choice: Option<Choice>,
) -> Result<Json<Value>, ApiError> {
    let missing = || ApiError::not_found("Attribute not found.");
    let choice = choice.ok_or_else(missing)?;
    let attribute = store
        .attributes
        .iter()
        .find(|a| a.id == attribute_id)
        .ok_or_else(missing)?;
    Ok(Json(
        json!({ "data": choice_json(store, attribute, &choice) }),
    ))
}

async fn update(
    auth: Authorized<WriteObjectConfig>,
    State(sandbox): State<Sandbox>,
    uri: axum::http::Uri,
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
    ApiJson(body): ApiJson,
) -> Result<Json<Value>, ApiError> {
    let target = Target::read(&uri, path_keys(path));
    let mut data = Fields::data(body)?;
    if target.statuses {
        data.only(&[
            "title",
            "celebration_enabled",
            "target_time_in_status",
            "is_archived",
        ])?;
    } else {
        data.only(&["title", "is_archived"])?;
    }
    let patch = ChoicePatch {
        title: non_empty_title(&mut data)?,
        is_archived: data.bool("is_archived")?,
        celebration_enabled: data.bool("celebration_enabled")?,
        target_time_in_status: duration(&mut data)?,
    };
    let mut store = auth.store(&sandbox);
    let attribute = target.attribute(&store, ApiError::value_not_found)?;
    let key = target.choice.clone().unwrap_or_default();
    let id = Uuid::parse_str(&key).ok();
    let choice_id = attribute
        .choices
        .iter()
        .find(|c| Some(c.id) == id || c.title == key)
        .map(|c| c.id)
        .ok_or_else(|| {
            ApiError::value_not_found(format!(
                "Cannot find {} attribute with {} title \"{key}\".",
                if target.statuses { "status" } else { "select" },
                target.noun()
            ))
        })?;
    let attribute_id = attribute.id;
    let choice = store
        .update_choice(attribute_id, choice_id, patch)
        .map_err(|e| conflict(&target, e))?;
    answer(&store, attribute_id, choice)
}

fn conflict(target: &Target, error: AttributeError) -> ApiError {
    match error {
        AttributeError::SlugConflict(title) | AttributeError::SystemEdit(title) => {
            ApiError::slug_conflict(format!(
                "There is already another {} with the title \"{title}\".",
                target.noun()
            ))
        }
    }
}
