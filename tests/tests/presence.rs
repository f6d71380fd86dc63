//! Typing and presence over real HTTP, on SQLite and PostgreSQL: who is
//! told of whose typing, the throttle under a flood, signals that never
//! enter the log, and admins' presence from their open streams (several
//! processes: `nodes.rs`).
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_e2e::{Actor, EventStream, PRESENCE_GRACE_SECS, Server, SseEvent, expect};

support_e2e::on_every_backend!(
    typing_reaches_the_other_side_and_the_team_only,
    a_flood_of_typing_is_throttled_and_never_an_error,
    a_send_lets_the_next_typing_signal_out_at_once,
    signals_are_not_in_the_log_and_never_replayed,
    an_admin_is_present_while_a_stream_is_open_and_for_the_grace_period,
    admins_see_what_other_admins_view_and_users_never_see_who,
    the_usual_response_time_shows_once_enough_was_answered,
    the_team_stays_online_while_an_admin_stays_connected,
    a_resume_from_a_signals_id_skips_and_repeats_nothing,
);

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(500);

async fn typing(actor: &Actor, conversation: &str) -> StatusCode {
    actor
        .request(
            Method::POST,
            &format!("/conversations/{conversation}/typing"),
        )
        .send()
        .await
        .expect("POST typing")
        .status()
}

/// The signals of `name` that arrive until the stream is quiet.
async fn drain_named(stream: &mut EventStream, name: &str) -> Vec<SseEvent> {
    stream
        .drain(QUIET)
        .await
        .into_iter()
        .filter(|e| e.event == name)
        .collect()
}

async fn next_named(stream: &mut EventStream, name: &str) -> SseEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = stream
            .next(left)
            .await
            .unwrap_or_else(|| panic!("no {name} event within {WAIT:?}"));
        if event.event == name {
            return event;
        }
    }
}

