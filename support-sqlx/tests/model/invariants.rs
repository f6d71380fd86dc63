//! The rules, checked against the observed state after every step.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support_core::{MessageView, Role, SupportError};

use super::*;

/// A user's inbox holds exactly their own conversations (an admin's: all),
/// and reading a foreign conversation or its history is *not found*.
pub(crate) fn users_see_only_their_own_conversations(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        prop_assert_eq!(
            ids(&seen.inboxes[actor]),
            model_ids(model, &model.inbox(actor, |_| true)),
            "inbox of {}",
            principal(actor).id
        );
        for c in 0..model.conversations.len() {
            let view = &seen.views[actor][c];
            let history = &seen.histories[actor][c];
            if model.can_see(actor, c) {
                prop_assert!(view.is_ok(), "{} reads #{c}: {view:?}", principal(actor).id);
                prop_assert!(
                    history.is_ok(),
                    "{} history #{c}: {history:?}",
                    principal(actor).id
                );
            } else {
                prop_assert!(
                    matches!(view, Err(SupportError::NotFound { .. })),
                    "{} reads foreign #{c}: {view:?}",
                    principal(actor).id
                );
                prop_assert!(
                    matches!(history, Err(SupportError::NotFound { .. })),
                    "{} reads foreign history #{c}: {history:?}",
                    principal(actor).id
                );
            }
        }
    }
    Ok(())
}

/// At most one open conversation per user, and exactly the model's.
pub(crate) fn each_user_has_at_most_one_open_conversation(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    let mut owners = HashSet::new();
    for view in &seen.open {
        prop_assert!(
            owners.insert(view.conversation.user_id.clone()),
            "{:?} has two open conversations",
            view.conversation.user_id
        );
    }
    prop_assert_eq!(
        ids(&seen.open),
        model_ids(model, &model.inbox(USERS, |c| c.open))
    );
    Ok(())
}

/// Every reader's unread count on every conversation they see is exact, in
/// the single view and in the inbox.
pub(crate) fn unread_counts_are_exact(model: &Model, seen: &Observed) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        for c in 0..model.conversations.len() {
            if let Ok(view) = &seen.views[actor][c] {
                prop_assert_eq!(
                    view.unread_count,
                    model.conversations[c].unread(actor),
                    "unread of #{} for {}",
                    c,
                    principal(actor).id
                );
            }
        }
        for (row, &c) in seen.inboxes[actor]
            .iter()
            .zip(&model.inbox(actor, |_| true))
        {
            prop_assert_eq!(
                row.unread_count,
                model.conversations[c].unread(actor),
                "inbox unread of #{} for {}",
                c,
                principal(actor).id
            );
        }
    }
    Ok(())
}

/// Without a new message from the other side, a reader's unread count never
/// grows, and a message once seen by a reader stays seen, at the same time.
pub(crate) fn seen_never_moves_backwards(
    before: Option<&Observed>,
    after: &Observed,
) -> Result<(), TestCaseError> {
    let Some(before) = before else {
        return Ok(());
    };
    for actor in 0..ACTORS {
        let role = if is_admin(actor) {
            Role::Admin
        } else {
            Role::User
        };
        for (c, (old, new)) in before.views[actor]
            .iter()
            .zip(&after.views[actor])
            .enumerate()
        {
            let (Ok(old), Ok(new)) = (old, new) else {
                continue;
            };
            if old.conversation.messages_for_reader(role)
                == new.conversation.messages_for_reader(role)
            {
                prop_assert!(
                    new.unread_count <= old.unread_count,
                    "unread of #{} for {} grew from {} to {} without a new message",
                    c,
                    principal(actor).id,
                    old.unread_count,
                    new.unread_count
                );
            }
        }
    }
    let admin = USERS;
    for (c, (old, new)) in before.histories[admin]
        .iter()
        .zip(&after.histories[admin])
        .enumerate()
    {
        let (Ok(old), Ok(new)) = (old, new) else {
            continue;
        };
        for (old, new) in old.items.iter().zip(&new.items) {
            for receipt in &old.seen_by {
                prop_assert!(
                    new.seen_by.contains(receipt),
                    "receipt {:?} on message {} of #{} disappeared",
                    receipt,
                    old.message.seq,
                    c
                );
            }
        }
    }
    Ok(())
}

/// No two messages share an `(author, client_id)`.
pub(crate) fn client_ids_never_duplicate_a_message(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    let mut keys = HashSet::new();
    let mut total = 0;
    for page in seen.histories[USERS].iter().flatten() {
        for item in &page.items {
            total += 1;
            if let Some(client_id) = &item.message.client_id {
                prop_assert!(
                    keys.insert((item.message.user_id.clone(), client_id.clone())),
                    "{:?} used {:?} twice",
                    item.message.user_id,
                    client_id
                );
            }
        }
    }
    let expected: usize = model.conversations.iter().map(|c| c.messages.len()).sum();
    prop_assert_eq!(total, expected, "messages in all histories");
    Ok(())
}

/// `awaiting_reply`: open, and the user spoke last.
pub(crate) fn awaiting_reply_follows_the_last_speaker(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        for c in 0..model.conversations.len() {
            if let Ok(view) = &seen.views[actor][c] {
                prop_assert_eq!(
                    view.awaiting_reply,
                    model.conversations[c].awaiting_reply(),
                    "awaiting_reply of #{}",
                    c
                );
            }
        }
    }
    prop_assert_eq!(
        ids(&seen.awaiting),
        model_ids(
            model,
            &model.inbox(USERS, ModelConversation::awaiting_reply)
        )
    );
    Ok(())
}

/// Everything else a reader sees (status, counters, timestamps, last
/// message, history, receipts) is what the model says.
pub(crate) fn every_view_matches_the_model(
    model: &Model,
    seen: &Observed,
) -> Result<(), TestCaseError> {
    for actor in 0..ACTORS {
        for (row, &c) in seen.inboxes[actor]
            .iter()
            .zip(&model.inbox(actor, |_| true))
        {
            prop_assert_eq!(row, &model.view(c, actor), "inbox row #{}", c);
        }
        for c in 0..model.conversations.len() {
            if let Ok(view) = &seen.views[actor][c] {
                prop_assert_eq!(view, &model.view(c, actor), "view of #{}", c);
            }
            if let Ok(page) = &seen.histories[actor][c] {
                let expected: Vec<MessageView> = (0..model.conversations[c].messages.len())
                    .map(|index| model.message_view(c, index))
                    .collect();
                prop_assert_eq!(&page.items, &expected, "history of #{}", c);
                prop_assert!(!page.has_more);
            }
        }
    }
    Ok(())
}
