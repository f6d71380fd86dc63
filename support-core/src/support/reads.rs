//! Read paths: one conversation, the inbox, message history, analytics and
//! the event log, each filtered by the visibility rules.

use crate::analytics::{Analytics, AnalyticsRange};
use crate::clock::now_micros;
use crate::conversation::ConversationView;
use crate::error::{InvalidInput, SupportError};
use crate::events::EventReplay;
use crate::ids::{ConversationId, EventSeq, MessageId, UserId};
use crate::inbox::{
    INBOX_DEFAULT_LIMIT, INBOX_MAX_LIMIT, InboxCursor, InboxQuery, InboxRequest, InboxRow, Page,
};
use crate::message::{Message, MessageView};
use crate::policy;
use crate::principal::Principal;
use crate::search::SearchTerms;
use crate::seen::derive_seen_by;
use crate::storage::MessageRange;

use crate::typing::{Typing, signal_name};

use super::Support;

/// Answered conversations needed before [`Support::usual_first_response`]
/// says anything.
pub const USUAL_RESPONSE_MIN_ANSWERED: usize = 5;

/// Default page size of a message history.
pub(crate) const MESSAGES_DEFAULT_LIMIT: u32 = 50;
/// Largest page of a message history.
pub(crate) const MESSAGES_MAX_LIMIT: u32 = 200;

/// Which page of a conversation's history to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessagesRequest {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// The page just before this message.
    pub before: Option<MessageId>,
    /// The page just after this message.
    pub after: Option<MessageId>,
}

/// A page of a conversation's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagePage {
    /// Messages, oldest first.
    pub items: Vec<MessageView>,
    /// More messages exist beyond this page in the direction asked (older
    /// ones for the default page and `before`, newer ones for `after`).
    pub has_more: bool,
    /// The event-log position this page reflects (see
    /// [`Page::position`]).
    pub position: EventSeq,
}

