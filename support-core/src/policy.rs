//! Who may see and do what. Every read and write path of [`crate::Support`]
//! goes through these functions; nothing else decides visibility.

use crate::conversation::Conversation;
use crate::error::SupportError;
use crate::events::Event;
use crate::ids::UserId;
use crate::principal::Principal;

/// Whether `who` may see `conversation` (and its messages and receipts).
pub fn can_see(who: &Principal, conversation: &Conversation) -> bool {
    who.is_admin() || conversation.user_id == who.id
}

/// `conversation` if `who` may see it; otherwise *not found*, so that its
/// existence does not leak.
pub(crate) fn visible(
    who: &Principal,
    conversation: Option<Conversation>,
) -> Result<Conversation, SupportError> {
    conversation
        .filter(|c| can_see(who, c))
        .ok_or_else(|| SupportError::not_found("conversation"))
}

/// Fails with *forbidden* unless `who` is an admin.
pub(crate) fn require_admin(who: &Principal, action: &'static str) -> Result<(), SupportError> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(SupportError::forbidden(action))
    }
}

/// Fails with *forbidden* unless `who` is a user.
pub(crate) fn require_user(who: &Principal, action: &'static str) -> Result<(), SupportError> {
    if who.is_admin() {
        Err(SupportError::forbidden(action))
    } else {
        Ok(())
    }
}

/// The owner filter a listing runs with. A user always sees only their own
/// conversations: asking for another user's narrows the result to nothing
/// rather than widening it. `None` for a user means "match nothing".
pub(crate) fn owner_scope(
    who: &Principal,
    requested: Option<UserId>,
) -> Result<Option<UserId>, Unscoped> {
    if who.is_admin() {
        return Ok(requested);
    }
    match requested {
        Some(other) if other != who.id => Err(Unscoped),
        _ => Ok(Some(who.id.clone())),
    }
}

/// A listing that can match nothing for this caller.
#[derive(Debug)]
pub(crate) struct Unscoped;

/// Whether `who` may receive the events of a conversation owned by
/// `owner`: admins receive all, a user only those of their own
/// conversations.
pub fn may_receive_events_of(who: &Principal, owner: &UserId) -> bool {
    who.is_admin() || *owner == who.id
}

/// Whether `who` may receive `event` (see [`may_receive_events_of`]).
pub fn may_receive(who: &Principal, event: &Event) -> bool {
    may_receive_events_of(who, &event.conversation_owner)
}
