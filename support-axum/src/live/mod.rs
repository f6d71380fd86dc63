//! Live events: committed events fanned out to subscribers in log order.
//!
//! Writes publish nothing. One task per process ([`follow`]) reads the
//! event log with a [`support_core::LogTail`], woken by the storage's
//! commit signal (on PostgreSQL, the commits of every process on the
//! database), and hands each batch to the [`LiveHub`], a
//! [`support_core::Notifier`]. The hub publishes events in log order, each
//! once and serialized once, and routes each by conversation owner: to the
//! admins' channel and to that user's channel only, so no stream tests
//! events it cannot receive. A subscriber that falls behind is caught up
//! from the log, never skipped.
//!
//! Typing and presence (`team.rs`) are live too, but not in the log: they
//! travel on the storage's ephemeral bus (or a [`LocalBus`]) to every
//! process, and the hub routes them like events; a stream sends them with
//! the position it has reached as their id, so they are never replayed.

mod hub;
mod local_bus;
mod stream;
pub(crate) mod team;

pub use hub::{LiveEvent, LiveHub, LiveSignal, Presence, PresenceSnapshot, Subscription, follow};
pub use local_bus::LocalBus;
pub use stream::{SignalOptions, StreamStart, event_stream};
pub use team::TypingConfig;
