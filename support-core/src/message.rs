//! Messages and their seen receipts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, MessageId, UserId};
use crate::validation::{ClientId, MessageContent};

/// One message in a conversation. Immutable once written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Id (UUIDv7).
    pub id: MessageId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Position in the conversation, from 1, gap-free. Paging and seen
    /// cursors compare positions, never clocks.
    pub seq: i64,
    /// The author.
    pub user_id: UserId,
    /// The text, validated and trimmed.
    pub content: MessageContent,
    /// Whether an admin wrote it.
    pub is_admin_message: bool,
    /// The author's idempotency key, if one was given.
    pub client_id: Option<ClientId>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Equal to `created_at` (messages are not edited yet).
    pub updated_at: DateTime<Utc>,
}

/// Who saw a message, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenReceipt {
    /// The reader.
    pub user_id: UserId,
    /// When that reader first saw the message.
    pub seen_at: DateTime<Utc>,
}

/// A message with the receipts derived for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    /// The message.
    pub message: Message,
    /// Readers on the other side who saw it, earliest first.
    pub seen_by: Vec<SeenReceipt>,
}
