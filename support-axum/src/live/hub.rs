//! The in-process fan-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use axum::response::sse;
use support_core::{
    AdminPresence, Event, EventSeq, LogTail, Notifier, Principal, Role, Typing, UserId, policy,
};
use tokio::sync::broadcast;

use crate::wire;

/// Events buffered per channel before a slow subscriber is caught up from
/// the log instead.
const ADMIN_CAPACITY: usize = 4096;
const USER_CAPACITY: usize = 256;
/// Typing and presence signals buffered per channel; a slow subscriber
/// misses the oldest (and is sent the current presence again).
const SIGNAL_CAPACITY: usize = 256;

/// Something live that is not in the log: never replayed, never stored.
#[derive(Debug)]
pub enum LiveSignal {
    /// Someone types.
    Typing(Typing),
    /// The team's presence changed.
    Presence(Arc<Presence>),
}

/// The team's presence as this process knows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PresenceSnapshot {
    /// Admins online or away, by name.
    pub admins: Vec<AdminPresence>,
    /// Whether any admin is online (not away).
    pub team_online: bool,
    /// How fast the team usually answers (see
    /// [`support_core::Support::usual_first_response`]).
    pub usual_first_response: Option<std::time::Duration>,
}

impl PresenceSnapshot {
    /// What a user may learn of it: whether the team is there, and how fast
    /// it answers. Who is online is for admins only.
    pub fn for_users(&self) -> (bool, Option<std::time::Duration>) {
        (self.team_online, self.usual_first_response)
    }
}

/// The presence as set, numbered, with its event data serialized once for
/// every stream (a body per admin stream would grow with admins squared).
#[derive(Debug, Default)]
pub struct Presence {
    /// What it says.
    pub snapshot: PresenceSnapshot,
    /// Increases with every change.
    pub version: u64,
    /// The `presence` event's data for admins.
    pub admin_data: String,
    /// The `presence` event's data for users.
    pub user_data: String,
}

impl Presence {
    fn new(snapshot: PresenceSnapshot, version: u64) -> Self {
        let data = |for_admin| {
            serde_json::to_string(&wire::PresenceBody::of(&snapshot, for_admin)).unwrap_or_default()
        };
        Self {
            admin_data: data(true),
            user_data: data(false),
            snapshot,
            version,
        }
    }
}

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
    /// Typing and presence signals for this subscriber's channel.
    pub signals: broadcast::Receiver<Arc<LiveSignal>>,
    /// The log position the subscription starts after.
    pub position: EventSeq,
    hub: Weak<HubInner>,
    _cleanup: Option<UserChannelGuard>,
}

impl Subscription {
    /// The team's presence as last set (the default while the hub is gone).
    pub fn presence(&self) -> Arc<Presence> {
        self.hub
            .upgrade()
            .map(|hub| Arc::clone(&lock(&hub.presence)))
            .unwrap_or_default()
    }
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
    admin_signals: broadcast::Sender<Arc<LiveSignal>>,
    users: Mutex<HashMap<UserId, UserChannel>>,
    presence: Mutex<Arc<Presence>>,
}

/// What one user's subscriptions receive.
struct UserChannel {
    events: broadcast::Sender<Arc<LiveEvent>>,
    signals: broadcast::Sender<Arc<LiveSignal>>,
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
                admin_signals: broadcast::Sender::new(SIGNAL_CAPACITY),
                users: Mutex::new(HashMap::new()),
                presence: Mutex::new(Arc::new(Presence::new(PresenceSnapshot::default(), 0))),
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
                signals: self.inner.admin_signals.subscribe(),
                position: *published,
                hub: Arc::downgrade(&self.inner),
                _cleanup: None,
            };
        }
        let mut users = lock(&self.inner.users);
        let channel = users.entry(who.id.clone()).or_insert_with(|| UserChannel {
            events: broadcast::Sender::new(USER_CAPACITY),
            signals: broadcast::Sender::new(SIGNAL_CAPACITY),
        });
        Subscription {
            receiver: channel.events.subscribe(),
            signals: channel.signals.subscribe(),
            position: *published,
            hub: Arc::downgrade(&self.inner),
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
                let _ = channel.events.send(Arc::clone(&live));
            }
            let _ = self.inner.admins.send(live);
            *published = event.seq;
        }
    }
}

impl LiveHub {
    /// Hands a typing signal to the admins' channel and, when an admin
    /// types, to the conversation's user: nobody else's stream sees it.
    pub fn typing(&self, typing: Typing) {
        let to_user = typing.role == Role::Admin;
        let owner = typing.conversation_owner.clone();
        let signal = Arc::new(LiveSignal::Typing(typing));
        if to_user && let Some(channel) = lock(&self.inner.users).get(&owner) {
            let _ = channel.signals.send(Arc::clone(&signal));
        }
        let _ = self.inner.admin_signals.send(signal);
    }

    /// The team's presence as last set.
    pub fn presence(&self) -> Arc<Presence> {
        Arc::clone(&lock(&self.inner.presence))
    }

    /// Sets the team's presence, telling the admins when it changed and
    /// the users when what they may learn of it changed.
    pub fn set_presence(&self, snapshot: PresenceSnapshot) {
        let mut current = lock(&self.inner.presence);
        if current.snapshot == snapshot {
            return;
        }
        let users_learn = current.snapshot.for_users() != snapshot.for_users();
        let presence = Arc::new(Presence::new(snapshot, current.version + 1));
        *current = Arc::clone(&presence);
        let signal = Arc::new(LiveSignal::Presence(presence));
        if users_learn {
            for channel in lock(&self.inner.users).values() {
                let _ = channel.signals.send(Arc::clone(&signal));
            }
        }
        let _ = self.inner.admin_signals.send(signal);
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

/// A mutex's guard, poisoned or not (no holder leaves its data half
/// changed).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
            .is_some_and(|channel| channel.events.receiver_count() == 0)
        {
            users.remove(&self.user);
        }
    }
}
