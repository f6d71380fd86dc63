//! The log channel: says what would be sent, sends nothing.

use async_trait::async_trait;
use support_core::{Deliver, DeliveryError, Notification};

/// Logs each notification at `info` (recipient ids and message count; no
/// contact details, no message text). For demos and development.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogChannel;

#[async_trait]
impl Deliver for LogChannel {
    async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        tracing::info!(
            delivery_id = %notification.delivery_id,
            kind = notification.kind.as_str(),
            channel = notification.channel.as_str(),
            recipient = notification.recipient.user().map_or("team", |u| u.as_str()),
            conversation = %notification.conversation_id,
            messages = notification.messages.len(),
            attempt = notification.attempt,
            "notification (log channel: nothing sent)"
        );
        Ok(())
    }
}
