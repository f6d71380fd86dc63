//! Users see only their own conversations; what they may not see is not
//! found, and no filter widens their view.

use support_core::{EventReplay, EventSeq, InboxRequest, MessagesRequest, StatusFilter, UserId};

use crate::common::*;

async fn user_cannot_read_foreign_conversation(desk: Desk) {
    let alice = user("alice");
    let mallory = user("mallory");
    let sent = desk.send(&alice, "my secret").await;
    let id = sent.conversation.conversation.id;
    let message = sent.message.message.id;

    assert!(is_not_found(&desk.support.conversation(&mallory, id).await));
    assert!(is_not_found(
        &desk
            .support
            .messages(&mallory, id, MessagesRequest::default())
            .await
    ));
    assert!(is_not_found(&desk.try_post(&mallory, id, "hi", None).await));
    assert!(is_not_found(
        &desk.support.mark_seen(&mallory, id, message).await
    ));

    // Nothing changed for the owner.
    let view = desk.support.conversation(&alice, id).await.expect("owner");
    assert_eq!(view.conversation.message_count, 1);
    assert_eq!(view.unread_count, 0);
}

async fn unknown_conversation_is_not_found_for_everyone(desk: Desk) {
    let id = support_core::ConversationId::new();
    assert!(is_not_found(
        &desk.support.conversation(&admin("ada"), id).await
    ));
    assert!(is_not_found(
        &desk.support.conversation(&user("alice"), id).await
    ));
    assert!(is_not_found(
        &desk.try_post(&admin("ada"), id, "hi", None).await
    ));
}

async fn user_lists_only_own_conversations_whatever_the_filters(desk: Desk) {
    let alice = user("alice");
    let mallory = user("mallory");
    desk.send(&alice, "refund for invoice 42").await;
    let own = desk
        .conversation_of(&mallory, "my own refund question")
        .await;

    let requests = [
        InboxRequest::default(),
        InboxRequest {
            status: StatusFilter::Open,
            ..InboxRequest::default()
        },
        InboxRequest {
            awaiting_reply: true,
            ..InboxRequest::default()
        },
        InboxRequest {
            q: Some("refund".into()),
            ..InboxRequest::default()
        },
        InboxRequest {
            q: Some("invoice".into()),
            ..InboxRequest::default()
        },
    ];
    for request in requests {
        let page = desk
            .support
            .conversations(&mallory, request.clone())
            .await
            .expect("list");
        assert!(
            page.items
                .iter()
                .all(|v| v.conversation.user_id == mallory.id),
            "{request:?} leaked"
        );
        assert!(page.items.len() <= 1);
        if request.q.as_deref() != Some("invoice") {
            assert_eq!(page.items.first().map(|v| v.conversation.id), Some(own));
        }
    }

    let asking_for_alice = desk
        .support
        .conversations(
            &mallory,
            InboxRequest {
                user_id: Some(alice.id.clone()),
                ..InboxRequest::default()
            },
        )
        .await
        .expect("list");
    assert!(
        asking_for_alice.items.is_empty(),
        "user_id never widens a user's view"
    );
}

async fn admin_sees_every_conversation_and_can_filter_by_user(desk: Desk) {
    let ada = admin("ada");
    let a = desk.conversation_of(&user("alice"), "a").await;
    let b = desk.conversation_of(&user("bob"), "b").await;
    let all = desk
        .support
        .conversations(&ada, InboxRequest::default())
        .await
        .expect("list");
    assert_eq!(all.items.len(), 2);
    let only_bob = desk
        .support
        .conversations(
            &ada,
            InboxRequest {
                user_id: Some(UserId::parse("bob").expect("id")),
                ..InboxRequest::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        only_bob
            .items
            .iter()
            .map(|v| v.conversation.id)
            .collect::<Vec<_>>(),
        vec![b]
    );
    assert!(desk.support.conversation(&ada, a).await.is_ok());
}

async fn analytics_is_admin_only(desk: Desk) {
    let result = desk.support.analytics(&user("alice"), None, None).await;
    assert!(is_forbidden(&result), "{result:?}");
    assert!(
        desk.support
            .analytics(&admin("ada"), None, None)
            .await
            .is_ok()
    );
}

async fn users_receive_only_events_of_their_own_conversations(desk: Desk) {
    let alice = user("alice");
    let bob = user("bob");
    let ada = admin("ada");
    let a = desk.conversation_of(&alice, "a").await;
    desk.conversation_of(&bob, "b").await;
    desk.post(&ada, a, "reply to alice").await;

    let replay = |who| {
        let support = desk.support.clone();
        async move {
            support
                .events_after(&who, EventSeq(0), 100)
                .await
                .expect("replay")
        }
    };
    let EventReplay::Events { events, .. } = replay(bob.clone()).await else {
        panic!("expected events");
    };
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e.conversation_owner == bob.id),
        "bob saw alice's events"
    );

    let EventReplay::Events { events: all, .. } = replay(ada.clone()).await else {
        panic!("expected events");
    };
    let owners: std::collections::BTreeSet<_> = all
        .iter()
        .map(|e| e.conversation_owner.to_string())
        .collect();
    assert_eq!(owners.into_iter().collect::<Vec<_>>(), ["alice", "bob"]);
}

on_every_backend!(
    user_cannot_read_foreign_conversation,
    unknown_conversation_is_not_found_for_everyone,
    user_lists_only_own_conversations_whatever_the_filters,
    admin_sees_every_conversation_and_can_filter_by_user,
    analytics_is_admin_only,
    users_receive_only_events_of_their_own_conversations,
);
