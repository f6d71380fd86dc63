//! The notification port: told about every committed event, by the
//! process's [`crate::LogTail`].

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::Event;

/// Receives events after their transaction committed, in log order, each
/// once, from whichever process committed them.
///
/// Events are already durable in the log when this runs, so a notifier that
/// fails loses nothing: live streams catch up from the log. Implementations
/// must not block; slow work belongs on a queue. Every process that tails
/// the log tells its notifiers of every event: work that must happen once
/// per deployment (emails, webhooks) belongs in the notification outbox,
/// not here.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Called with the next committed events, oldest first.
    async fn notify(&self, events: &[Event]);
}

/// Forwards every batch to several notifiers, in order.
#[derive(Clone, Default)]
pub struct Notifiers(Vec<Arc<dyn Notifier>>);

impl Notifiers {
    /// No notifiers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn with(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.0.push(notifier);
        self
    }
}

#[async_trait]
impl Notifier for Notifiers {
    async fn notify(&self, events: &[Event]) {
        for notifier in &self.0 {
            notifier.notify(events).await;
        }
    }
}
