//! Outbound notification channels: the delivery side of the transactional
//! outbox. Delivers the notification jobs `support-core` decides and
//! `support-sqlx` queues: a [`Worker`] claims due jobs with a lease, asks
//! core what to send, hands it to a channel and reports the outcome
//! (retrying with backoff, or marking the job dead). Delivery is at least
//! once, with the job id as a stable delivery id.
//!
//! Channels implement [`support_core::Deliver`]:
//! - [`LogChannel`]: writes what would be sent to the log (demo mode).
//! - `WebhookChannel` (feature `webhook`): a JSON body signed the Standard
//!   Webhooks way, to a host-configured URL; private and loopback targets
//!   refused unless allowed.
//! - `EmailChannel` (feature `email`): a plain-text and HTML email over
//!   SMTP (`lettre`, rustls), with a link back to the conversation.
//!
//! ```no_run
//! use std::sync::Arc;
//! use support_core::{Channel, Support};
//! use support_core::notification::StoredContacts;
//! use support_axum::outbound::{LogChannel, Worker};
//!
//! # async fn example(support: Support) {
//! let contacts = Arc::new(StoredContacts(support.storage().clone()));
//! let worker = Worker::new(support, contacts).channel(Channel::Email, Arc::new(LogChannel));
//! let (_stop, stopped) = tokio::sync::watch::channel(false);
//! tokio::spawn(worker.run(stopped));
//! # }
//! ```

#[cfg(feature = "email")]
mod email;
mod log;
mod payload;
#[cfg(feature = "webhook")]
mod webhook;
mod worker;

#[cfg(feature = "email")]
pub use email::{EmailChannel, EmailConfig, EmailError};
pub use log::LogChannel;
pub use payload::{NotificationPayload, render_text};
#[cfg(feature = "webhook")]
pub use webhook::{
    SIGNATURE_VERSION, WebhookChannel, WebhookConfig, WebhookError, WebhookSecret, sign,
};
pub use worker::{RunStats, Worker, WorkerConfig};
