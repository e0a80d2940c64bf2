//! `GET /{workspace slug}/{object}/{record id}`: a read-only page for one record, where the
//! `web_url` of a record points (the path form Attio's own web app uses in its document's
//! example), so that a link to a record in Attio works against the sandbox too. Like the
//! console it serves the local machine only: it shows record data without a token.
//!
//! A path whose first segment is no workspace's slug answers what any unknown path answers,
//! whatever the method, so that the route takes nothing away from the API's 404s.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::Value;
use uuid::Uuid;

use super::error::{render_page, ApiError};
use super::extract::is_loopback;
use crate::store::{AttributeParent, WorkspaceStore};
use crate::timestamp::format;
use crate::Sandbox;

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/{workspace}/{object}/{record}", any(record_page))
}

struct AttributeRow {
    title: String,
    value: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    workspace_name: String,
    name: String,
    noun: String,
    plural: String,
    record_id: String,
    created_at: String,
    attributes: Vec<AttributeRow>,
}

/// Why there is no record to show.
#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block title %}{{ title }}{% endblock %}{% block content %}<h1 class=\"error\">{{ title }}</h1><p>{{ message }}</p>{% endblock %}",
    ext = "html"
)]
struct Problem {
    title: &'static str,
    message: &'static str,
}

async fn record_page(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let not_route = || ApiError::not_found("No route matches this path.").into_response();
    let Ok(Path((slug, object, record))) = path else {
        return not_route();
    };
    let Some(workspace_id) = sandbox
        .workspaces()
        .into_iter()
        .find(|w| w.slug == slug)
        .map(|w| w.id)
    else {
        return not_route();
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::method_not_allowed().into_response();
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    if !is_loopback(peer) {
        return render_page(
            StatusCode::FORBIDDEN,
            &Problem {
                title: "Local machine only",
                message: "Record pages are only available from the local machine.",
            },
        );
    }
    let Some(store) = sandbox.workspace_store(workspace_id) else {
        return not_route();
    };
    match page(&store, &object, &record) {
        Some(page) => render_page(StatusCode::OK, &page),
        None => render_page(
            StatusCode::NOT_FOUND,
            &Problem {
                title: "No such record",
                message: "This workspace has no such record; it may have been deleted or merged.",
            },
        ),
    }
}

fn page(store: &WorkspaceStore, object: &str, record: &str) -> Option<RecordPage> {
    let object = store.object(object)?;
    let record = store.record(object.kind, Uuid::parse_str(record).ok()?)?;
    let parent = AttributeParent::Object(object.kind);
    let (name_id, unique_id) = super::record_values::system_ids(store, object.kind);
    let attributes = store
        .attributes_of(parent)
        .into_iter()
        .filter(|a| !a.is_archived)
        .map(|a| AttributeRow {
            title: a.title.clone(),
            value: record
                .raw(a.id, name_id, unique_id)
                .map(|v| shown(&v))
                .unwrap_or_default(),
        })
        .collect();
    Some(RecordPage {
        workspace_name: store.workspace.name.clone(),
        name: if record.name.trim().is_empty() {
            "Unnamed".to_owned()
        } else {
            record.name.clone()
        },
        noun: object.singular_noun.clone(),
        plural: object.plural_noun.clone(),
        record_id: record.id.to_string(),
        created_at: format(record.created_at),
        attributes,
    })
}

/// A stored value as text (the template escapes it).
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_read_as_text() {
        assert_eq!(
            shown(&serde_json::json!(["a@x.test", "b@x.test"])),
            "a@x.test, b@x.test"
        );
        assert_eq!(shown(&serde_json::json!(42)), "42");
        assert_eq!(shown(&Value::Null), "");
        assert_eq!(
            shown(&serde_json::json!("<b>")),
            "<b>",
            "escaped by the template, not here"
        );
    }
}
