//! The inbox listing: order, keyset paging, filters and full-text search.

use std::collections::HashSet;

use support_core::{ConversationId, InboxRequest, Principal, StatusFilter};

use crate::common::*;

async fn list_all(desk: &Desk, who: &Principal, request: InboxRequest) -> Vec<ConversationId> {
    desk.support
        .conversations(who, request)
        .await
        .expect("list")
        .items
        .iter()
        .map(|v| v.conversation.id)
        .collect()
}

async fn most_recent_activity_comes_first(desk: Desk) {
    let ada = admin("ada");
    let a = desk.conversation_of(&user("alice"), "a").await;
    let b = desk.conversation_of(&user("bob"), "b").await;
    let c = desk.conversation_of(&user("carol"), "c").await;
    assert_eq!(
        list_all(&desk, &ada, InboxRequest::default()).await,
        vec![c, b, a]
    );
    desk.send(&user("alice"), "bump").await;
    assert_eq!(
        list_all(&desk, &ada, InboxRequest::default()).await,
        vec![a, c, b]
    );
}

async fn pages_cover_everything_once_even_with_equal_timestamps(desk: Desk) {
    let ada = admin("ada");
    let mut expected = HashSet::new();
    for n in 0..23 {
        // Every third conversation shares its timestamp with the previous one.
        if n % 3 != 0 {
            desk.tick();
        }
        let who = user(&format!("user-{n}"));
        let sent = desk
            .support
            .send(&who, message("hi", None))
            .await
            .expect("send");
        expected.insert(sent.conversation.conversation.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = desk
            .support
            .conversations(
                &ada,
                InboxRequest {
                    limit: Some(5),
                    cursor: cursor.clone(),
                    ..InboxRequest::default()
                },
            )
            .await
            .expect("page");
        pages += 1;
        assert!(page.items.len() <= 5);
        seen.extend(
            page.items
                .iter()
                .map(|v| (v.conversation.last_message_at, v.conversation.id)),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23, "no duplicates");
    assert_eq!(
        seen.iter().map(|(_, id)| *id).collect::<HashSet<_>>(),
        expected
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "most recent activity first, id breaks ties");
}

async fn filters_by_status_and_awaiting_reply(desk: Desk) {
    let ada = admin("ada");
    let waiting = desk.conversation_of(&user("alice"), "a").await;
    let answered = desk.conversation_of(&user("bob"), "b").await;
    desk.post(&ada, answered, "done").await;
    let closed = desk.conversation_of(&user("carol"), "c").await;
    desk.support.close(&ada, closed).await.expect("close");

    let open = InboxRequest {
        status: StatusFilter::Open,
        ..InboxRequest::default()
    };
    assert_eq!(list_all(&desk, &ada, open).await, vec![answered, waiting]);
    let only_closed = InboxRequest {
        status: StatusFilter::Closed,
        ..InboxRequest::default()
    };
    assert_eq!(list_all(&desk, &ada, only_closed).await, vec![closed]);
    let awaiting = InboxRequest {
        awaiting_reply: true,
        ..InboxRequest::default()
    };
    assert_eq!(list_all(&desk, &ada, awaiting).await, vec![waiting]);
}

async fn items_carry_preview_and_viewer_unread_count(desk: Desk) {
    let ada = admin("ada");
    let alice = user("alice");
    let id = desk.conversation_of(&alice, "first").await;
    desk.send(&alice, "latest words").await;
    let page = desk
        .support
        .conversations(&ada, InboxRequest::default())
        .await
        .expect("list");
    let item = &page.items[0];
    assert_eq!(item.conversation.id, id);
    assert_eq!(
        item.last_message
            .as_ref()
            .map(|m| m.message.content.as_str()),
        Some("latest words")
    );
    assert_eq!(item.unread_count, 2);
    assert!(item.awaiting_reply);
}

async fn search_matches_words_and_prefixes_in_any_message(desk: Desk) {
    let ada = admin("ada");
    let refund = desk
        .conversation_of(&user("alice"), "I want a refund")
        .await;
    desk.send(&user("alice"), "for invoice 2024-17").await;
    let login = desk
        .conversation_of(&user("bob"), "Cannot log in since Tuesday")
        .await;
    let search = |q: &str| InboxRequest {
        q: Some(q.to_owned()),
        ..InboxRequest::default()
    };
    assert_eq!(list_all(&desk, &ada, search("refund")).await, vec![refund]);
    assert_eq!(list_all(&desk, &ada, search("REFUND")).await, vec![refund]);
    assert_eq!(
        list_all(&desk, &ada, search("ref")).await,
        vec![refund],
        "prefix"
    );
    assert_eq!(
        list_all(&desk, &ada, search("invoice 2024")).await,
        vec![refund]
    );
    assert_eq!(list_all(&desk, &ada, search("tuesday")).await, vec![login]);
    assert!(
        list_all(&desk, &ada, search("refund tuesday"))
            .await
            .is_empty(),
        "all terms"
    );
    assert!(list_all(&desk, &ada, search("nothing")).await.is_empty());
    assert_eq!(
        list_all(&desk, &ada, search("   ")).await.len(),
        2,
        "blank is no filter"
    );
}

async fn search_syntax_in_user_input_is_inert(desk: Desk) {
    let ada = admin("ada");
    let id = desk
        .conversation_of(&user("alice"), "error code \"E42\" near the end")
        .await;
    let hostile = [
        "\"",
        "\"\"",
        "*",
        "E42*",
        "E42\"",
        "NEAR(error end)",
        "error OR x",
        "error AND",
        "-error",
        "^error",
        "error:*",
        "e & !x",
        "x | y",
        "(",
        ")",
        "'",
        "''",
        "\\",
        "%",
        "_",
        "' OR 1=1 --",
        "<->",
        "col:error",
        "{error}",
        "[e]",
        "😀",
        "?!",
    ];
    for q in hostile {
        let result = desk
            .support
            .conversations(
                &ada,
                InboxRequest {
                    q: Some(q.to_owned()),
                    ..InboxRequest::default()
                },
            )
            .await;
        let page = result.unwrap_or_else(|e| panic!("query {q:?} failed: {e:?}"));
        assert!(page.items.iter().all(|v| v.conversation.id == id), "{q:?}");
    }
}

async fn bad_paging_input_is_rejected(desk: Desk) {
    let ada = admin("ada");
    for limit in [0, 101] {
        let result = desk
            .support
            .conversations(
                &ada,
                InboxRequest {
                    limit: Some(limit),
                    ..InboxRequest::default()
                },
            )
            .await;
        assert_eq!(invalid_field(&result), Some("limit"));
    }
    let result = desk
        .support
        .conversations(
            &ada,
            InboxRequest {
                cursor: Some("not-a-cursor".into()),
                ..InboxRequest::default()
            },
        )
        .await;
    assert_eq!(invalid_field(&result), Some("cursor"));
}

on_every_backend!(
    most_recent_activity_comes_first,
    pages_cover_everything_once_even_with_equal_timestamps,
    filters_by_status_and_awaiting_reply,
    items_carry_preview_and_viewer_unread_count,
    search_matches_words_and_prefixes_in_any_message,
    search_syntax_in_user_input_is_inert,
    bad_paging_input_is_rejected,
);
