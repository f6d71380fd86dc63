//! `GET /events`: the live stream.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{KeepAlive, Sse};
use support_core::EventSeq;

use crate::api::{Caller, SupportApi};
use crate::live::{LiveFeed, event_stream};
use crate::problem::{Problem, ProblemBody};

/// Server-sent events: `conversation.created`, `conversation.updated`,
/// `message.created`, `message.seen`, and `reset`. Every event's id is its
/// log position; reconnecting with `Last-Event-ID` replays what was missed
/// (or sends `reset` when that part of the log was pruned). Users receive
/// the events of their own conversations only.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "Malformed Last-Event-ID", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
pub(crate) async fn events(
    State(api): State<SupportApi>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Problem> {
    let resume_after = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|seq| *seq >= 0)
                .map(EventSeq)
                .ok_or_else(|| {
                    Problem::invalid("Last-Event-ID", "Last-Event-ID must be an event id")
                })?,
        ),
    };
    let principal = caller.principal;
    let subscription = api.live().subscribe(&principal).await;
    let stream = event_stream(
        api.support().clone(),
        principal,
        subscription,
        resume_after,
        api.shutdown_signal(),
        api.config().replay_batch,
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(api.config().keep_alive)))
}
