//! The model: what the rules say the state must be after each step.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;

use chrono::{DateTime, Utc};
use support_core::{
    ClientId, Conversation, ConversationId, ConversationStatus, ConversationView, Message,
    MessageContent, MessageId, MessageView, SeenReceipt, SupportError,
};

use super::*;

pub(crate) struct ModelMessage {
    pub(crate) id: MessageId,
    pub(crate) author: usize,
    pub(crate) content: String,
    pub(crate) client_id: Option<String>,
    pub(crate) at: DateTime<Utc>,
}

/// One forward move of a reader's cursor.
pub(crate) struct ModelMark {
    pub(crate) reader: usize,
    pub(crate) up_to_seq: i64,
    pub(crate) seen_count: i64,
    pub(crate) at: DateTime<Utc>,
}

pub(crate) struct ModelConversation {
    pub(crate) id: ConversationId,
    pub(crate) owner: usize,
    pub(crate) open: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) closed_at: Option<DateTime<Utc>>,
    pub(crate) first_admin_reply_at: Option<DateTime<Utc>>,
    pub(crate) messages: Vec<ModelMessage>,
    /// Every mark, oldest first.
    pub(crate) marks: Vec<ModelMark>,
}

impl ModelConversation {
    /// Messages a reader of `reader`'s side can have unread, among the
    /// first `up_to_seq`.
    pub(crate) fn other_side_up_to(&self, reader: usize, up_to_seq: i64) -> i64 {
        let count = self
            .messages
            .iter()
            .take(usize::try_from(up_to_seq).expect("positive seq"))
            .filter(|m| is_admin(m.author) != is_admin(reader))
            .count();
        i64::try_from(count).expect("few messages")
    }

    pub(crate) fn other_side(&self, reader: usize) -> i64 {
        self.other_side_up_to(reader, seq(self.messages.len()))
    }

    pub(crate) fn newest_mark(&self, reader: usize) -> Option<&ModelMark> {
        self.marks.iter().rev().find(|mark| mark.reader == reader)
    }

    pub(crate) fn unread(&self, reader: usize) -> i64 {
        let seen = self.newest_mark(reader).map_or(0, |mark| mark.seen_count);
        (self.other_side(reader) - seen).max(0)
    }

    pub(crate) fn awaiting_reply(&self) -> bool {
        self.open && self.messages.last().is_some_and(|m| !is_admin(m.author))
    }

    pub(crate) fn last_message_at(&self) -> DateTime<Utc> {
        self.messages.last().map_or(self.created_at, |m| m.at)
    }

    /// Readers of the other side whose marks cover message `index`, each at
    /// their earliest covering mark, earliest first.
    pub(crate) fn receipts(&self, index: usize) -> Vec<SeenReceipt> {
        let message = &self.messages[index];
        let mut receipts: Vec<SeenReceipt> = Vec::new();
        let mut readers = HashSet::new();
        for mark in &self.marks {
            let other_side = is_admin(mark.reader) != is_admin(message.author);
            if other_side && mark.up_to_seq >= seq(index + 1) && readers.insert(mark.reader) {
                receipts.push(SeenReceipt {
                    user_id: principal(mark.reader).id,
                    seen_at: mark.at,
                });
            }
        }
        receipts
    }
}

pub(crate) fn seq(position: usize) -> i64 {
    i64::try_from(position).expect("few messages")
}

/// What the rules say an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Fail(ErrorKind),
    /// The `(author, client_id)` was used before: the original comes back.
    Replay {
        conversation: usize,
        message: usize,
    },
    /// A new message into `conversation`, or into a new conversation.
    Write {
        conversation: Option<usize>,
        reopens: bool,
    },
    /// Close or reopen (possibly a no-op).
    SetStatus {
        conversation: usize,
        open: bool,
    },
    /// Mark seen (possibly a no-op).
    Mark {
        conversation: usize,
        up_to_seq: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    NotFound,
    Forbidden,
    Conflict,
    InvalidInput,
    Storage,
}

pub(crate) fn kind(error: &SupportError) -> ErrorKind {
    match error {
        SupportError::NotFound { .. } => ErrorKind::NotFound,
        SupportError::Forbidden { .. } => ErrorKind::Forbidden,
        SupportError::Conflict { .. } => ErrorKind::Conflict,
        SupportError::InvalidInput(_) => ErrorKind::InvalidInput,
        SupportError::Storage(_) => ErrorKind::Storage,
    }
}

