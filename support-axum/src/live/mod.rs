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

mod hub;
mod stream;

pub use hub::{LiveEvent, LiveHub, Subscription, follow};
pub use stream::{StreamStart, event_stream};
