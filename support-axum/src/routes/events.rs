//! `GET /events`: the live stream.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{KeepAlive, Sse};
use serde::Deserialize;
use support_core::EventSeq;
use utoipa::IntoParams;

use crate::api::{Caller, SupportApi};
use crate::extract::ApiQuery;
use crate::live::{SignalOptions, StreamStart, event_stream};
use crate::problem::{Problem, ProblemBody};

/// Query of `GET /events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Resume after this event id, for a new `EventSource` (which cannot
    /// send `Last-Event-ID`); the header wins when both are given. Pass a
    /// list or history page's `last_event_id` to follow on from that page
    /// without missing anything committed since it was read.
    last_event_id: Option<String>,
}

fn event_id(raw: &str) -> Result<EventSeq, Problem> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .map(EventSeq)
        .ok_or_else(|| Problem::invalid("Last-Event-ID", "Last-Event-ID must be an event id"))
}

/// Server-sent events: `conversation.created`, `conversation.updated`,
/// `message.created`, `message.seen`, `typing` (`TypingEventBody`) and
/// `presence` (`PresenceBody`, first when the stream goes live, then on
/// every change), `reset`, and `ready` (first on a
/// stream opened without `Last-Event-ID`: its id is the position the stream
/// starts from, so a reconnect resumes exactly even before any other
/// event). Every event's id is its
/// log position; reconnecting with `Last-Event-ID` replays what was missed
/// (or sends `reset` when that part of the log was pruned). Users receive
/// the events of their own conversations only. Events committed through
/// any server on the same database are delivered, in log order. `typing`
/// and `presence` are not in the log: their id is the position the stream
/// has reached, and they are never replayed. An admin with a stream open is
/// present (see `GET /presence`).
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id"),
        EventsQuery,
    ),
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
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<impl IntoResponse, Problem> {
    let resume_after = match (headers.get("last-event-id"), query.last_event_id) {
        (Some(value), _) => Some(event_id(value.to_str().unwrap_or_default())?),
        (None, Some(raw)) => Some(event_id(&raw)?),
        (None, None) => None,
    };
    let present = api
        .team()
        .connected(&caller.principal, caller.profile.name.as_deref());
    let principal = caller.principal;
    let start = match resume_after {
        Some(after) => StreamStart::Resume(after),
        // Whatever the caller wrote before asking is behind the stream.
        None => StreamStart::Fresh(api.support().latest_event().await?),
    };
    let subscription = api.live().subscribe(&principal);
    let stream = event_stream(
        api.support().clone(),
        principal,
        subscription,
        start,
        api.shutdown_signal(),
        api.config().replay_batch,
        SignalOptions {
            admin_names_to_users: api.team().typing_config().admin_names_to_users,
            present,
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(api.config().keep_alive)))
}
