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

use super::hub::{LiveEvent, LiveSignal, Presence, Subscription};
use super::team::Present;
use crate::wire::{ResetEventBody, TypingEventBody};

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
    signals: SignalOptions,
    /// The presence last sent: its version (admins) or what a user learns
    /// of it; `None` until the stream first goes live.
    presence_sent: Option<PresenceSent>,
    /// Signals were missed: send the current presence again.
    presence_stale: bool,
    /// An admin's stream keeps them present while it is open.
    _present: Option<Present>,
}

/// What a stream last told of presence.
#[derive(Clone, Copy, Debug, PartialEq)]
enum PresenceSent {
    Version(u64),
    ForUsers(bool, Option<std::time::Duration>),
}

/// How a stream passes on typing and presence.
#[derive(Default)]
pub struct SignalOptions {
    /// Whether a user sees the name of the admin who types.
    pub admin_names_to_users: bool,
    /// Held while the stream is open (an admin's presence).
    pub(crate) present: Option<Present>,
}

/// Where a stream starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStart {
    /// After the client's `Last-Event-ID`: what it missed is read from the
    /// log first.
    Resume(EventSeq),
    /// A new stream, at the log's end as the request found it: it names
    /// that position first in a `ready` event, so a client that loses the
    /// connection before any other event still resumes exactly
    /// (EventSource sends it back as `Last-Event-ID`).
    Fresh(EventSeq),
}

/// The event stream of one connection, as `GET /events` serves it. The
/// stream ends when `shutdown` turns true, when the log cannot be read, or
/// when the hub goes away.
pub fn event_stream(
    support: Support,
    who: Principal,
    subscription: Subscription,
    start: StreamStart,
    shutdown: watch::Receiver<bool>,
    batch: u32,
    mut signals: SignalOptions,
) -> impl Stream<Item = Result<sse::Event, Infallible>> + Send + 'static {
    let mut pending = VecDeque::new();
    let (position, catching_up) = match start {
        StreamStart::Resume(after) => (after, true),
        StreamStart::Fresh(at) => {
            pending.push_back(position_event("ready", at));
            // The hub may lag the log (its tail has not read the newest
            // commits yet): those arrive live and are skipped up to `at`.
            // Or it may be ahead: what it published past `at` before this
            // subscription is read from the log.
            (at, subscription.position > at)
        }
    };
    let state = Subscriber {
        support,
        who,
        position,
        catching_up,
        subscription,
        pending,
        shutdown,
        batch,
        _present: signals.present.take(),
        signals,
        presence_sent: None,
        presence_stale: true,
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
            // Everything up to `position` has been given: a signal may go
            // out with it as its id.
            if self.presence_stale {
                self.presence_stale = false;
                if let Some(frame) = self.presence_frame(&self.subscription.presence()) {
                    return Some(frame);
                }
            }
            tokio::select! {
                _ = self.shutdown.changed() => return None,
                signal = self.subscription.signals.recv() => match signal {
                    Ok(signal) => {
                        if let Some(frame) = self.signal_frame(&signal) {
                            return Some(frame);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => self.presence_stale = true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
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

    /// A typing or presence frame, if this subscriber may see it and (for
    /// presence) it changes what they were told.
    fn signal_frame(&mut self, signal: &LiveSignal) -> Option<sse::Event> {
        match signal {
            LiveSignal::Typing(typing) => {
                let view = typing.as_seen_by(&self.who, self.signals.admin_names_to_users)?;
                let data = serde_json::to_string(&TypingEventBody::from(view)).unwrap_or_default();
                Some(self.signal_event("typing", &data))
            }
            LiveSignal::Presence(snapshot) => self.presence_frame(snapshot),
        }
    }

    fn presence_frame(&mut self, presence: &Presence) -> Option<sse::Event> {
        let (sent, data) = if self.who.is_admin() {
            (
                PresenceSent::Version(presence.version),
                &presence.admin_data,
            )
        } else {
            let (online, usual) = presence.snapshot.for_users();
            (PresenceSent::ForUsers(online, usual), &presence.user_data)
        };
        if self.presence_sent == Some(sent) {
            return None;
        }
        self.presence_sent = Some(sent);
        Some(self.signal_event("presence", data))
    }

    /// A signal's frame: not in the log, so its id is the position the
    /// stream has reached, and a reconnect resumes exactly as before it.
    fn signal_event(&self, name: &'static str, data: &str) -> sse::Event {
        sse::Event::default()
            .id(self.position.0.to_string())
            .event(name)
            .data(data)
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
