//! The event log: every change appends its events in the same transaction,
//! in order; readers replay from a position or are told to reset.

use chrono::Duration;
use support_core::{Event, EventPayload, EventReplay, EventSeq, Principal};

use crate::common::*;

async fn replay(desk: &Desk, who: &Principal, after: EventSeq) -> Vec<Event> {
    match desk
        .support
        .events_after(who, after, 1000)
        .await
        .expect("replay")
    {
        EventReplay::Events { events, .. } => events,
        EventReplay::Reset { latest } => panic!("unexpected reset at {latest}"),
    }
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.payload.name()).collect()
}

async fn every_change_appends_its_events_in_order(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let start = desk.support.latest_event().await.expect("latest");
    assert_eq!(start, EventSeq(0));

    let sent = desk.send(&alice, "help").await;
    let id = sent.conversation.conversation.id;
    let reply = desk.post(&ada, id, "hi").await;
    desk.support
        .mark_seen(&alice, id, reply.message.message.id)
        .await
        .expect("seen");
    desk.support.close(&ada, id).await.expect("close");
    desk.support
        .close(&ada, id)
        .await
        .expect("idempotent close adds nothing");
    desk.support
        .mark_seen(&alice, id, reply.message.message.id)
        .await
        .expect("no-op");

    let events = replay(&desk, &ada, start).await;
    assert_eq!(
        names(&events),
        [
            "conversation.created",
            "message.created",
            // Ada's reply: the message, the conversation, and Ada's seen
            // mark over what she answered.
            "message.created",
            "conversation.updated",
            "message.seen",
            // Alice sees the reply.
            "message.seen",
            "conversation.updated",
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e.seq.0).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {seqs:?}"
    );
    assert!(events.iter().all(|e| e.conversation_owner == alice.id));
    match &events[1].payload {
        EventPayload::MessageCreated(m) => assert_eq!(m, &sent.message.message),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        desk.support.latest_event().await.expect("latest"),
        events[6].seq
    );

    // Resuming from the middle gives exactly the rest.
    let rest = replay(&desk, &ada, events[2].seq).await;
    assert_eq!(rest, events[3..].to_vec());
}

async fn replay_reports_where_to_resume_past_invisible_events(desk: Desk) {
    let alice = user("alice");
    desk.send(&user("bob"), "bob's").await;
    desk.send(&alice, "alice's").await;
    let replay = desk
        .support
        .events_after(&alice, EventSeq(0), 2)
        .await
        .expect("replay");
    match replay {
        EventReplay::Events {
            events,
            resume_after,
            complete,
        } => {
            assert!(events.is_empty(), "both of the first two events are bob's");
            assert_eq!(resume_after, EventSeq(2));
            assert!(!complete);
        }
        other => panic!("unexpected {other:?}"),
    }
}

async fn pruned_gap_means_reset(desk: Desk) {
    let alice = user("alice");
    let ada = admin("ada");
    let id = desk.conversation_of(&alice, "old").await;
    desk.clock.advance(Duration::days(10));
    desk.post(&ada, id, "new").await;
    let latest = desk.support.latest_event().await.expect("latest");

    let pruned = desk
        .support
        .prune_events(Duration::days(7))
        .await
        .expect("prune");
    assert_eq!(pruned, 2, "the first send's two events");
    assert_eq!(
        desk.support
            .events_after(&ada, EventSeq(0), 100)
            .await
            .expect("replay"),
        EventReplay::Reset { latest }
    );
    assert_eq!(
        desk.support
            .events_after(&ada, EventSeq(latest.0 + 5), 100)
            .await
            .expect("replay"),
        EventReplay::Reset { latest },
        "a position from the future (e.g. another database) resets too"
    );
    let recent = replay(&desk, &ada, EventSeq(2)).await;
    assert_eq!(
        names(&recent),
        ["message.created", "conversation.updated", "message.seen"]
    );

    desk.clock.advance(Duration::days(30));
    desk.support
        .prune_events(Duration::days(7))
        .await
        .expect("prune");
    assert_eq!(
        desk.support.latest_event().await.expect("latest"),
        latest,
        "the newest event survives pruning so positions never restart"
    );
}

on_every_backend!(
    every_change_appends_its_events_in_order,
    replay_reports_where_to_resume_past_invisible_events,
    pruned_gap_means_reset,
);
