//! The live hub's ordering and catch-up guarantees, fed from the log
//! tail, on real SQLite.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use support_axum::live::LiveHub;
use support_core::{
    EventReplay, EventSeq, LogTail, NewMessage, Principal, Storage, Support, UserId,
};
use support_sqlx::SqliteStorage;

async fn storage() -> Arc<dyn Storage> {
    Arc::new(
        SqliteStorage::connect("sqlite::memory:")
            .await
            .expect("sqlite"),
    )
}

fn user(id: &str) -> Principal {
    Principal::user(UserId::parse(id).expect("id"))
}

fn message(text: &str) -> NewMessage {
    NewMessage {
        content: text.to_owned(),
        client_id: None,
    }
}

/// The hub fed from the log, as `SupportApi::build` wires it.
fn follow_log(storage: &Arc<dyn Storage>, hub: &LiveHub) -> tokio::task::JoinHandle<()> {
    let tail = LogTail::new(Arc::clone(storage), hub.position());
    tokio::spawn(support_axum::live::follow(tail, Arc::new(hub.clone())))
}

/// Three sends of alice's (six events), and the admin reading them back
/// from the log.
async fn three_sends(storage: &Arc<dyn Storage>) -> (Support, Principal, Vec<support_core::Event>) {
    let support = Support::new(Arc::clone(storage));
    let alice = user("alice");
    for n in 0..3 {
        support
            .send(&alice, message(&format!("m{n}")))
            .await
            .expect("send");
    }
    let admin = Principal::admin(UserId::parse("ada").expect("id"));
    let EventReplay::Events { events, .. } = support
        .events_after(&admin, EventSeq(0), 100)
        .await
        .expect("log")
    else {
        panic!("events expected");
    };
    assert_eq!(events.len(), 6);
    (support, admin, events)
}

#[tokio::test]
async fn overlapping_batches_are_published_in_log_order_once() {
    let storage = storage().await;
    let hub = LiveHub::new(EventSeq(0));
    let (_, admin, events) = three_sends(&storage).await;
    let mut subscription = hub.subscribe(&admin);
    assert_eq!(subscription.position, EventSeq(0));
    hub.publish(&events[..4]);
    // Batches that overlap what was published: nothing is published twice.
    hub.publish(&events[2..]);
    hub.publish(&events[2..3]);

    let mut published = Vec::new();
    while let Ok(event) = subscription.receiver.try_recv() {
        published.push(event.seq.0);
    }
    assert_eq!(published, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(hub.position(), EventSeq(6));
}

#[tokio::test]
async fn a_host_writing_through_support_directly_gets_live_delivery() {
    let storage = storage().await;
    let hub = LiveHub::new(EventSeq(0));
    let _delivery = follow_log(&storage, &hub);
    let alice = user("alice");
    let mut subscription = hub.subscribe(&alice);
    let mut others = hub.subscribe(&user("bob"));
    // No HTTP and no notifier on the write path: the log tail publishes,
    // woken by the commit (the wait is shorter than the periodic check).
    let support = Support::new(Arc::clone(&storage));
    support.send(&alice, message("hello")).await.expect("send");
    let mut names = Vec::new();
    for _ in 0..2 {
        let event = tokio::time::timeout(Duration::from_secs(1), subscription.receiver.recv())
            .await
            .expect("delivered live")
            .expect("open channel");
        names.push(event.name);
    }
    assert_eq!(names, vec!["conversation.created", "message.created"]);
    assert!(
        others.receiver.try_recv().is_err(),
        "bob receives nothing of alice's"
    );
}

#[tokio::test]
async fn a_subscriber_that_lags_is_caught_up_from_the_log() {
    let storage = storage().await;
    let hub = LiveHub::new(EventSeq(0));
    let _delivery = follow_log(&storage, &hub);
    let support = Support::new(Arc::clone(&storage));
    let alice = user("alice");
    let subscription = hub.subscribe(&alice);
    let (_keep_running, shutdown) = tokio::sync::watch::channel(false);
    let stream = support_axum::live::event_stream(
        support.clone(),
        alice.clone(),
        subscription,
        support_axum::live::StreamStart::Fresh(EventSeq(0)),
        shutdown,
        500,
        Default::default(),
    );
    futures::pin_mut!(stream);

    // Far more events than a user's channel buffers, with nobody reading.
    let sends = 200;
    for n in 0..sends {
        support
            .send(&alice, message(&format!("m{n}")))
            .await
            .expect("send");
    }
    // The first send: conversation.created + message.created; each later
    // one: message.created + conversation.updated. The user channel holds
    // 256, so the subscriber lags and must be caught up from the log.
    // Plus the `ready` frame a fresh stream starts with, and the team's
    // `presence`, sent once when it goes live.
    let expected = 2 * sends + 2;
    let mut frames = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        frames += 1;
    }
    assert_eq!(frames, expected, "every event delivered once, none skipped");
}

#[tokio::test]
async fn a_users_channel_is_freed_when_their_last_subscription_ends() {
    let hub = LiveHub::new(EventSeq(0));
    let alice = user("alice");
    let first = hub.subscribe(&alice);
    let second = hub.subscribe(&alice);
    let bob = hub.subscribe(&user("bob"));
    let admin = Principal::admin(UserId::parse("ada").expect("id"));
    let _admin = hub.subscribe(&admin);
    assert_eq!(
        hub.user_channels(),
        2,
        "one channel per user, none for admins"
    );
    drop(first);
    assert_eq!(hub.user_channels(), 2, "alice still has a subscription");
    drop(second);
    assert_eq!(hub.user_channels(), 1, "alice's channel is gone");
    drop(bob);
    assert_eq!(hub.user_channels(), 0);
}

/// A fresh stream starts at the log position the request found: when the
/// hub already published past it, that part is read from the log; when
/// the hub lags behind it, what arrives live up to it is skipped.
#[tokio::test]
async fn a_fresh_stream_starts_exactly_at_its_position_whether_the_hub_leads_or_lags() {
    let storage = storage().await;
    let (support, admin, events) = three_sends(&storage).await;
    for (hub_at, start) in [(6, 4), (2, 4)] {
        let hub = LiveHub::new(EventSeq(0));
        hub.publish(&events[..hub_at]);
        let subscription = hub.subscribe(&admin);
        let (_keep_running, shutdown) = tokio::sync::watch::channel(false);
        let stream = support_axum::live::event_stream(
            support.clone(),
            admin.clone(),
            subscription,
            support_axum::live::StreamStart::Fresh(EventSeq(start)),
            shutdown,
            500,
            Default::default(),
        );
        futures::pin_mut!(stream);
        hub.publish(&events);
        let mut frames = 0;
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(300), stream.next()).await
        {
            frames += 1;
        }
        // `ready`, then positions 5 and 6: once each; and `presence`.
        assert_eq!(frames, 4, "hub at {hub_at}, stream from {start}");
    }
}
