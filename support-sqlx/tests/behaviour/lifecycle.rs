//! Auto-creation and the open/closed lifecycle.

use chrono::Duration;
use support_core::{ConversationStatus, InboxRequest, StatusFilter, SupportConfig};

use crate::common::*;

async fn first_message_creates_a_conversation_and_later_ones_join_it(desk: Desk) {
    let alice = user("alice");
    let first = desk.send(&alice, "Hello?").await;
    assert!(first.created);
    let conversation = &first.conversation.conversation;
    assert_eq!(conversation.user_id, alice.id);
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(first.message.message.seq, 1);
    assert_eq!(
        first
            .conversation
            .last_message
            .as_ref()
            .map(|m| m.message.id),
        Some(first.message.message.id)
    );

    let second = desk.send(&alice, "Anyone there?").await;
    assert_eq!(second.conversation.conversation.id, conversation.id);
    assert_eq!(second.message.message.seq, 2);
    assert_eq!(second.conversation.conversation.message_count, 2);

    let stored = desk
        .support
        .conversation(&alice, conversation.id)
        .await
        .expect("owner reads it");
    assert_eq!(stored.conversation, second.conversation.conversation);
    assert_eq!(
        stored
            .last_message
            .map(|m| m.message.content.into_string())
            .as_deref(),
        Some("Anyone there?")
    );
}

async fn each_user_gets_their_own_conversation(desk: Desk) {
    let a = desk.conversation_of(&user("alice"), "a").await;
    let b = desk.conversation_of(&user("bob"), "b").await;
    assert_ne!(a, b);
}

async fn admins_cannot_start_conversations(desk: Desk) {
    let result = desk.try_send(&admin("ada"), "hi", None).await;
    assert!(is_forbidden(&result), "{result:?}");
}

async fn close_and_reopen_are_admin_only_and_idempotent(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let id = desk.conversation_of(&alice, "help").await;

    let closed = desk.support.close(&ada, id).await.expect("admin closes");
    assert_eq!(closed.conversation.status, ConversationStatus::Closed);
    assert!(closed.conversation.closed_at.is_some());
    assert!(
        !closed.awaiting_reply,
        "a closed conversation awaits nothing"
    );
    let again = desk
        .support
        .close(&ada, id)
        .await
        .expect("closing twice is fine");
    assert_eq!(again.conversation, closed.conversation);

    let opened = desk.support.reopen(&ada, id).await.expect("admin reopens");
    assert_eq!(opened.conversation.status, ConversationStatus::Open);
    let again = desk
        .support
        .reopen(&ada, id)
        .await
        .expect("reopening twice is fine");
    assert_eq!(again.conversation, opened.conversation);
}

async fn user_closing_own_conversation_is_forbidden_and_foreign_is_not_found(desk: Desk) {
    let alice = user("alice");
    let id = desk.conversation_of(&alice, "help").await;
    assert!(is_forbidden(&desk.support.close(&alice, id).await));
    assert!(is_forbidden(&desk.support.reopen(&alice, id).await));
    let mallory = user("mallory");
    assert!(is_not_found(&desk.support.close(&mallory, id).await));
    assert!(is_not_found(&desk.support.reopen(&mallory, id).await));
    let view = desk
        .support
        .conversation(&alice, id)
        .await
        .expect("still there");
    assert_eq!(view.conversation.status, ConversationStatus::Open);
}

async fn user_cannot_write_into_own_closed_conversation(desk: Desk) {
    let alice = user("alice");
    let id = desk.conversation_of(&alice, "help").await;
    desk.support.close(&admin("ada"), id).await.expect("close");
    let result = desk.try_post(&alice, id, "one more thing", None).await;
    assert!(is_conflict(&result), "{result:?}");
}

async fn next_send_after_close_starts_a_new_conversation(desk: Desk) {
    let alice = user("alice");
    let first = desk.conversation_of(&alice, "help").await;
    desk.support
        .close(&admin("ada"), first)
        .await
        .expect("close");
    let next = desk.send(&alice, "new problem").await;
    assert!(next.created);
    assert_ne!(next.conversation.conversation.id, first);
    assert_eq!(next.message.message.seq, 1);
    let all = desk
        .support
        .conversations(&alice, InboxRequest::default())
        .await
        .expect("list");
    assert_eq!(all.items.len(), 2);
}

async fn reopen_window_reopens_a_recently_closed_conversation(desk: Desk) {
    let desk = desk.configure(SupportConfig {
        reopen_window: Duration::minutes(10),
        ..SupportConfig::default()
    });
    let alice = user("alice");
    let ada = admin("ada");
    let first = desk.conversation_of(&alice, "help").await;
    desk.support.close(&ada, first).await.expect("close");
    desk.clock.advance(Duration::minutes(5));
    let again = desk.send(&alice, "actually, one more thing").await;
    assert_eq!(
        again.conversation.conversation.id, first,
        "within the window"
    );
    assert_eq!(
        again.conversation.conversation.status,
        ConversationStatus::Open
    );

    desk.support.close(&ada, first).await.expect("close again");
    desk.clock.advance(Duration::minutes(10));
    let later = desk.send(&alice, "something else").await;
    assert_ne!(later.conversation.conversation.id, first, "past the window");
}

async fn admin_reply_reopens_a_closed_conversation(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let id = desk.conversation_of(&alice, "help").await;
    desk.support.close(&ada, id).await.expect("close");
    desk.post(&ada, id, "One more note").await;
    let view = desk.support.conversation(&ada, id).await.expect("read");
    assert_eq!(view.conversation.status, ConversationStatus::Open);
    assert!(!view.awaiting_reply, "the admin spoke last");
    desk.post(&alice, id, "thanks").await;
}

async fn reopening_refuses_a_second_open_conversation(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let old = desk.conversation_of(&alice, "old problem").await;
    desk.support.close(&ada, old).await.expect("close");
    let new = desk.conversation_of(&alice, "new problem").await;
    assert!(is_conflict(&desk.support.reopen(&ada, old).await));
    assert!(is_conflict(
        &desk.try_post(&ada, old, "reply to the old one", None).await
    ));
    let open = desk
        .support
        .conversations(
            &ada,
            InboxRequest {
                status: StatusFilter::Open,
                ..InboxRequest::default()
            },
        )
        .await
        .expect("list");
    let ids: Vec<_> = open.items.iter().map(|v| v.conversation.id).collect();
    assert_eq!(ids, vec![new]);
}

async fn awaiting_reply_follows_the_last_speaker(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let sent = desk.send(&alice, "help").await;
    assert!(sent.conversation.awaiting_reply);
    let id = sent.conversation.conversation.id;
    desk.post(&ada, id, "on it").await;
    assert!(
        !desk
            .support
            .conversation(&ada, id)
            .await
            .expect("read")
            .awaiting_reply
    );
    desk.post(&alice, id, "thanks").await;
    assert!(
        desk.support
            .conversation(&ada, id)
            .await
            .expect("read")
            .awaiting_reply
    );
}

on_every_backend!(
    first_message_creates_a_conversation_and_later_ones_join_it,
    each_user_gets_their_own_conversation,
    admins_cannot_start_conversations,
    close_and_reopen_are_admin_only_and_idempotent,
    user_closing_own_conversation_is_forbidden_and_foreign_is_not_found,
    user_cannot_write_into_own_closed_conversation,
    next_send_after_close_starts_a_new_conversation,
    reopen_window_reopens_a_recently_closed_conversation,
    admin_reply_reopens_a_closed_conversation,
    reopening_refuses_a_second_open_conversation,
    awaiting_reply_follows_the_last_speaker,
);