/// Waits until `GET /presence` as `actor` satisfies `check`.
async fn presence_until(actor: &Actor, check: impl Fn(&Value) -> bool, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(u64::from(PRESENCE_GRACE_SECS) + 5);
    loop {
        let presence = actor.get_ok("/presence").await;
        if check(&presence) {
            return presence;
        }
        assert!(Instant::now() < deadline, "{what}: presence is {presence}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn admin_ids(presence: &Value) -> Vec<&str> {
    presence["admins"]
        .as_array()
        .map(|admins| {
            admins
                .iter()
                .filter_map(|a| a["user_id"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

async fn typing_reaches_the_other_side_and_the_team_only(server: Server) {
    let alice = server.user_named("alice", "Alice Example");
    let (conversation, _) = alice.send("Hello?").await;
    let ada = server.admin("ada");
    let mut alice_stream = alice.signals().await;
    let mut bob_stream = server.user("bob").signals().await;
    let mut ada_stream = ada.signals().await;
    let mut grace_stream = server.admin("grace").signals().await;

    assert_eq!(typing(&ada, &conversation).await, StatusCode::NO_CONTENT);
    let seen = next_named(&mut alice_stream, "typing").await.data;
    assert_eq!(
        seen,
        json!({
            "conversation_id": conversation, "role": "admin", "user_id": null,
            "name": null, "expires_in_ms": 6000
        }),
        "the user learns that the team types, not who"
    );
    let seen = next_named(&mut grace_stream, "typing").await.data;
    assert_eq!(
        (seen["role"].as_str(), seen["user_id"].as_str()),
        (Some("admin"), Some("ada"))
    );

    // (Not within a moment of her message: see the next tests.)
    tokio::time::sleep(support_core::typing::QUIET_AFTER_SEND).await;
    assert_eq!(typing(&alice, &conversation).await, StatusCode::NO_CONTENT);
    for stream in [&mut ada_stream, &mut grace_stream] {
        let seen = next_named(stream, "typing").await.data;
        assert_eq!(seen["user_id"], "alice");
        assert_eq!(seen["role"], "user");
        assert_eq!(seen["name"], "Alice Example");
    }

    assert!(
        drain_named(&mut bob_stream, "typing").await.is_empty(),
        "another user is told of nobody's typing"
    );
    let alices = drain_named(&mut alice_stream, "typing").await;
    assert!(
        alices.is_empty(),
        "nobody is told of their own typing: {alices:?}"
    );
    let adas = drain_named(&mut ada_stream, "typing").await;
    assert!(
        adas.is_empty(),
        "nobody is told of their own typing: {adas:?}"
    );

    // Typing where one may not look is not found, and tells nobody.
    let bob = server.user("bob");
    let (bobs, _) = bob.send("mine").await;
    assert_eq!(typing(&alice, &bobs).await, StatusCode::NOT_FOUND);
    // Also once the server remembers whose conversation it is.
    tokio::time::sleep(support_core::typing::QUIET_AFTER_SEND).await;
    assert_eq!(typing(&bob, &bobs).await, StatusCode::NO_CONTENT);
    assert_eq!(typing(&alice, &bobs).await, StatusCode::NOT_FOUND);
    let _ = next_named(&mut ada_stream, "typing").await;
    assert!(drain_named(&mut ada_stream, "typing").await.is_empty());
}

async fn a_flood_of_typing_is_throttled_and_never_an_error(server: Server) {
    let alice = server.user("alice");
    let (conversation, _) = alice.send("Hello?").await;
    let ada = server.admin("ada");
    let mut alice_stream = alice.signals().await;

    let started = Instant::now();
    let statuses = futures::future::join_all((0..200).map(|_| typing(&ada, &conversation))).await;
    let elapsed = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "every signal is accepted: {statuses:?}"
    );
    let received = drain_named(&mut alice_stream, "typing").await;
    // One per 2 s interval at most (the flood took `elapsed`).
    let allowed = 1 + (elapsed.as_secs_f64() / 2.0).floor() as usize;
    assert!(
        !received.is_empty() && received.len() <= allowed,
        "{} signals out of 200 in {elapsed:?} (at most {allowed})",
        received.len()
    );
}

async fn a_send_lets_the_next_typing_signal_out_at_once(server: Server) {
    let alice = server.user("alice");
    let (conversation, _) = alice.send("Hello?").await;
    let ada = server.admin("ada");
    let mut alice_stream = alice.signals().await;
    typing(&ada, &conversation).await;
    typing(&ada, &conversation).await;
    assert_eq!(drain_named(&mut alice_stream, "typing").await.len(), 1);

    ada.reply(&conversation, "Looking into it").await;
    // A signal right after the message was typed before it: dropped, or
    // it would show the indicator again after the message.
    typing(&ada, &conversation).await;
    assert!(drain_named(&mut alice_stream, "typing").await.is_empty());
    tokio::time::sleep(support_core::typing::QUIET_AFTER_SEND).await;
    typing(&ada, &conversation).await;
    assert_eq!(
        drain_named(&mut alice_stream, "typing").await.len(),
        1,
        "after a send, the person types anew (within the throttle interval)"
    );
}

async fn signals_are_not_in_the_log_and_never_replayed(server: Server) {
    let alice = server.user("alice");
    let (conversation, message) = alice.send("Hello?").await;
    let ada = server.admin("ada");
    let mut alice_stream = alice.signals().await;
    let position = alice_stream.ready.clone().expect("ready id");
    typing(&ada, &conversation).await;
    let signal = next_named(&mut alice_stream, "typing").await;
    assert_eq!(
        signal.id.as_deref(),
        Some(position.as_str()),
        "a signal's id is the position the stream reached"
    );

    // A resume from the start replays the log: no typing in it.
    let mut replay = alice.events(Some("0")).await;
    replay.signals = true;
    let replayed = replay.drain(QUIET).await;
    assert!(
        replayed
            .iter()
            .any(|e| e.event == "message.created" && e.data["id"] == message["id"]),
        "the replay has the log: {replayed:?}"
    );
    assert!(
        replayed.iter().all(|e| e.event != "typing"),
        "typing is never replayed: {replayed:?}"
    );
    let log = server
        .support()
        .events_after(
            &support_core::Principal::admin(support_core::UserId::parse("ada").expect("id")),
            support_core::EventSeq(0),
            1000,
        )
        .await
        .expect("log");
    let support_core::EventReplay::Events { events, .. } = log else {
        panic!("no reset expected");
    };
    assert_eq!(
        events.len(),
        2,
        "the log holds the conversation and the message, no signal: {events:?}"
    );
}

async fn an_admin_is_present_while_a_stream_is_open_and_for_the_grace_period(server: Server) {
    let alice = server.user("alice");
    let ada = server.admin("ada");
    let before = alice.get_ok("/presence").await;
    assert_eq!(
        before,
        json!({ "team_online": false, "usual_first_response_seconds": null })
    );
    let mut alice_stream = alice.signals().await;
    let first = next_named(&mut alice_stream, "presence").await;
    assert_eq!(first.data["team_online"], false);

    let ada_stream = ada.signals().await;
    let online = next_named(&mut alice_stream, "presence").await;
    assert_eq!(
        online.data,
        json!({ "team_online": true, "usual_first_response_seconds": null }),
        "a user learns that the team is there, not who"
    );
    let presence = ada.get_ok("/presence").await;
    assert_eq!(admin_ids(&presence), ["ada"]);
    assert_eq!(presence["admins"][0]["status"], "online");

    drop(ada_stream);
    let closed = Instant::now();
    // A reload is not "offline": still there for the grace period.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(alice.get_ok("/presence").await["team_online"], true);
    let offline = next_named(&mut alice_stream, "presence").await;
    assert_eq!(offline.data["team_online"], false);
    let after = closed.elapsed();
    assert!(
        after >= Duration::from_secs(u64::from(PRESENCE_GRACE_SECS)),
        "offline after {after:?}, before the grace period"
    );
    assert!(admin_ids(&server.admin("grace").get_ok("/presence").await).is_empty());
}

async fn admins_see_what_other_admins_view_and_users_never_see_who(server: Server) {
    let alice = server.user("alice");
    let (conversation, _) = alice.send("Hello?").await;
    let ada = server.admin("ada");
    let _ada_stream = ada.signals().await;
    let mut grace_stream = server.admin("grace").signals().await;
    let mut alice_stream = alice.signals().await;
    let response = ada
        .request(Method::PUT, "/presence")
        .json(&json!({ "viewing": conversation }))
        .send()
        .await
        .expect("PUT presence");
    expect(response, StatusCode::NO_CONTENT).await;

    let deadline = Instant::now() + WAIT;
    loop {
        let event = next_named(&mut grace_stream, "presence").await;
        let viewing = event.data["admins"]
            .as_array()
            .expect("admins")
            .iter()
            .find(|a| a["user_id"] == "ada")
            .map(|a| a["viewing"].clone());
        if viewing == Some(json!([conversation])) {
            break;
        }
        assert!(Instant::now() < deadline, "ada's view never showed");
    }
    for event in alice_stream.drain(QUIET).await {
        assert!(
            event.data.get("admins").is_none() && !event.data.to_string().contains("ada"),
            "a user never learns who is online or what they view: {event:?}"
        );
    }
    let as_user = alice.get_ok("/presence").await;
    assert!(as_user.get("admins").is_none(), "{as_user}");
}

async fn the_usual_response_time_shows_once_enough_was_answered(server: Server) {
    let ada = server.admin("ada");
    let mut unanswered = None;
    for n in 0..support_core::USUAL_RESPONSE_MIN_ANSWERED {
        let (conversation, _) = server.user(&format!("user-{n}")).send("Hello?").await;
        if n == 0 {
            unanswered = Some(conversation);
        } else {
            ada.reply(&conversation, "Hi").await;
        }
    }
    // Read when a server starts, then every 10 minutes.
    let server = server.restart().await;
    assert_eq!(
        server.user("alice").get_ok("/presence").await["usual_first_response_seconds"],
        Value::Null,
        "too few answered to promise anything"
    );
    let conversation = unanswered.expect("a conversation");
    server.admin("ada").reply(&conversation, "Hi").await;
    let server = server.restart().await;
    let usual = presence_until(
        &server.user("alice"),
        |p| !p["usual_first_response_seconds"].is_null(),
        "the usual response time",
    )
    .await;
    // Answered within the test: seconds at most.
    let seconds = usual["usual_first_response_seconds"]
        .as_u64()
        .expect("seconds");
    assert!(seconds < 60, "{usual}");
}

async fn the_team_stays_online_while_an_admin_stays_connected(server: Server) {
    let alice = server.user("alice");
    let _ada = server.admin("ada").signals().await;
    let mut alice_stream = alice.signals().await;
    presence_until(&alice, |p| p["team_online"] == true, "ada online").await;
    // Several grace periods of reports coming and going: never offline.
    let watch = Duration::from_secs(u64::from(PRESENCE_GRACE_SECS) * 2);
    let started = Instant::now();
    while let Some(left) = watch.checked_sub(started.elapsed()) {
        let Some(event) = alice_stream.next(left).await else {
            break;
        };
        if event.event == "presence" {
            assert_eq!(
                event.data["team_online"],
                true,
                "flickered offline after {:?}",
                started.elapsed()
            );
        }
    }
}

async fn a_resume_from_a_signals_id_skips_and_repeats_nothing(server: Server) {
    let alice = server.user("alice");
    let (conversation, _) = alice.send("Hello?").await;
    let ada = server.admin("ada");
    let mut ada_stream = ada.signals().await;
    // Events ada receives, and bob's she receives too, then a typing
    // signal: its id is the position of the last event before it.
    let (bobs, _) = server.user("bob").send("hi").await;
    ada.reply(&bobs, "hello bob").await;
    tokio::time::sleep(support_core::typing::QUIET_AFTER_SEND).await;
    typing(&alice, &conversation).await;
    let mut before_typing = Vec::new();
    let signal = loop {
        let event = ada_stream.next(WAIT).await.expect("an event");
        if event.event == "typing" {
            break event;
        }
        if event.event != "presence" {
            before_typing.push(event);
        }
    };
    let last_log_id = before_typing.last().and_then(|e| e.id.clone());
    assert_eq!(
        signal.id, last_log_id,
        "a signal carries the position reached"
    );
    // Resume from the signal's id: what came after, once, and nothing
    // from before.
    let reply = ada.reply(&conversation, "after the signal").await;
    let mut resumed = ada.events(signal.id.as_deref()).await;
    let replayed = resumed.drain(QUIET).await;
    let message_ids: Vec<&Value> = replayed
        .iter()
        .filter(|e| e.event == "message.created")
        .map(|e| &e.data["id"])
        .collect();
    assert_eq!(message_ids, [&reply["id"]], "{replayed:?}");
}
