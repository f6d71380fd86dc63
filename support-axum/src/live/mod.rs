//! Live events: committed events fanned out to subscribers in log order.
//!
//! [`LiveHub`] is a [`support_core::Notifier`]: the core hands it each
//! committed batch. It publishes events strictly in log order (when a batch
//! arrives ahead of an earlier commit's, it reads the gap from the log), each
//! serialized once, and routes it by conversation owner: to the admins'
//! channel and to that user's channel only, so no stream tests events it
//! cannot receive. A subscriber that falls behind is caught up from the log,
//! never skipped. [`LiveFeed`] is the seam for a multi-node feed (PostgreSQL
//! `LISTEN/NOTIFY` waking [`LiveHub::catch_up`] on every node).

mod hub;
mod stream;

pub use hub::{LiveEvent, LiveFeed, LiveHub, Subscription};
pub use stream::event_stream;
