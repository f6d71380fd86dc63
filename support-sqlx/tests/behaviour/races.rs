//! Concurrency: the database enforces the invariants, losers retry into the
//! winner's write.

use std::sync::Arc;

use futures::future::join_all;
use support_core::{InboxRequest, MessagesRequest};

use crate::common::*;

async fn concurrent_first_messages_create_one_conversation(desk: Desk) {
    let desk = Arc::new(desk);
    let alice = user("alice");
    let sends = (0..20).map(|n| {
        let desk = Arc::clone(&desk);
        let alice = alice.clone();
        tokio::spawn(async move {
            desk.support
                .send(&alice, message(&format!("hello {n}"), None))
                .await
        })
    });
    let results: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| {
            r.as_ref()
                .expect("every send succeeds")
                .conversation
                .conversation
                .id
        })
        .collect();
    assert_eq!(ids.len(), 1, "exactly one conversation");
    let created = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|s| s.created))
        .count();
    assert_eq!(created, 20, "every message was written");
    let id = *ids.iter().next().expect("one id");
    let page = desk
        .support
        .messages(
            &alice,
            id,
            MessagesRequest {
                limit: Some(50),
                ..Default::default()
            },
        )
        .await
        .expect("history");
    let seqs: Vec<i64> = page.items.iter().map(|m| m.message.seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "gap-free positions");
    let listed = desk
        .support
        .conversations(&alice, InboxRequest::default())
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
}

async fn concurrent_sends_with_one_client_id_give_one_message(desk: Desk) {
    let desk = Arc::new(desk);
    let alice = user("alice");
    let sends = (0..50).map(|_| {
        let desk = Arc::clone(&desk);
        let alice = alice.clone();
        tokio::spawn(async move {
            desk.support
                .send(&alice, message("only once", Some("retry-me")))
                .await
        })
    });
    let results: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let messages: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.as_ref().expect("every send succeeds").message.message.id)
        .collect();
    assert_eq!(messages.len(), 1, "one message");
    let created = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|s| s.created))
        .count();
    assert_eq!(created, 1, "one writer won, the others got the original");
}

mod sqlite_file {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_messages_create_one_conversation() {
        super::concurrent_first_messages_create_one_conversation(
            crate::common::Desk::sqlite_file().await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_sends_with_one_client_id_give_one_message() {
        super::concurrent_sends_with_one_client_id_give_one_message(
            crate::common::Desk::sqlite_file().await,
        )
        .await;
    }
}

on_every_backend!(
    concurrent_first_messages_create_one_conversation,
    concurrent_sends_with_one_client_id_give_one_message,
);