#[derive(Default)]
pub(crate) struct Model {
    /// In creation order.
    pub(crate) conversations: Vec<ModelConversation>,
    /// `(author, client_id)` to `(conversation, message)`.
    pub(crate) client_ids: HashMap<(usize, String), (usize, usize)>,
}

impl Model {
    pub(crate) fn can_see(&self, actor: usize, conversation: usize) -> bool {
        is_admin(actor) || self.conversations[conversation].owner == actor
    }

    pub(crate) fn open_conversation_of(&self, user: usize) -> Option<usize> {
        self.conversations
            .iter()
            .position(|c| c.owner == user && c.open)
    }

    pub(crate) fn resolve(&self, actor: usize, target: &Target) -> Option<usize> {
        let (index, fits): (_, &dyn Fn(usize) -> bool) = match target {
            Target::Own(index) => (index, &|c| self.can_see(actor, c)),
            Target::Any(index) => (index, &|_| true),
            Target::Closed(index) => (index, &|c| {
                self.can_see(actor, c) && !self.conversations[c].open
            }),
        };
        let fitting: Vec<usize> = (0..self.conversations.len()).filter(|&c| fits(c)).collect();
        // Nothing fits (a user without conversations, nothing closed): aim
        // at any conversation instead.
        let candidates = if fitting.is_empty() {
            (0..self.conversations.len()).collect()
        } else {
            fitting
        };
        (!candidates.is_empty()).then(|| candidates[index.index(candidates.len())])
    }

    /// Conversations `actor` sees, in inbox order (most recent message
    /// first), narrowed by `keep`.
    pub(crate) fn inbox(
        &self,
        actor: usize,
        keep: impl Fn(&ModelConversation) -> bool,
    ) -> Vec<usize> {
        let mut visible: Vec<usize> = (0..self.conversations.len())
            .filter(|&c| self.can_see(actor, c) && keep(&self.conversations[c]))
            .collect();
        visible.sort_by_key(|&c| {
            let conversation = &self.conversations[c];
            std::cmp::Reverse((conversation.last_message_at(), conversation.id))
        });
        visible
    }

    pub(crate) fn client_id_of(
        &self,
        actor: usize,
        client_id: Option<&String>,
    ) -> Option<(usize, usize)> {
        client_id.and_then(|key| self.client_ids.get(&(actor, key.clone())).copied())
    }

    pub(crate) fn expect_send(&self, actor: usize, client_id: Option<&String>) -> Expect {
        if is_admin(actor) {
            return Expect::Fail(ErrorKind::Forbidden);
        }
        if let Some((conversation, message)) = self.client_id_of(actor, client_id) {
            return Expect::Replay {
                conversation,
                message,
            };
        }
        // The reopen window is zero: no open conversation means a new one.
        Expect::Write {
            conversation: self.open_conversation_of(actor),
            reopens: false,
        }
    }

    pub(crate) fn expect_post(&self, actor: usize, c: usize, client_id: Option<&String>) -> Expect {
        if !self.can_see(actor, c) {
            return Expect::Fail(ErrorKind::NotFound);
        }
        if let Some((conversation, message)) = self.client_id_of(actor, client_id) {
            return if conversation == c {
                Expect::Replay {
                    conversation,
                    message,
                }
            } else {
                Expect::Fail(ErrorKind::Conflict)
            };
        }
        let conversation = &self.conversations[c];
        if conversation.open {
            return Expect::Write {
                conversation: Some(c),
                reopens: false,
            };
        }
        if !is_admin(actor) || self.has_other_open(c) {
            return Expect::Fail(ErrorKind::Conflict);
        }
        Expect::Write {
            conversation: Some(c),
            reopens: true,
        }
    }

    pub(crate) fn has_other_open(&self, c: usize) -> bool {
        self.open_conversation_of(self.conversations[c].owner)
            .is_some_and(|open| open != c)
    }

    pub(crate) fn expect_set_status(&self, actor: usize, c: usize, open: bool) -> Expect {
        if !self.can_see(actor, c) {
            return Expect::Fail(ErrorKind::NotFound);
        }
        if !is_admin(actor) {
            return Expect::Fail(ErrorKind::Forbidden);
        }
        if open && !self.conversations[c].open && self.has_other_open(c) {
            return Expect::Fail(ErrorKind::Conflict);
        }
        Expect::SetStatus {
            conversation: c,
            open,
        }
    }

