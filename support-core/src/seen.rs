//! Seen tracking.
//!
//! Each reader has a cursor per conversation: "seen up to message position
//! N". The cursor only moves forward. Every forward move is stored as a
//! [`SeenMark`]; from those marks follow both the exact unread count (the
//! number of other-side messages after the newest mark) and, per message,
//! who saw it and when (the earliest mark that covers it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, MessageId, UserId};
use crate::message::{Message, MessageView, SeenReceipt};
use crate::principal::Role;

/// One forward move of a reader's seen cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenMark {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The reader.
    pub reader_id: UserId,
    /// The reader's role: marks cover only messages of the other side.
    pub reader_role: Role,
    /// The message the cursor moved to.
    pub up_to: MessageId,
    /// Its position.
    pub up_to_seq: i64,
    /// Other-side messages at or before `up_to_seq`: subtracting it from the
    /// conversation's other-side count gives the exact unread count.
    pub seen_count: i64,
    /// When the move happened.
    pub seen_at: DateTime<Utc>,
}

impl SeenMark {
    /// Whether this mark covers `message` (other side, at or before the cursor).
    pub fn covers(&self, message: &Message) -> bool {
        let other_side = message.is_admin_message == (self.reader_role == Role::User);
        other_side && message.seq <= self.up_to_seq
    }
}

/// Attaches `seen_by` to each message. `marks` are the conversation's marks
/// in any order; each reader counts once per message, at its earliest
/// covering mark.
pub fn derive_seen_by(messages: Vec<Message>, marks: &[SeenMark]) -> Vec<MessageView> {
    let mut ordered: Vec<&SeenMark> = marks.iter().collect();
    ordered.sort_by_key(|mark| (mark.seen_at, mark.up_to_seq));
    messages
        .into_iter()
        .map(|message| {
            let mut seen_by: Vec<SeenReceipt> = Vec::new();
            for mark in ordered.iter().filter(|mark| mark.covers(&message)) {
                if !seen_by.iter().any(|r| r.user_id == mark.reader_id) {
                    seen_by.push(SeenReceipt {
                        user_id: mark.reader_id.clone(),
                        seen_at: mark.seen_at,
                    });
                }
            }
            MessageView { message, seen_by }
        })
        .collect()
}

/// Exact unread count: other-side messages minus those the reader's newest
/// mark covers.
pub fn unread_count(other_side_messages: i64, newest_mark_seen_count: Option<i64>) -> i64 {
    (other_side_messages - newest_mark_seen_count.unwrap_or(0)).max(0)
}