impl Support {
    /// One conversation as the caller sees it.
    pub async fn conversation(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<ConversationView, SupportError> {
        let row = self.visible_row(who, id).await?;
        let marks = self.storage.last_message_marks(&[id]).await?;
        Ok(row.into_view(who, &marks))
    }

    /// The caller's conversations (a user's own; an admin's: all), most
    /// recent activity first.
    pub async fn conversations(
        &self,
        who: &Principal,
        request: InboxRequest,
    ) -> Result<Page<ConversationView>, SupportError> {
        let limit = page_limit(request.limit, INBOX_DEFAULT_LIMIT, INBOX_MAX_LIMIT)?;
        let after = request
            .cursor
            .as_deref()
            .map(InboxCursor::decode)
            .transpose()?;
        // `None`: terms that can match nothing.
        let search = match request.q.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(q) => SearchTerms::parse(q)?.map(Some),
        };
        // After validating, before the rows: what was committed up to
        // here, the rows show.
        let position = self.latest_event().await?;
        let (Some(search), Ok(owner)) = (search, policy::owner_scope(who, request.user_id)) else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
                position,
            });
        };
        let query = InboxQuery {
            viewer: who.id.clone(),
            owner,
            status: request.status.status(),
            awaiting_reply: request.awaiting_reply,
            search,
            after,
            fetch: limit + 1,
        };
        let mut rows = self.storage.conversations(&query).await?;
        // Defence in depth: storage ran the owner filter; check again.
        rows.retain(|row| policy::can_see(who, &row.conversation));
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = has_more
            .then(|| {
                rows.last()
                    .map(|row| InboxCursor::after(&row.conversation).encode())
            })
            .flatten();
        let ids: Vec<ConversationId> = rows.iter().map(|row| row.conversation.id).collect();
        let marks = if ids.is_empty() {
            Vec::new()
        } else {
            self.storage.last_message_marks(&ids).await?
        };
        Ok(Page {
            items: rows
                .into_iter()
                .map(|row| row.into_view(who, &marks))
                .collect(),
            next_cursor,
            position,
        })
    }

    /// A page of a conversation's history, oldest first, with receipts.
    pub async fn messages(
        &self,
        who: &Principal,
        id: ConversationId,
        request: MessagesRequest,
    ) -> Result<MessagePage, SupportError> {
        let limit = page_limit(request.limit, MESSAGES_DEFAULT_LIMIT, MESSAGES_MAX_LIMIT)?;
        if request.before.is_some() && request.after.is_some() {
            return Err(
                InvalidInput::new("before", "give at most one of `before` and `after`").into(),
            );
        }
        self.visible_row(who, id).await?;
        let fetch = limit + 1;
        let range = match (request.before, request.after) {
            (Some(before), _) => MessageRange::Before {
                seq: self.anchor(id, before, "before").await?.seq,
                limit: fetch,
            },
            (None, Some(after)) => MessageRange::After {
                seq: self.anchor(id, after, "after").await?.seq,
                limit: fetch,
            },
            (None, None) => MessageRange::Latest { limit: fetch },
        };
        // Before the rows: what was committed up to here, the rows show.
        let position = self.latest_event().await?;
        let mut messages = self.storage.messages(id, range).await?;
        let has_more = messages.len() > limit as usize;
        // Storage returns rows nearest the anchor first; the extra row is the
        // farthest one.
        messages.truncate(limit as usize);
        messages.sort_by_key(|m| m.seq);
        let from_seq = messages.first().map_or(i64::MAX, |m| m.seq);
        let marks = if messages.is_empty() {
            Vec::new()
        } else {
            self.storage.seen_marks(id, from_seq).await?
        };
        Ok(MessagePage {
            items: derive_seen_by(messages, &marks),
            has_more,
            position,
        })
    }

    /// A conversation's row, if `who` may see it; otherwise *not found*.
    async fn visible_row(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<InboxRow, SupportError> {
        self.storage
            .conversation(id, &who.id)
            .await?
            .filter(|row| policy::can_see(who, &row.conversation))
            .ok_or_else(|| SupportError::not_found("conversation"))
    }

    async fn anchor(
        &self,
        conversation: ConversationId,
        id: MessageId,
        field: &'static str,
    ) -> Result<Message, SupportError> {
        self.storage
            .message(conversation, id)
            .await?
            .ok_or_else(|| InvalidInput::new(field, "is not a message of this conversation").into())
    }

    /// A message with its receipts.
    pub(crate) async fn with_receipts(
        &self,
        message: Message,
    ) -> Result<MessageView, SupportError> {
        let marks = self
            .storage
            .seen_marks(message.conversation_id, message.seq)
            .await?;
        Ok(derive_seen_by(vec![message], &marks)
            .pop()
            .unwrap_or_else(|| unreachable!("one message in, one view out")))
    }

    /// Support analytics (admins). See [`crate::analytics`] for definitions.
    pub async fn analytics(
        &self,
        who: &Principal,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Analytics, SupportError> {
        policy::require_admin(who, "only admins can read analytics")?;
        let range = AnalyticsRange::new(from, to, now_micros(self.clock.as_ref()))?;
        let inputs = self.storage.analytics(&range).await?;
        Ok(Analytics::compute(range, inputs))
    }

    /// A typing signal from `who` in conversation `id`, under the name the
    /// identity gave (cleaned, see [`crate::typing::signal_name`]). Not
    /// found unless `who` may see the conversation. `known_owner`: the
    /// conversation's user, when the caller remembers it from an earlier
    /// call (a conversation never changes hands), which saves the read.
    pub async fn typing(
        &self,
        who: &Principal,
        id: ConversationId,
        name: Option<&str>,
        expires_in: std::time::Duration,
        known_owner: Option<UserId>,
    ) -> Result<Typing, SupportError> {
        let owner = match known_owner {
            Some(owner) => owner,
            None => {
                let row = self.storage.conversation(id, &who.id).await?;
                policy::visible(who, row.map(|row| row.conversation))?.user_id
            }
        };
        if !policy::may_receive_events_of(who, &owner) {
            return Err(SupportError::not_found("conversation"));
        }
        Ok(Typing {
            conversation_id: id,
            conversation_owner: owner,
            who: who.id.clone(),
            role: who.role,
            name: signal_name(name),
            expires_in_ms: u32::try_from(expires_in.as_millis()).unwrap_or(u32::MAX),
        })
    }

    /// Checks that admin `who` may say they look at `conversation` (an
    /// existing one, or none), for presence. Users: forbidden (presence is
    /// about the team).
    pub async fn viewing(
        &self,
        who: &Principal,
        conversation: Option<ConversationId>,
    ) -> Result<Option<ConversationId>, SupportError> {
        policy::require_admin(who, "only admins report what they are viewing")?;
        let Some(id) = conversation else {
            return Ok(None);
        };
        let row = self.storage.conversation(id, &who.id).await?;
        Ok(Some(
            policy::visible(who, row.map(|row| row.conversation))?.id,
        ))
    }

    /// How fast the team usually answers: the median first response of
    /// the conversations created in the last 30 days, when at least
    /// [`USUAL_RESPONSE_MIN_ANSWERED`] were answered (otherwise `None`:
    /// too little to promise anything). Anyone may know it.
    pub async fn usual_first_response(&self) -> Result<Option<std::time::Duration>, SupportError> {
        let range = AnalyticsRange::new(None, None, now_micros(self.clock.as_ref()))?;
        let inputs = self.storage.analytics(&range).await?;
        let stats = Analytics::compute(range, inputs).first_response_seconds;
        Ok(stats
            .median
            .filter(|_| stats.count >= USUAL_RESPONSE_MIN_ANSWERED)
            .map(|seconds| std::time::Duration::from_secs_f64(seconds.max(0.0))))
    }

    /// Up to `limit` events after `after` that the caller may receive; or a
    /// reset when that part of the log was pruned.
    pub async fn events_after(
        &self,
        who: &Principal,
        after: EventSeq,
        limit: u32,
    ) -> Result<EventReplay, SupportError> {
        let slice = self.storage.events_after(after, limit).await?;
        let pruned = slice
            .oldest
            .is_some_and(|oldest| after.0.saturating_add(1) < oldest.0);
        if after > slice.latest || pruned {
            return Ok(EventReplay::Reset {
                latest: slice.latest,
            });
        }
        let resume_after = slice.read_through.unwrap_or(after);
        let complete = resume_after >= slice.latest;
        let events = slice
            .events
            .into_iter()
            .filter(|e| policy::may_receive(who, e))
            .collect();
        Ok(EventReplay::Events {
            events,
            resume_after,
            complete,
        })
    }

    /// The newest position in the event log (0 when empty): where a live
    /// stream that has seen nothing yet starts.
    pub async fn latest_event(&self) -> Result<EventSeq, SupportError> {
        Ok(self
            .storage
            .events_after(EventSeq(i64::MAX), 0)
            .await?
            .latest)
    }

    /// Deletes events older than `retention`, keeping the newest. Readers
    /// that fall further behind get [`EventReplay::Reset`].
    pub async fn prune_events(&self, retention: chrono::Duration) -> Result<u64, SupportError> {
        let before = now_micros(self.clock.as_ref()) - retention;
        Ok(self.storage.prune_events(before).await?)
    }
}

fn page_limit(requested: Option<u32>, default: u32, max: u32) -> Result<u32, InvalidInput> {
    match requested {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(InvalidInput::new("limit", format!("must be 1 to {max}"))),
    }
}
