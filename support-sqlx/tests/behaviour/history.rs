//! Message history paging: newest page, `before`, `after`, `has_more`.

use support_core::{ConversationId, MessageId, MessagesRequest, Principal};

use crate::common::*;

async fn seqs(
    desk: &Desk,
    who: &Principal,
    id: ConversationId,
    request: MessagesRequest,
) -> (Vec<i64>, bool) {
    let page = desk.support.messages(who, id, request).await.expect("page");
    (
        page.items.iter().map(|m| m.message.seq).collect(),
        page.has_more,
    )
}

async fn pages_through_history_in_both_directions(desk: Desk) {
    let alice = user("alice");
    let mut ids: Vec<MessageId> = Vec::new();
    let mut conversation = None;
    for n in 1..=12 {
        let sent = desk.send(&alice, &format!("m{n}")).await;
        conversation = Some(sent.conversation.conversation.id);
        ids.push(sent.message.message.id);
    }
    let id = conversation.expect("sent");
    let limit = |n| MessagesRequest {
        limit: Some(n),
        ..MessagesRequest::default()
    };

    assert_eq!(
        seqs(&desk, &alice, id, limit(5)).await,
        ((8..=12).collect(), true)
    );
    assert_eq!(
        seqs(&desk, &alice, id, limit(12)).await,
        ((1..=12).collect(), false)
    );
    assert_eq!(
        seqs(&desk, &alice, id, MessagesRequest::default()).await,
        ((1..=12).collect(), false)
    );
    let before = |at: usize, n| MessagesRequest {
        limit: Some(n),
        before: Some(ids[at - 1]),
        after: None,
    };
    assert_eq!(
        seqs(&desk, &alice, id, before(8, 5)).await,
        ((3..=7).collect(), true)
    );
    assert_eq!(
        seqs(&desk, &alice, id, before(3, 5)).await,
        (vec![1, 2], false)
    );
    assert_eq!(
        seqs(&desk, &alice, id, before(6, 5)).await,
        ((1..=5).collect(), false)
    );
    let after = |at: usize, n| MessagesRequest {
        limit: Some(n),
        before: None,
        after: Some(ids[at - 1]),
    };
    assert_eq!(
        seqs(&desk, &alice, id, after(2, 5)).await,
        ((3..=7).collect(), true)
    );
    assert_eq!(
        seqs(&desk, &alice, id, after(7, 5)).await,
        ((8..=12).collect(), false)
    );
    assert_eq!(seqs(&desk, &alice, id, after(12, 5)).await, (vec![], false));
}

async fn bad_history_requests_are_rejected(desk: Desk) {
    let alice = user("alice");
    let sent = desk.send(&alice, "a").await;
    let id = sent.conversation.conversation.id;
    let m = sent.message.message.id;
    let foreign = desk.send(&user("bob"), "b").await.message.message.id;
    let cases = [
        (
            MessagesRequest {
                limit: Some(0),
                ..Default::default()
            },
            "limit",
        ),
        (
            MessagesRequest {
                limit: Some(201),
                ..Default::default()
            },
            "limit",
        ),
        (
            MessagesRequest {
                limit: None,
                before: Some(m),
                after: Some(m),
            },
            "before",
        ),
        (
            MessagesRequest {
                limit: None,
                before: Some(foreign),
                after: None,
            },
            "before",
        ),
        (
            MessagesRequest {
                limit: None,
                before: None,
                after: Some(MessageId::new()),
            },
            "after",
        ),
    ];
    for (request, field) in cases {
        let result = desk.support.messages(&alice, id, request).await;
        assert_eq!(invalid_field(&result), Some(field), "{request:?}");
    }
}

on_every_backend!(
    pages_through_history_in_both_directions,
    bad_history_requests_are_rejected,
);
