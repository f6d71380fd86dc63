//! Domain events. Every state change appends its events to the event log in
//! the same transaction, so nothing is committed without its event and no
//! event exists for a change that did not commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::Conversation;
use crate::ids::{ConversationId, EventSeq, UserId};
use crate::message::Message;
use crate::seen::SeenMark;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum EventPayload {
    /// A conversation began (a user's first message).
    #[serde(rename = "conversation.created")]
    ConversationCreated(Conversation),
    /// A conversation changed: new message, closed, reopened.
    #[serde(rename = "conversation.updated")]
    ConversationUpdated(Conversation),
    /// A message was written.
    #[serde(rename = "message.created")]
    MessageCreated(Message),
    /// A reader's seen cursor moved forward.
    #[serde(rename = "message.seen")]
    MessagesSeen(SeenMark),
}

impl EventPayload {
    /// The event's name on the wire (`conversation.created`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ConversationCreated(_) => "conversation.created",
            Self::ConversationUpdated(_) => "conversation.updated",
            Self::MessageCreated(_) => "message.created",
            Self::MessagesSeen(_) => "message.seen",
        }
    }

    /// The conversation the event is about.
    pub fn conversation_id(&self) -> ConversationId {
        match self {
            Self::ConversationCreated(c) | Self::ConversationUpdated(c) => c.id,
            Self::MessageCreated(m) => m.conversation_id,
            Self::MessagesSeen(s) => s.conversation_id,
        }
    }
}

/// An event before the log assigned it a sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The owner of the conversation: who besides admins may receive it.
    pub conversation_owner: UserId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub payload: EventPayload,
}

/// An event in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Position in the log (strictly increasing in commit order).
    pub seq: EventSeq,
    /// The owner of the conversation.
    pub conversation_owner: UserId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub payload: EventPayload,
}

/// What the log holds after a position, filtered for one reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventReplay {
    /// Events after the requested position that the reader may receive,
    /// oldest first.
    Events {
        /// The events.
        events: Vec<Event>,
        /// Where the next read continues: the last position examined, which
        /// may be past the last event returned (others' events are skipped).
        resume_after: EventSeq,
        /// Whether the log holds nothing more after `resume_after` yet.
        complete: bool,
    },
    /// Events after the requested position were already pruned (or the
    /// position is unknown to this log): the reader must reload its state
    /// and continue from `latest`.
    Reset {
        /// The newest position in the log.
        latest: EventSeq,
    },
}
