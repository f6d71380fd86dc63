//! The in-process fan-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use axum::response::sse;
use support_core::{Event, EventSeq, LogTail, Notifier, Principal, UserId, policy};
use tokio::sync::broadcast;

use crate::wire;

/// Events buffered per channel before a slow subscriber is caught up from
/// the log instead.
const ADMIN_CAPACITY: usize = 4096;
const USER_CAPACITY: usize = 256;

/// One committed event, serialized once for every subscriber.
#[derive(Debug)]
pub struct LiveEvent {
    /// Log position; the SSE event id.
    pub seq: EventSeq,
    /// Owner of the conversation.
    pub owner: UserId,
    /// SSE event name.
    pub name: &'static str,
    /// SSE `data`: the JSON object.
    pub data: String,
}

impl LiveEvent {
    /// Serializes a committed event.
    pub fn from_event(event: &Event) -> Self {
        let data = wire::event_data(event.payload.clone()).unwrap_or_else(|error| {
            tracing::error!(%error, seq = event.seq.0, "cannot serialize event");
            "{}".to_owned()
        });
        Self {
            seq: event.seq,
            owner: event.conversation_owner.clone(),
            name: event.payload.name(),
            data,
        }
    }

    /// The SSE frame.
    pub fn to_sse(&self) -> sse::Event {
        sse::Event::default()
            .id(self.seq.0.to_string())
            .event(self.name)
            .data(&self.data)
    }

    /// Whether `who` may receive it.
    pub fn visible_to(&self, who: &Principal) -> bool {
        policy::may_receive_events_of(who, &self.owner)
    }
}

/// A subscription to live events.
pub struct Subscription {
    /// Events published after `position`, in order.
    pub receiver: broadcast::Receiver<Arc<LiveEvent>>,
    /// The log position the subscription starts after.
    pub position: EventSeq,
    _cleanup: Option<UserChannelGuard>,
}

/// In-process fan-out of committed events. See the module docs.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    /// The last published position. Held while publishing, so publication
    /// is ordered and a subscriber's start position is exact.
    published: Mutex<EventSeq>,
    admins: broadcast::Sender<Arc<LiveEvent>>,
    users: Mutex<HashMap<UserId, broadcast::Sender<Arc<LiveEvent>>>>,
}

impl LiveHub {
    /// A hub whose subscribers start after `position`: feed it the log
    /// from there ([`follow`] does, from a [`LogTail`]).
    pub fn new(position: EventSeq) -> Self {
        let (admins, _) = broadcast::channel(ADMIN_CAPACITY);
        Self {
            inner: Arc::new(HubInner {
                published: Mutex::new(position),
                admins,
                users: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The last published position.
    pub fn position(&self) -> EventSeq {
        *lock(&self.inner.published)
    }

    /// Number of users with a live channel open.
    pub fn user_channels(&self) -> usize {
        lock(&self.inner.users).len()
    }

    /// Subscribes to the events `who` may receive, from the last published
    /// position on.
    pub fn subscribe(&self, who: &Principal) -> Subscription {
        let published = lock(&self.inner.published);
        if who.is_admin() {
            return Subscription {
                receiver: self.inner.admins.subscribe(),
                position: *published,
                _cleanup: None,
            };
        }
        let receiver = lock(&self.inner.users)
            .entry(who.id.clone())
            .or_insert_with(|| broadcast::channel(USER_CAPACITY).0)
            .subscribe();
        Subscription {
            receiver,
            position: *published,
            _cleanup: Some(UserChannelGuard {
                hub: Arc::downgrade(&self.inner),
                user: who.id.clone(),
            }),
        }
    }

    /// Publishes events in log order, each once: those at or before the
    /// last published position are skipped. Routed by conversation owner
    /// to that user's channel and to the admins' channel only, so no stream
    /// sees events it cannot receive.
    pub fn publish(&self, events: &[Event]) {
        let mut published = lock(&self.inner.published);
        for event in events {
            if event.seq <= *published {
                continue;
            }
            let live = Arc::new(LiveEvent::from_event(event));
            if let Some(channel) = lock(&self.inner.users).get(&event.conversation_owner) {
                let _ = channel.send(Arc::clone(&live));
            }
            let _ = self.inner.admins.send(live);
            *published = event.seq;
        }
    }
}

#[async_trait]
impl Notifier for LiveHub {
    async fn notify(&self, events: &[Event]) {
        self.publish(events);
    }
}

/// Hands what `tail` reads to `notifier` until the storage's signal ends:
/// the task each process runs for live delivery. A failed read is logged
/// and retried at the next wake-up, from the same position.
pub async fn follow(mut tail: LogTail, notifier: Arc<dyn Notifier>) {
    while let Some(read) = tail.next().await {
        match read {
            Ok(events) => notifier.notify(&events).await,
            Err(error) => {
                tracing::warn!(%error, position = tail.position().0, "live delivery cannot read the event log");
            }
        }
    }
    tracing::error!(
        position = tail.position().0,
        "live delivery stopped: the storage's commit signal ended"
    );
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes a user's channel when their last subscription ends.
struct UserChannelGuard {
    hub: Weak<HubInner>,
    user: UserId,
}

impl Drop for UserChannelGuard {
    fn drop(&mut self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let mut users = lock(&hub.users);
        // `Subscription::receiver` is declared before the guard, so it is
        // already dropped here: zero receivers means nobody else listens.
        if users
            .get(&self.user)
            .is_some_and(|channel| channel.receiver_count() == 0)
        {
            users.remove(&self.user);
        }
    }
}
