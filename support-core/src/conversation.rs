//! Conversations: one thread between a user and the support team.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, UserId};
use crate::message::{Message, MessageView};
use crate::principal::Role;

/// Open conversations take new messages; closed ones are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// Active. A user has at most one open conversation.
    Open,
    /// Resolved by an admin.
    Closed,
}

impl ConversationStatus {
    /// The lowercase name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A conversation's stored state, including the counters that make the
/// inbox cheap to serve (no per-row aggregation over messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Id (UUIDv7).
    pub id: ConversationId,
    /// The user the conversation belongs to.
    pub user_id: UserId,
    /// Open or closed.
    pub status: ConversationStatus,
    /// When the first message created it.
    pub created_at: DateTime<Utc>,
    /// Last change of any kind (message, status).
    pub updated_at: DateTime<Utc>,
    /// When its newest message was written: the inbox's sort key.
    pub last_message_at: DateTime<Utc>,
    /// When it was last closed; `None` while it has never been closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Number of messages; also the sequence number of the newest one.
    pub message_count: i64,
    /// Messages written by the user.
    pub user_message_count: i64,
    /// Messages written by admins.
    pub admin_message_count: i64,
    /// Whether the newest message is from an admin.
    pub last_message_from_admin: bool,
    /// When an admin first answered; `None` until then.
    pub first_admin_reply_at: Option<DateTime<Utc>>,
}

impl Conversation {
    /// The team-level "needs a reply" flag: open, and the newest message is
    /// the user's. Independent of any reader's unread count.
    pub fn awaiting_reply(&self) -> bool {
        self.status == ConversationStatus::Open && !self.last_message_from_admin
    }

    /// Messages written by the side opposite to `reader`: what a reader of
    /// that role can have unread.
    pub fn messages_for_reader(&self, reader: Role) -> i64 {
        match reader {
            Role::User => self.admin_message_count,
            Role::Admin => self.user_message_count,
        }
    }
}

/// A conversation as one viewer sees it: with its newest message, the
/// viewer's exact unread count and the awaiting-reply flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: Conversation,
    /// Its newest message, with its receipts.
    pub last_message: Option<MessageView>,
    /// Messages from the other side that this viewer has not seen. Exact.
    pub unread_count: i64,
    /// See [`Conversation::awaiting_reply`].
    pub awaiting_reply: bool,
    /// The owner's display name, as the host last vouched for it (the
    /// `name` of their contact details), when known.
    pub user_name: Option<String>,
}

impl Conversation {
    /// A new, empty, open conversation of `user_id`. It becomes visible to
    /// storage only together with its first message.
    pub fn start(user_id: UserId, now: DateTime<Utc>) -> Self {
        Self {
            id: ConversationId::new(),
            user_id,
            status: ConversationStatus::Open,
            created_at: now,
            updated_at: now,
            last_message_at: now,
            closed_at: None,
            message_count: 0,
            user_message_count: 0,
            admin_message_count: 0,
            last_message_from_admin: false,
            first_admin_reply_at: None,
        }
    }

    /// Appends a message by `author` and updates the counters.
    pub fn append(
        &mut self,
        author: &crate::Principal,
        content: crate::MessageContent,
        client_id: Option<crate::ClientId>,
        now: DateTime<Utc>,
    ) -> Message {
        let is_admin_message = author.role == Role::Admin;
        self.message_count += 1;
        if is_admin_message {
            self.admin_message_count += 1;
            self.first_admin_reply_at.get_or_insert(now);
        } else {
            self.user_message_count += 1;
        }
        self.last_message_from_admin = is_admin_message;
        self.last_message_at = now;
        self.updated_at = now;
        Message {
            id: crate::MessageId::new(),
            conversation_id: self.id,
            seq: self.message_count,
            user_id: author.id.clone(),
            content,
            is_admin_message,
            client_id,
            created_at: now,
            updated_at: now,
        }
    }

    /// Marks it resolved.
    pub fn close(&mut self, now: DateTime<Utc>) {
        self.status = ConversationStatus::Closed;
        self.closed_at = Some(now);
        self.updated_at = now;
    }

    /// Opens it again.
    pub fn reopen(&mut self, now: DateTime<Utc>) {
        self.status = ConversationStatus::Open;
        self.updated_at = now;
    }
}
