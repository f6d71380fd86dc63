//! Input is accepted or rejected identically on every backend, and what is
//! accepted comes back verbatim.

use support_core::MessagesRequest;

use crate::common::*;

async fn invalid_content_and_client_ids_are_rejected_before_storage(desk: Desk) {
    let alice = user("alice");
    let cases: [(&str, Option<&str>, &str); 8] = [
        ("", None, "content"),
        ("   \n ", None, "content"),
        ("nul \u{0} byte", None, "content"),
        ("bell \u{7}", None, "content"),
        ("carriage \r return", None, "content"),
        (&"x".repeat(10_001), None, "content"),
        ("ok", Some(""), "client_id"),
        ("ok", Some("with space"), "client_id"),
    ];
    for (content, client_id, field) in cases {
        let result = desk.try_send(&alice, content, client_id).await;
        assert_eq!(
            invalid_field(&result),
            Some(field),
            "{content:?} {client_id:?}"
        );
    }
    let page = desk
        .support
        .conversations(&alice, Default::default())
        .await
        .expect("list");
    assert!(page.items.is_empty(), "nothing was stored");
}

async fn accepted_content_round_trips_verbatim(desk: Desk) {
    let alice = user("alice");
    let texts = [
        "<script>alert('x')</script> & \"quotes\"",
        "'; DROP TABLE support_messages; --",
        "emoji 😀👍🏽 and RTL שלום and combining e\u{301}",
        "multi\nline\twith tabs",
        "\"fts\" OR NEAR(a b) * ^ : -x",
    ];
    let mut id = None;
    for text in texts {
        let sent = desk.send(&alice, &format!("  {text}  ")).await;
        assert_eq!(sent.message.message.content.as_str(), text);
        id = Some(sent.conversation.conversation.id);
    }
    let limit = "😀".repeat(10_000);
    desk.send(&alice, &limit).await;
    let page = desk
        .support
        .messages(&alice, id.expect("sent"), MessagesRequest::default())
        .await
        .expect("history");
    let stored: Vec<&str> = page
        .items
        .iter()
        .map(|m| m.message.content.as_str())
        .collect();
    let mut expected: Vec<&str> = texts.to_vec();
    expected.push(&limit);
    assert_eq!(stored, expected);
}

on_every_backend!(
    invalid_content_and_client_ids_are_rejected_before_storage,
    accepted_content_round_trips_verbatim,
);