    pub(crate) fn start_conversation(
        &mut self,
        owner: usize,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> usize {
        self.conversations.push(ModelConversation {
            id,
            owner,
            open: true,
            created_at: now,
            updated_at: now,
            closed_at: None,
            first_admin_reply_at: None,
            messages: Vec::new(),
            marks: Vec::new(),
        });
        self.conversations.len() - 1
    }

    /// Appends a message; whoever writes has seen what they answer.
    pub(crate) fn append(
        &mut self,
        c: usize,
        author: usize,
        id: MessageId,
        content: &str,
        client_id: Option<String>,
        now: DateTime<Utc>,
    ) -> usize {
        let conversation = &mut self.conversations[c];
        conversation.open = true;
        conversation.updated_at = now;
        if is_admin(author) {
            conversation.first_admin_reply_at.get_or_insert(now);
        }
        conversation.messages.push(ModelMessage {
            id,
            author,
            content: content.trim().to_owned(),
            client_id: client_id.clone(),
            at: now,
        });
        let index = conversation.messages.len() - 1;
        let covered = conversation.other_side(author);
        let already = conversation
            .newest_mark(author)
            .map_or(0, |mark| mark.seen_count);
        if covered > 0 && already < covered {
            conversation.marks.push(ModelMark {
                reader: author,
                up_to_seq: seq(index + 1),
                seen_count: covered,
                at: now,
            });
        }
        if let Some(key) = client_id {
            self.client_ids.insert((author, key), (c, index));
        }
        index
    }

    pub(crate) fn set_status(&mut self, c: usize, open: bool, now: DateTime<Utc>) {
        let conversation = &mut self.conversations[c];
        if conversation.open == open {
            return;
        }
        conversation.open = open;
        conversation.updated_at = now;
        if !open {
            conversation.closed_at = Some(now);
        }
    }

    /// The cursor moves only forward, and only when it covers another
    /// other-side message.
    pub(crate) fn mark_seen(
        &mut self,
        c: usize,
        reader: usize,
        up_to_seq: i64,
        now: DateTime<Utc>,
    ) {
        let conversation = &mut self.conversations[c];
        let newest = conversation.newest_mark(reader);
        if newest.is_some_and(|mark| mark.up_to_seq >= up_to_seq) {
            return;
        }
        let seen_count = conversation.other_side_up_to(reader, up_to_seq);
        if seen_count <= newest.map_or(0, |mark| mark.seen_count) {
            return;
        }
        conversation.marks.push(ModelMark {
            reader,
            up_to_seq,
            seen_count,
            at: now,
        });
    }

    // What the library should return, built from the model.

    pub(crate) fn conversation(&self, c: usize) -> Conversation {
        let model = &self.conversations[c];
        let count = |admin: bool| {
            let n = model
                .messages
                .iter()
                .filter(|m| is_admin(m.author) == admin)
                .count();
            i64::try_from(n).expect("few messages")
        };
        Conversation {
            id: model.id,
            user_id: principal(model.owner).id,
            status: if model.open {
                ConversationStatus::Open
            } else {
                ConversationStatus::Closed
            },
            created_at: model.created_at,
            updated_at: model.updated_at,
            last_message_at: model.last_message_at(),
            closed_at: model.closed_at,
            message_count: seq(model.messages.len()),
            user_message_count: count(false),
            admin_message_count: count(true),
            last_message_from_admin: model.messages.last().is_some_and(|m| is_admin(m.author)),
            first_admin_reply_at: model.first_admin_reply_at,
        }
    }

    pub(crate) fn message(&self, c: usize, index: usize) -> Message {
        let conversation = &self.conversations[c];
        let message = &conversation.messages[index];
        Message {
            id: message.id,
            conversation_id: conversation.id,
            seq: seq(index + 1),
            user_id: principal(message.author).id,
            content: MessageContent::from_stored(message.content.clone()),
            is_admin_message: is_admin(message.author),
            client_id: message
                .client_id
                .clone()
                .map(|key| ClientId::parse(key).expect("valid client id")),
            created_at: message.at,
            updated_at: message.at,
        }
    }

    pub(crate) fn message_view(&self, c: usize, index: usize) -> MessageView {
        MessageView {
            message: self.message(c, index),
            seen_by: self.conversations[c].receipts(index),
        }
    }

    pub(crate) fn view(&self, c: usize, viewer: usize) -> ConversationView {
        let conversation = &self.conversations[c];
        ConversationView {
            conversation: self.conversation(c),
            last_message: conversation
                .messages
                .len()
                .checked_sub(1)
                .map(|last| self.message_view(c, last)),
            unread_count: conversation.unread(viewer),
            awaiting_reply: conversation.awaiting_reply(),
            // The model's users never give a name (no contact details).
            user_name: None,
        }
    }
}
