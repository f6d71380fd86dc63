//! The channel port: what a worker hands an email, webhook or log adapter.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::contacts::Contact;
use super::job::{JobId, Recipient};
use super::{Channel, NotificationKind};
use crate::error::BoxError;
use crate::ids::{ConversationId, MessageId, UserId};

/// One message a notification is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationMessage {
    /// Id.
    pub id: MessageId,
    /// The author.
    pub author: UserId,
    /// Whether an admin wrote it.
    pub is_admin_message: bool,
    /// The text, verbatim: escape it for the medium.
    pub content: String,
    /// When written.
    pub created_at: DateTime<Utc>,
}

/// What to send: decided by core at delivery time, rendered by a channel.
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    /// The delivery id: the same on every attempt of this job.
    pub delivery_id: JobId,
    /// What about.
    pub kind: NotificationKind,
    /// Through which channel.
    pub channel: Channel,
    /// For whom.
    pub recipient: Recipient,
    /// The recipient's contact details, from the host (none for the team).
    pub contact: Option<Contact>,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The conversation's user.
    pub conversation_owner: UserId,
    /// The new messages, oldest first.
    pub messages: Vec<NotificationMessage>,
    /// This attempt, from 1.
    pub attempt: u32,
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notification")
            .field("delivery_id", &self.delivery_id)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("recipient", &self.recipient)
            .field("contact", &self.contact)
            .field("conversation_id", &self.conversation_id)
            .field("messages", &self.messages.len())
            .field("attempt", &self.attempt)
            .finish()
    }
}

/// Why a due job sends nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The recipient saw the messages (or the team answered) in time.
    Seen,
    /// The recipient switched this kind off on this channel.
    OptedOut,
    /// The host knows no address of the recipient for this channel.
    NoAddress,
    /// The conversation no longer exists.
    Gone,
}

impl SkipReason {
    /// A word for the job's record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seen => "seen in time",
            Self::OptedOut => "switched off by the recipient",
            Self::NoAddress => "no address for this channel",
            Self::Gone => "conversation deleted",
        }
    }
}

/// What a due job comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// Send this.
    Send(Notification),
    /// Send nothing; the job is cancelled.
    Skip(SkipReason),
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another attempt later (timeout, connection refused, 5xx,
    /// 429, a temporary SMTP failure).
    #[error("temporary delivery failure")]
    Transient(#[source] BoxError),
    /// Another attempt would fail the same way (a 4xx, a rejected
    /// address, a target the policy refuses): the job is dead at once.
    #[error("permanent delivery failure")]
    Permanent(#[source] BoxError),
}

impl DeliveryError {
    /// A transient failure from any error.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }

    /// A permanent failure from any error.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }
}

/// A delivery channel (email, webhook, log). Held as `Arc<dyn Deliver>`.
///
/// Delivery is at least once: a channel may be called again for a job whose
/// earlier attempt reached the recipient (a crash before the job was marked
/// done). Channels pass [`Notification::delivery_id`] on (a header, a
/// `Message-ID`) so receivers can drop duplicates.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Delivers one notification.
    async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError>;
}
