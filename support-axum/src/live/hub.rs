//! The in-process fan-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use axum::response::sse;
use support_core::{Event, EventSeq, Notifier, Principal, Storage, SupportError, UserId};
use tokio::sync::broadcast;

use crate::wire;

/// Events buffered per channel before a slow subscriber is caught up from
/// the log instead.
const ADMIN_CAPACITY: usize = 4096;
const USER_CAPACITY: usize = 256;
const LOG_BATCH: u32 = 512;

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
        who.is_admin() || self.owner == who.id
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

/// A source of live events for the SSE endpoint.
#[async_trait]
pub trait LiveFeed: Send + Sync + 'static {
    /// Subscribes to the events `who` may receive.
    async fn subscribe(&self, who: &Principal) -> Subscription;
}

/// In-process fan-out of committed events. See the module docs.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    storage: Arc<dyn Storage>,
    /// The last published position. Held while publishing, so publication
    /// is ordered and a subscriber's start position is exact.
    published: tokio::sync::Mutex<EventSeq>,
    admins: broadcast::Sender<Arc<LiveEvent>>,
    users: Mutex<HashMap<UserId, broadcast::Sender<Arc<LiveEvent>>>>,
}

impl LiveHub {
    /// A hub that starts at the log's current position.
    pub async fn start(storage: Arc<dyn Storage>) -> Result<Self, SupportError> {
        let latest = storage.events_after(EventSeq(i64::MAX), 0).await?.latest;
        let (admins, _) = broadcast::channel(ADMIN_CAPACITY);
        Ok(Self {
            inner: Arc::new(HubInner {
                storage,
                published: tokio::sync::Mutex::new(latest),
                admins,
                users: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Publishes whatever the log holds past the last published position:
    /// what a multi-node deployment calls when another node committed.
    pub async fn catch_up(&self) {
        let mut published = self.inner.published.lock().await;
        self.fill_from_log(&mut published, None).await;
    }

    /// Number of users with a live channel open.
    pub fn user_channels(&self) -> usize {
        self.users().len()
    }

    fn users(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<UserId, broadcast::Sender<Arc<LiveEvent>>>> {
        self.inner
            .users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, published: &mut EventSeq, event: &Event) {
        let live = Arc::new(LiveEvent::from_event(event));
        if let Some(channel) = self.users().get(&event.conversation_owner) {
            let _ = channel.send(Arc::clone(&live));
        }
        let _ = self.inner.admins.send(live);
        *published = event.seq;
    }

    /// Reads the log past `published` and publishes it, up to `until` when
    /// given (or to its end).
    async fn fill_from_log(&self, published: &mut EventSeq, until: Option<EventSeq>) {
        loop {
            let slice = match self.inner.storage.events_after(*published, LOG_BATCH).await {
                Ok(slice) => slice,
                Err(error) => {
                    // Subscribers are not lost: the next publication or a
                    // reconnect reads the log again from their position.
                    tracing::warn!(%error, "live hub cannot read the event log");
                    return;
                }
            };
            let done = (slice.events.len() as u32) < LOG_BATCH;
            for event in &slice.events {
                self.publish(published, event);
            }
            if done || until.is_some_and(|until| *published >= until) {
                return;
            }
        }
    }
}

#[async_trait]
impl Notifier for LiveHub {
    async fn notify(&self, events: &[Event]) {
        let mut published = self.inner.published.lock().await;
        let fresh: Vec<&Event> = events.iter().filter(|e| e.seq > *published).collect();
        let Some(last) = fresh.last().map(|e| e.seq) else {
            return;
        };
        let contiguous = fresh
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq.0 == published.0 + 1 + i as i64);
        if contiguous {
            for event in fresh {
                self.publish(&mut published, event);
            }
        } else {
            // An earlier commit has not been published yet (its notifier
            // call is still on its way): the log has it, in order.
            self.fill_from_log(&mut published, Some(last)).await;
        }
    }
}

#[async_trait]
impl LiveFeed for LiveHub {
    async fn subscribe(&self, who: &Principal) -> Subscription {
        let published = self.inner.published.lock().await;
        if who.is_admin() {
            return Subscription {
                receiver: self.inner.admins.subscribe(),
                position: *published,
                _cleanup: None,
            };
        }
        let receiver = self
            .users()
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
        let mut users = hub.users.lock().unwrap_or_else(|p| p.into_inner());
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
