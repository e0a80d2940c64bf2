//! `GET /live`: server-sent events that tell an open page its workspace changed. The page's
//! script then fetches the fresh HTML; pages work without it.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, WatchStream};
use tokio_stream::StreamExt;

use super::Visitor;
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/live", get(live))
}

async fn live(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let user = visitor.require_user("/")?;
    let workspace = state
        .store
        .link(user.id)
        .await?
        .map(|link| link.workspace_id);
    // Counted while the stream is open (the guard lives in the closure, dropped with it).
    let open = state.metrics.live_stream();
    let events = BroadcastStream::new(state.coordinator.subscribe()).filter_map(move |item| {
        let _counted = &open;
        let name = match item {
            Ok(event) if event.concerns(workspace) => event.change.as_str(),
            Ok(_) => return None,
            // Fell behind: whatever was missed, a full refresh covers it.
            Err(BroadcastStreamRecvError::Lagged(_)) => "tasks",
        };
        Some(Some(Ok::<_, Infallible>(
            Event::default().event(name).data(name),
        )))
    });
    // At shutdown the stream ends, so that the page's script reconnects (to another instance,
    // or to this one once it is back) and the server's drain is not held to its deadline.
    let stop =
        WatchStream::new(state.drain.subscribe()).filter_map(|draining| draining.then_some(None));
    let events = events.merge(stop).map_while(|event| event);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
