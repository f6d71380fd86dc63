//! Idempotent sends: `(author, client_id)` is unique; a retry returns the
//! original.

use support_core::{InboxRequest, MessagesRequest};

use crate::common::*;

async fn repeated_client_id_returns_the_original_message(desk: Desk) {
    let alice = user("alice");
    let first = desk
        .try_send(&alice, "hello", Some("c-1"))
        .await
        .expect("send");
    assert!(first.created);
    let retry = desk
        .try_send(&alice, "hello", Some("c-1"))
        .await
        .expect("retry");
    assert!(!retry.created);
    assert_eq!(retry.message.message, first.message.message);
    assert_eq!(
        retry.conversation.conversation.id,
        first.conversation.conversation.id
    );
    let id = first.conversation.conversation.id;
    let history = desk
        .support
        .messages(&alice, id, MessagesRequest::default())
        .await
        .expect("history");
    assert_eq!(history.items.len(), 1);
}

async fn retry_after_close_still_returns_the_original(desk: Desk) {
    let alice = user("alice");
    let first = desk
        .try_send(&alice, "hello", Some("c-1"))
        .await
        .expect("send");
    let id = first.conversation.conversation.id;
    desk.support.close(&admin("ada"), id).await.expect("close");
    let retry = desk
        .try_send(&alice, "hello", Some("c-1"))
        .await
        .expect("retry");
    assert!(!retry.created);
    assert_eq!(retry.message.message.id, first.message.message.id);
    let all = desk
        .support
        .conversations(&alice, InboxRequest::default())
        .await
        .expect("list");
    assert_eq!(all.items.len(), 1, "the retry did not start a conversation");
}

async fn admin_post_with_repeated_client_id_is_idempotent(desk: Desk) {
    let ada = admin("ada");
    let id = desk.conversation_of(&user("alice"), "help").await;
    let first = desk
        .try_post(&ada, id, "reply", Some("r-1"))
        .await
        .expect("post");
    let retry = desk
        .try_post(&ada, id, "reply", Some("r-1"))
        .await
        .expect("retry");
    assert!(first.created && !retry.created);
    assert_eq!(first.message.message, retry.message.message);
    let other = desk.conversation_of(&user("bob"), "help").await;
    let result = desk.try_post(&ada, other, "reply", Some("r-1")).await;
    assert!(
        is_conflict(&result),
        "client id reused for another conversation: {result:?}"
    );
}

async fn client_ids_are_scoped_to_their_author(desk: Desk) {
    let a = desk
        .try_send(&user("alice"), "a", Some("same"))
        .await
        .expect("alice");
    let b = desk
        .try_send(&user("bob"), "b", Some("same"))
        .await
        .expect("bob");
    assert!(a.created && b.created);
    assert_ne!(a.message.message.id, b.message.message.id);
}

on_every_backend!(
    repeated_client_id_returns_the_original_message,
    retry_after_close_still_returns_the_original,
    admin_post_with_repeated_client_id_is_idempotent,
    client_ids_are_scoped_to_their_author,
);
