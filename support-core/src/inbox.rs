//! Listing conversations: filters, keyset pagination and its opaque cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::conversation::{Conversation, ConversationStatus, ConversationView};
use crate::error::InvalidInput;
use crate::ids::{ConversationId, EventSeq, UserId};
use crate::message::Message;
use crate::principal::Principal;
use crate::search::SearchTerms;
use crate::seen::{self, SeenMark};

/// Which statuses a listing includes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusFilter {
    /// Open conversations only.
    Open,
    /// Closed conversations only.
    Closed,
    /// Both (the default).
    #[default]
    All,
}

impl StatusFilter {
    /// Parses `open`, `closed` or `all`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            "all" => Ok(Self::All),
            _ => Err(InvalidInput::new(
                "status",
                "must be one of open, closed, all",
            )),
        }
    }

    /// The status to filter on, if any.
    pub fn status(self) -> Option<ConversationStatus> {
        match self {
            Self::Open => Some(ConversationStatus::Open),
            Self::Closed => Some(ConversationStatus::Closed),
            Self::All => None,
        }
    }
}

/// A listing as the caller asked for it (unvalidated where it is text).
#[derive(Clone, Debug, Default)]
pub struct InboxRequest {
    /// Status filter.
    pub status: StatusFilter,
    /// Only conversations awaiting a reply.
    pub awaiting_reply: bool,
    /// Only this user's conversations (admins; for a user it can only narrow).
    pub user_id: Option<UserId>,
    /// Full-text query over message content.
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Page size bounds of a listing.
pub const INBOX_DEFAULT_LIMIT: u32 = 50;
/// Largest page of a listing.
pub const INBOX_MAX_LIMIT: u32 = 100;

/// A validated listing, scoped by the visibility rules, as storage runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxQuery {
    /// Whose unread counts to compute.
    pub viewer: UserId,
    /// Only this owner's conversations. Always the caller for a user.
    pub owner: Option<UserId>,
    /// Only this status.
    pub status: Option<ConversationStatus>,
    /// Only open conversations whose last message is the user's.
    pub awaiting_reply: bool,
    /// Only conversations with a message matching every term (prefix match).
    pub search: Option<SearchTerms>,
    /// Continue after this position.
    pub after: Option<InboxCursor>,
    /// Rows to return: the page size plus one, to learn whether more exist.
    pub fetch: u32,
}

/// One row of a listing as storage returns it; [`crate::Support`] turns it
/// into a [`ConversationView`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxRow {
    /// The conversation.
    pub conversation: Conversation,
    /// Its newest message.
    pub last_message: Option<Message>,
    /// `seen_count` of the viewer's newest seen mark, if any.
    pub viewer_seen_count: Option<i64>,
    /// The owner's stored display name, if any.
    pub user_name: Option<String>,
}

impl InboxRow {
    /// The row as `viewer` sees it. `marks` are seen marks of this
    /// conversation that may cover its newest message (others are ignored).
    pub fn into_view(self, viewer: &Principal, marks: &[SeenMark]) -> ConversationView {
        let unread_count = seen::unread_count(
            self.conversation.messages_for_reader(viewer.role),
            self.viewer_seen_count,
        );
        let own: Vec<SeenMark> = marks
            .iter()
            .filter(|mark| mark.conversation_id == self.conversation.id)
            .cloned()
            .collect();
        ConversationView {
            awaiting_reply: self.conversation.awaiting_reply(),
            last_message: self
                .last_message
                .map(|message| seen::derive_seen_by(vec![message], &own))
                .and_then(|mut views| views.pop()),
            conversation: self.conversation,
            unread_count,
            user_name: self.user_name,
        }
    }
}

/// A page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, most recent activity first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The event-log position this page reflects: every event up to it is
    /// included (later ones may be too). A live stream resumed after it
    /// misses nothing committed since the read.
    pub position: EventSeq,
}

/// Keyset position in the inbox order (`last_message_at` descending, then
/// id descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboxCursor {
    /// `last_message_at` of the last row of the previous page.
    pub last_message_at: DateTime<Utc>,
    /// Id of the last row of the previous page.
    pub id: ConversationId,
}

impl InboxCursor {
    /// The cursor that continues after `conversation`.
    pub fn after(conversation: &Conversation) -> Self {
        Self {
            last_message_at: conversation.last_message_at,
            id: conversation.id,
        }
    }

    /// Opaque text form.
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}.{}",
            self.last_message_at.timestamp_micros(),
            self.id.as_uuid().simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses what [`Self::encode`] produced.
    pub fn decode(text: &str) -> Result<Self, InvalidInput> {
        let invalid = || InvalidInput::new("cursor", "is not a cursor issued by this server");
        if text.len() > 128 {
            return Err(invalid());
        }
        let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let raw = std::str::from_utf8(&raw).map_err(|_| invalid())?;
        let (micros, id) = raw.split_once('.').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let last_message_at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        let id = id.parse().map_err(|_| invalid())?;
        Ok(Self {
            last_message_at,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = InboxCursor {
            last_message_at: DateTime::from_timestamp_micros(1_700_000_000_123_456)
                .expect("valid time"),
            id: ConversationId::new(),
        };
        assert_eq!(InboxCursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["", "abc", "!!!", &"A".repeat(200), "MTIzLm5vdGF1dWlk"] {
            assert!(InboxCursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_filter_rejects_unknown_values() {
        assert_eq!(StatusFilter::parse("open"), Ok(StatusFilter::Open));
        assert!(StatusFilter::parse("bogus").is_err());
        assert!(StatusFilter::parse("OPEN").is_err());
    }
}
