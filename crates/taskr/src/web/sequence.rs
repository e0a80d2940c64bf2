//! "Add to sequence": on a task linked to a person, look up the person's email in Attio and
//! enroll it in a mail sequence with the user's "sequencer" connection. A missing connection
//! prompts the user to connect and brings them back here.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::connections::ctx_for;
use super::{render, Nav, Visitor};
use crate::attio_gateway::open_token;
use crate::error::AppError;
use crate::sequencer::{self, Sequence};
use crate::state::AppState;
use crate::store::{LinkStatus, OwnerKind, User};

pub const PROVIDER: &str = "sequencer";

pub fn router() -> Router<AppState> {
    Router::new().route("/tasks/{task_id}/sequence", get(page).post(enroll))
}

/// Whether "Add to sequence" is offered at all: a sequencer provider and its API are configured.
pub fn enabled(state: &AppState) -> bool {
    state.settings.sequencer_api_url.is_some() && state.connections.provider(PROVIDER).is_some()
}

struct Person {
    name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "sequence.html")]
struct SequencePage {
    nav: Nav,
    task_id: Uuid,
    task_content: String,
    people: Vec<Person>,
    sequences: Vec<Sequence>,
}

/// The cached task (in the user's workspace) and the people it links to, read from Attio.
async fn task_people(
    state: &AppState,
    user: &User,
    task_id: &str,
) -> Result<(attio::Task, Vec<Person>), AppError> {
    let task_id = Uuid::parse_str(task_id).map_err(|_| AppError::NotFound)?;
    let link = state
        .store
        .link(user.id)
        .await?
        .filter(|l| l.status == LinkStatus::Active)
        .ok_or_else(|| AppError::Forbidden("Reconnect Attio first.".into()))?;
    let task = state
        .store
        .task(link.workspace_id, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let client = state.sync.attio.client(open_token(&state.cipher, &link)?);
    let mut people = Vec::new();
    for linked in task
        .linked_records
        .iter()
        .filter(|r| r.target_object_id == "people")
    {
        match client.get_record("people", linked.target_record_id).await {
            Ok(record) => {
                if let Some(email) = record.primary_email() {
                    people.push(Person {
                        name: record.name().unwrap_or_else(|| email.clone()),
                        email,
                    });
                }
            }
            Err(attio::AttioError::NotFound(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not read a linked person from Attio");
                return Err(AppError::Upstream(
                    "Taskr could not read the linked person from Attio. Try again.".into(),
                ));
            }
        }
    }
    Ok((task, people))
}

async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(task_id): Path<String>,
) -> Result<Response, AppError> {
    let user = visitor.require_user(&format!("/tasks/{task_id}/sequence"))?;
    let base = state
        .settings
        .sequencer_api_url
        .clone()
        .filter(|_| enabled(&state))
        .ok_or(AppError::NotFound)?;
    let (task, people) = task_people(&state, user, &task_id).await?;
    let ctx = ctx_for(&state, user).await?;
    let http = state.sync.attio.http.clone();
    let sequences = state
        .connections
        .call(&ctx, PROVIDER, OwnerKind::User, |connection| {
            let (http, base) = (http.clone(), base.clone());
            async move { sequencer::list_sequences(&http, &base, &connection).await }
        })
        .await?;
    render(&SequencePage {
        nav: Nav::new(&visitor, None),
        task_id: task.id.task_id,
        task_content: task.content_plaintext,
        people,
        sequences,
    })
}

#[derive(Deserialize)]
struct EnrollForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    sequence: String,
}

async fn enroll(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(task_id): Path<String>,
    Form(form): Form<EnrollForm>,
) -> Result<Response, AppError> {
    let user = visitor.require_user("/tasks")?;
    let base = state
        .settings
        .sequencer_api_url
        .clone()
        .filter(|_| enabled(&state))
        .ok_or(AppError::NotFound)?;
    let (_, people) = task_people(&state, user, &task_id).await?;
    // Only an email of a person the task links to may be enrolled.
    if !people.iter().any(|p| p.email == form.email) {
        return Err(AppError::BadRequest(
            "Choose a person linked to this task.".into(),
        ));
    }
    if form.sequence.is_empty() || form.sequence.len() > 200 {
        return Err(AppError::BadRequest("Choose a sequence.".into()));
    }
    let ctx = ctx_for(&state, user).await?;
    let http = state.sync.attio.http.clone();
    state
        .connections
        .call(&ctx, PROVIDER, OwnerKind::User, |connection| {
            let (http, base, sequence, email) = (
                http.clone(),
                base.clone(),
                form.sequence.clone(),
                form.email.clone(),
            );
            async move { sequencer::enroll(&http, &base, &connection, &sequence, &email).await }
        })
        .await?;
    tracing::info!(user = %user.id, sequence = %form.sequence, "enrolled a contact");
    Ok(Redirect::to("/tasks?notice=enrolled").into_response())
}
