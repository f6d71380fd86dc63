//! The notification port: told about every committed event.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::Event;

/// Receives events after their transaction committed, in log order.
///
/// Events are already durable in the log when this runs, so a notifier that
/// fails loses nothing: live streams catch up from the log. Implementations
/// must not block; slow work belongs on a queue.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Called once per committed transaction with its events.
    async fn notify(&self, events: &[Event]);
}

/// Does nothing. The default when the host wires no notifier.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopNotifier;

#[async_trait]
impl Notifier for NoopNotifier {
    async fn notify(&self, _events: &[Event]) {}
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
