//! Contact details come from the host (the token's claims), are stored when
//! a user writes, and follow changes. The name is shown to admins on the
//! user's conversations.
#![allow(missing_docs)]

use support_core::UserId;
use support_e2e::{Server, on_every_backend};

async fn stored_email(server: &Server, user: &str) -> Option<String> {
    server
        .support()
        .storage()
        .contact(&UserId::parse(user).expect("id"))
        .await
        .expect("read contact")
        .and_then(|contact| contact.email)
}

async fn a_users_claimed_email_is_stored_and_follows_changes(server: Server) {
    assert_eq!(stored_email(&server, "alice").await, None);
    let alice = server.user_with_email("alice", "alice@old.example");
    alice.send("first").await;
    alice.send("second, same claims").await;
    assert_eq!(
        stored_email(&server, "alice").await.as_deref(),
        Some("alice@old.example")
    );
    let moved = server.user_with_email("alice", "alice@new.example");
    moved.send("after changing my address").await;
    assert_eq!(
        stored_email(&server, "alice").await.as_deref(),
        Some("alice@new.example"),
        "a changed address replaces the stored one"
    );
    // Typing an address into a message changes nothing.
    moved.send("my address is mallory@evil.example").await;
    assert_eq!(
        stored_email(&server, "alice").await.as_deref(),
        Some("alice@new.example")
    );
}

async fn a_users_claimed_name_is_shown_on_their_conversation_and_follows_changes(server: Server) {
    let alice = server.user_named("alice", "Alice Example");
    let sent = alice
        .post_ok(
            "/messages",
            serde_json::json!({ "content": "hello" }),
            reqwest::StatusCode::CREATED,
        )
        .await;
    assert_eq!(sent["conversation"]["user_name"], "Alice Example");
    let id = sent["conversation"]["id"].as_str().expect("id").to_owned();
    let bob = server.user("bob");
    bob.send("no name in my token").await;

    let ada = server.admin("ada");
    let listed = ada.get_ok("/conversations").await;
    let name_of = |user: &str| {
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|c| c["user_id"] == user)
            .map(|c| c["user_name"].clone())
            .expect("listed")
    };
    assert_eq!(name_of("alice"), "Alice Example");
    assert!(name_of("bob").is_null(), "no name given, none shown");
    assert_eq!(
        ada.get_ok(&format!("/conversations/{id}")).await["user_name"],
        "Alice Example"
    );
    // The owner sees it too; another user still cannot see the conversation.
    assert_eq!(
        alice.get_ok(&format!("/conversations/{id}")).await["user_name"],
        "Alice Example"
    );
    assert_eq!(
        bob.get(&format!("/conversations/{id}")).await.status(),
        reqwest::StatusCode::NOT_FOUND
    );

    let renamed = server.user_named("alice", "Alice Martin");
    renamed.send("I married").await;
    assert_eq!(
        ada.get_ok(&format!("/conversations/{id}")).await["user_name"],
        "Alice Martin",
        "a changed name replaces the stored one"
    );
}

on_every_backend!(
    a_users_claimed_email_is_stored_and_follows_changes,
    a_users_claimed_name_is_shown_on_their_conversation_and_follows_changes
);
