//! Contact details come from the host (the token's claims), are stored when
//! a user writes, and follow changes.
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

on_every_backend!(a_users_claimed_email_is_stored_and_follows_changes);
