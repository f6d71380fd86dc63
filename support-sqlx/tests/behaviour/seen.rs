//! Seen tracking: per-reader cursors that never move backwards, exact unread
//! counts, per-message receipts.

use support_core::{MessagesRequest, SupportError};

use crate::common::*;

async fn unread_counts_are_exact_per_reader(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let grace = admin("grace");
    let id = desk.conversation_of(&alice, "one").await;
    desk.send(&alice, "two").await;
    desk.send(&alice, "three").await;

    let unread = |who| {
        let support = desk.support.clone();
        async move {
            support
                .conversation(&who, id)
                .await
                .expect("read")
                .unread_count
        }
    };
    assert_eq!(unread(ada.clone()).await, 3);
    assert_eq!(unread(grace.clone()).await, 3);
    assert_eq!(
        unread(alice.clone()).await,
        0,
        "own messages are never unread"
    );

    for n in 0..120 {
        desk.post(&ada, id, &format!("reply {n}")).await;
    }
    assert_eq!(unread(alice.clone()).await, 120, "never capped");
    assert_eq!(
        unread(ada.clone()).await,
        0,
        "replying marks what you answered as seen"
    );
    assert_eq!(
        unread(grace.clone()).await,
        3,
        "each admin has their own cursor"
    );
}

async fn marking_seen_is_idempotent_and_never_moves_backwards(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let first = desk.send(&alice, "one").await;
    let id = first.conversation.conversation.id;
    let second = desk.send(&alice, "two").await;
    let third = desk.send(&alice, "three").await;

    desk.support
        .mark_seen(&ada, id, second.message.message.id)
        .await
        .expect("mark");
    let view = desk.support.conversation(&ada, id).await.expect("read");
    assert_eq!(view.unread_count, 1);

    desk.tick();
    desk.support
        .mark_seen(&ada, id, first.message.message.id)
        .await
        .expect("an older mark is accepted");
    desk.support
        .mark_seen(&ada, id, second.message.message.id)
        .await
        .expect("the same mark again is accepted");
    assert_eq!(
        desk.support
            .conversation(&ada, id)
            .await
            .expect("read")
            .unread_count,
        1
    );

    desk.support
        .mark_seen(&ada, id, third.message.message.id)
        .await
        .expect("mark");
    assert_eq!(
        desk.support
            .conversation(&ada, id)
            .await
            .expect("read")
            .unread_count,
        0
    );
}

async fn seen_by_lists_readers_of_the_other_side_with_first_seen_time(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let grace = admin("grace");
    let first = desk.send(&alice, "one").await;
    let id = first.conversation.conversation.id;
    let second = desk.send(&alice, "two").await;

    desk.tick();
    desk.support
        .mark_seen(&ada, id, first.message.message.id)
        .await
        .expect("mark");
    let ada_first_seen = desk.clock_now();
    desk.tick();
    desk.support
        .mark_seen(&ada, id, second.message.message.id)
        .await
        .expect("mark");
    let ada_second_seen = desk.clock_now();
    desk.tick();
    desk.support
        .mark_seen(&grace, id, second.message.message.id)
        .await
        .expect("mark");
    let grace_seen = desk.clock_now();

    let page = desk
        .support
        .messages(&alice, id, MessagesRequest::default())
        .await
        .expect("history");
    let receipts: Vec<Vec<(String, _)>> = page
        .items
        .iter()
        .map(|m| {
            m.seen_by
                .iter()
                .map(|r| (r.user_id.to_string(), r.seen_at))
                .collect()
        })
        .collect();
    assert_eq!(
        receipts,
        vec![
            vec![
                ("ada".to_owned(), ada_first_seen),
                ("grace".to_owned(), grace_seen)
            ],
            vec![
                ("ada".to_owned(), ada_second_seen),
                ("grace".to_owned(), grace_seen)
            ],
        ]
    );

    // Alice's own reader cursor never shows on her own messages.
    let reply = desk.post(&ada, id, "hello alice").await;
    desk.support
        .mark_seen(&alice, id, reply.message.message.id)
        .await
        .expect("mark");
    let page = desk
        .support
        .messages(&ada, id, MessagesRequest::default())
        .await
        .expect("history");
    let alice_receipts: Vec<usize> = page
        .items
        .iter()
        .map(|m| m.seen_by.iter().filter(|r| r.user_id == alice.id).count())
        .collect();
    assert_eq!(alice_receipts, vec![0, 0, 1]);
}

async fn seen_mark_must_name_a_message_of_the_conversation(desk: Desk) {
    let alice = user("alice");
    let bob = user("bob");
    let a = desk.conversation_of(&alice, "a").await;
    let b_message = desk.send(&bob, "b").await.message.message.id;
    let result = desk.support.mark_seen(&alice, a, b_message).await;
    assert_eq!(invalid_field(&result), Some("up_to"), "{result:?}");
    let result = desk
        .support
        .mark_seen(&alice, a, support_core::MessageId::new())
        .await;
    assert!(matches!(result, Err(SupportError::InvalidInput(_))));
}

async fn unread_is_separate_from_awaiting_reply(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let sent = desk.send(&alice, "help").await;
    let id = sent.conversation.conversation.id;
    desk.support
        .mark_seen(&ada, id, sent.message.message.id)
        .await
        .expect("mark");
    let view = desk.support.conversation(&ada, id).await.expect("read");
    assert_eq!(view.unread_count, 0, "ada has seen it");
    assert!(view.awaiting_reply, "but nobody answered yet");
}

async fn previews_carry_receipts_of_the_last_message(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let sent = desk.send(&alice, "help").await;
    let id = sent.conversation.conversation.id;
    let other = desk.conversation_of(&user("bob"), "unseen").await;
    desk.support
        .mark_seen(&ada, id, sent.message.message.id)
        .await
        .expect("mark");
    let page = desk
        .support
        .conversations(&alice, support_core::InboxRequest::default())
        .await
        .expect("list");
    let preview = page.items[0].last_message.as_ref().expect("preview");
    assert_eq!(
        preview
            .seen_by
            .iter()
            .map(|r| r.user_id.to_string())
            .collect::<Vec<_>>(),
        ["ada"]
    );
    let single = desk.support.conversation(&alice, id).await.expect("read");
    assert_eq!(single.last_message.expect("preview").seen_by.len(), 1);
    let unseen = desk.support.conversation(&ada, other).await.expect("read");
    assert!(unseen.last_message.expect("preview").seen_by.is_empty());

    desk.send(&alice, "newer").await;
    let single = desk.support.conversation(&alice, id).await.expect("read");
    assert!(
        single.last_message.expect("preview").seen_by.is_empty(),
        "the newest message is not seen yet"
    );
}

on_every_backend!(
    previews_carry_receipts_of_the_last_message,
    unread_counts_are_exact_per_reader,
    marking_seen_is_idempotent_and_never_moves_backwards,
    seen_by_lists_readers_of_the_other_side_with_first_seen_time,
    seen_mark_must_name_a_message_of_the_conversation,
    unread_is_separate_from_awaiting_reply,
);
