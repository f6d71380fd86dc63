//! One subscriber's SSE stream: replay from the log after `Last-Event-ID`,
//! then live events, caught up from the log whenever it falls behind; ends
//! on shutdown.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse;
use futures::Stream;
use support_core::{EventReplay, EventSeq, Principal, Support};
use tokio::sync::{broadcast, watch};

use super::hub::{LiveEvent, Subscription};
use crate::wire::ResetEventBody;

struct Subscriber {
    support: Support,
    who: Principal,
    subscription: Subscription,
    /// The last position this subscriber has been given (or skipped as not
    /// its own).
    position: EventSeq,
    /// Whether the log must be read before taking live events again.
    catching_up: bool,
    pending: VecDeque<sse::Event>,
    shutdown: watch::Receiver<bool>,
    batch: u32,
}

/// The event stream of one connection, as `GET /events` serves it.
/// `resume_after` is the client's `Last-Event-ID`; without it the stream
/// starts at the subscription's position. The stream ends when `shutdown`
/// turns true, when the log cannot be read, or when the hub goes away.
pub fn event_stream(
    support: Support,
    who: Principal,
    subscription: Subscription,
    resume_after: Option<EventSeq>,
    shutdown: watch::Receiver<bool>,
    batch: u32,
) -> impl Stream<Item = Result<sse::Event, Infallible>> + Send + 'static {
    let mut pending = VecDeque::new();
    if resume_after.is_none() {
        // A fresh stream names its starting position first, so a client
        // that loses the connection before any other event still resumes
        // exactly (EventSource sends it back as Last-Event-ID).
        pending.push_back(position_event("ready", subscription.position));
    }
    let state = Subscriber {
        support,
        who,
        position: resume_after.unwrap_or(subscription.position),
        catching_up: resume_after.is_some(),
        subscription,
        pending,
        shutdown,
        batch,
    };
    futures::stream::unfold(state, |mut s| async move {
        s.next_frame().await.map(|frame| (Ok(frame), s))
    })
}

impl Subscriber {
    async fn next_frame(&mut self) -> Option<sse::Event> {
        loop {
            if *self.shutdown.borrow() {
                return None;
            }
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            if self.catching_up {
                if !self.read_log().await {
                    // The client reconnects with its Last-Event-ID.
                    return None;
                }
                continue;
            }
            tokio::select! {
                _ = self.shutdown.changed() => return None,
                received = self.subscription.receiver.recv() => match received {
                    Ok(event) => {
                        if let Some(frame) = self.accept(&event) {
                            return Some(frame);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }

    /// A live event, unless already delivered (or not this caller's).
    fn accept(&mut self, event: &Arc<LiveEvent>) -> Option<sse::Event> {
        if event.seq <= self.position {
            return None;
        }
        self.position = event.seq;
        event.visible_to(&self.who).then(|| event.to_sse())
    }

    /// Queues the next batch from the log. `false` when the log is
    /// unreadable.
    async fn read_log(&mut self) -> bool {
        match self
            .support
            .events_after(&self.who, self.position, self.batch)
            .await
        {
            Ok(EventReplay::Events {
                events,
                resume_after,
                complete,
            }) => {
                self.pending.extend(
                    events
                        .iter()
                        .map(|event| LiveEvent::from_event(event).to_sse()),
                );
                self.position = resume_after;
                self.catching_up = !complete;
                true
            }
            Ok(EventReplay::Reset { latest }) => {
                self.pending.push_back(position_event("reset", latest));
                self.position = latest;
                self.catching_up = false;
                true
            }
            Err(error) => {
                tracing::warn!(%error, "live stream cannot read the event log");
                false
            }
        }
    }
}

/// An event that only states a log position: `ready` (where a fresh stream
/// starts) and `reset` (where to continue after reloading state).
fn position_event(name: &'static str, at: EventSeq) -> sse::Event {
    let data = serde_json::to_string(&ResetEventBody { latest: at.0 }).unwrap_or_default();
    sse::Event::default()
        .id(at.0.to_string())
        .event(name)
        .data(data)
}
