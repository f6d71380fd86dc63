//! Live delivery from the log: a `LogTail` returns every committed event
//! once, in log order, woken by the storage's commit signal, including for
//! commits made through another storage on the same database (another
//! process, on a real deployment).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use support_core::{
    Channel, Event, EventSeq, LogTail, NotificationRules, Storage, Support, SupportConfig,
};
use support_sqlx::{PostgresStorage, SqliteStorage};
use support_test_harness::TempSqlite;

use crate::common::*;

/// Longest wait for an event: the periodic check (2 s) covers what no
/// signal announces, so this is generous.
const WAIT: Duration = Duration::from_secs(15);

/// Reads from `tail` until it returned `count` events.
async fn take(tail: &mut LogTail, count: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < count {
        let batch = tokio::time::timeout(WAIT, tail.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} events arrived", events.len()))
            .expect("signal open")
            .expect("log readable");
        assert!(!batch.is_empty(), "a tail never returns an empty batch");
        events.extend(batch);
    }
    events
}

/// `writers` tasks, each a user (`<prefix><n>`) sending `sends` messages
/// `m0`, `m1`, ... one after the other.
fn spawn_writers(
    support: &Support,
    prefix: &str,
    writers: usize,
    sends: usize,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..writers)
        .map(|w| {
            let support = support.clone();
            let who = user(&format!("{prefix}{w}"));
            tokio::spawn(async move {
                for n in 0..sends {
                    support
                        .send(&who, message(&format!("m{n}"), None))
                        .await
                        .expect("send");
                }
            })
        })
        .collect()
}

fn assert_once_in_order(events: &[Event]) {
    assert!(
        events.windows(2).all(|w| w[0].seq < w[1].seq),
        "strictly increasing positions: {:?}",
        events.iter().map(|e| e.seq.0).collect::<Vec<_>>()
    );
}

async fn a_tail_returns_every_commit_once_in_log_order(desk: Desk) {
    let storage = Arc::clone(desk.support.storage());
    let mut tail = LogTail::new(Arc::clone(&storage), EventSeq(0));
    let writers = spawn_writers(&desk.support, "writer", 4, 25);
    for writer in writers {
        writer.await.expect("writer");
    }
    // Per writer: conversation.created + message.created, then
    // message.created + conversation.updated per further send.
    let expected = 4 * 2 * 25;
    let events = take(&mut tail, expected).await;
    assert_eq!(events.len(), expected);
    assert_once_in_order(&events);
    let latest = desk.support.latest_event().await.expect("latest");
    assert_eq!(events.last().map(|e| e.seq), Some(latest));
    assert_eq!(tail.position(), latest);
    // Nothing more: the next read waits.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), tail.next())
            .await
            .is_err(),
        "no event twice"
    );
}

on_every_backend!(a_tail_returns_every_commit_once_in_log_order);

// ------------------------------------------- two storages, one database

/// Two storages on one database, as two processes would have them.
async fn two_sqlite() -> (Arc<dyn Storage>, Arc<dyn Storage>, TempSqlite) {
    let file = TempSqlite::new();
    let a = SqliteStorage::connect(&file.url()).await.expect("a");
    let b = SqliteStorage::connect(&file.url()).await.expect("b");
    (Arc::new(a), Arc::new(b), file)
}

async fn two_postgres() -> Option<(Arc<dyn Storage>, PostgresStorage)> {
    let pool = support_test_harness::postgres_pool().await?;
    let a = PostgresStorage::new(pool);
    a.migrate().await.expect("migrate");
    let options = a.pool().connect_options().as_ref().clone();
    let pool_b = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("second pool");
    Some((Arc::new(a), PostgresStorage::new(pool_b)))
}

/// `sends` writes through `a` are returned by a tail on `b`.
async fn commits_through_another_storage_reach_the_tail(
    a: Arc<dyn Storage>,
    b: Arc<dyn Storage>,
    sends: usize,
) {
    let mut tail = LogTail::new(Arc::clone(&b), EventSeq(0));
    let writer = Support::new(a);
    let alice = user("alice");
    for n in 0..sends {
        writer
            .send(&alice, message(&format!("m{n}"), None))
            .await
            .expect("send");
        // Each one arrives before the next is written: every wake-up
        // counts, not one read at the end.
        let events = take(&mut tail, 2).await;
        assert!(
            events.iter().any(|e| e.payload.name() == "message.created"),
            "send {n} delivered"
        );
    }
    assert_eq!(
        tail.position(),
        writer.latest_event().await.expect("latest")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_of_another_process_reach_the_tail() {
    let (a, b, _file) = two_sqlite().await;
    // Another process's commits to the file are found by the periodic
    // check (SQLite has no notifications): a few suffice.
    commits_through_another_storage_reach_the_tail(a, b, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_commits_of_another_process_reach_the_tail() {
    let Some((a, b)) = two_postgres().await else {
        return;
    };
    commits_through_another_storage_reach_the_tail(a, Arc::new(b), 10).await;
}

/// The listener's connection, killed the way an administrator or a
/// failover would (`pg_terminate_backend`).
async fn terminate_listeners(storage: &PostgresStorage) -> u64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN %' || md5(current_schema()) || '%' \
         AND pid <> pg_backend_pid()) AS killed",
    )
    .fetch_one(storage.pool())
    .await
    .expect("terminate listeners") as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_terminated_listener_reconnects_and_loses_nothing() {
    let Some((a, b)) = two_postgres().await else {
        return;
    };
    let b_storage = b.clone();
    let mut tail = LogTail::new(Arc::new(b), EventSeq(0));
    let writer = Support::new(a);
    let alice = user("alice");
    writer
        .send(&alice, message("before", None))
        .await
        .expect("send");
    let mut events = take(&mut tail, 2).await;
    assert_eq!(terminate_listeners(&b_storage).await, 1, "one listener");
    // Written while the listener is gone or reconnecting.
    for n in 0..5 {
        writer
            .send(&alice, message(&format!("during {n}"), None))
            .await
            .expect("send");
    }
    events.extend(take(&mut tail, 10).await);
    // And after it is back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer
        .send(&alice, message("after", None))
        .await
        .expect("send");
    events.extend(take(&mut tail, 2).await);
    assert_eq!(events.len(), 14);
    assert_once_in_order(&events);
    let log = Support::new(Arc::new(b_storage.clone()))
        .latest_event()
        .await
        .expect("latest");
    assert_eq!(events.last().map(|e| e.seq), Some(log));
    // The listener is back (checked by killing it again).
    assert_eq!(terminate_listeners(&b_storage).await, 1, "reconnected");
}

// ------------------------------------------------------------ job wakes

fn due_at_once() -> SupportConfig {
    SupportConfig {
        notifications: NotificationRules {
            user_channels: Vec::new(),
            team_channels: vec![Channel::Webhook],
            reply_grace: chrono::Duration::zero(),
            team_alert_window: chrono::Duration::zero(),
        },
        ..SupportConfig::default()
    }
}

/// `listening`: `b` hears other processes through a listener, which asks
/// for a check once it listens; that wake-up is awaited first, so the one
/// awaited after the write can only come from the write (job wake-ups
/// have no periodic check).
async fn a_due_job_wakes_workers_of_another_storage(
    a: Arc<dyn Storage>,
    b: Arc<dyn Storage>,
    listening: bool,
) {
    let mut wakeups = b.job_signal();
    if listening {
        tokio::time::timeout(WAIT, wakeups.next())
            .await
            .expect("listening")
            .expect("signal open");
    }
    let writer = Support::new(a).with_config(due_at_once());
    writer
        .send(&user("alice"), message("help", None))
        .await
        .expect("send");
    tokio::time::timeout(WAIT, wakeups.next())
        .await
        .expect("woken")
        .expect("signal open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_due_job_wakes_workers() {
    let storage: Arc<dyn Storage> = Arc::new(
        SqliteStorage::connect("sqlite::memory:")
            .await
            .expect("sqlite"),
    );
    a_due_job_wakes_workers_of_another_storage(Arc::clone(&storage), storage, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_due_job_wakes_workers_of_another_process() {
    let Some((a, b)) = two_postgres().await else {
        return;
    };
    a_due_job_wakes_workers_of_another_storage(a, Arc::new(b), true).await;
}

// ------------------------------------------- an event this version cannot read

/// An event of a kind a newer version wrote (during a rolling upgrade) is
/// skipped by the tail and by replays; it never stops delivery.
async fn an_undecodable_event_is_skipped_not_fatal(
    storage: Arc<dyn Storage>,
    insert_unknown: impl std::future::Future<Output = ()>,
) {
    let support = Support::new(Arc::clone(&storage));
    let mut tail = LogTail::new(Arc::clone(&storage), EventSeq(0));
    let alice = user("alice");
    support
        .send(&alice, message("before", None))
        .await
        .expect("send");
    insert_unknown.await;
    support
        .send(&alice, message("after", None))
        .await
        .expect("send");
    let events = take(&mut tail, 4).await;
    assert_eq!(
        events.len(),
        4,
        "the two sends' events, the unknown one skipped"
    );
    assert_once_in_order(&events);
    let latest = support.latest_event().await.expect("latest");
    assert_eq!(latest, EventSeq(5), "the unknown event took a position");
    assert_eq!(tail.position(), latest);
    let replay = support
        .events_after(&admin("ada"), EventSeq(0), 100)
        .await
        .expect("replay");
    let support_core::EventReplay::Events {
        events,
        resume_after,
        complete,
    } = replay
    else {
        panic!("events expected");
    };
    assert_eq!((events.len(), resume_after, complete), (4, latest, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_undecodable_event_is_skipped_not_fatal() {
    let file = TempSqlite::new();
    let storage = SqliteStorage::connect(&file.url()).await.expect("sqlite");
    let pool = storage.pool().clone();
    let insert = async move {
        sqlx::query(
            "INSERT INTO support_events (conversation_id, conversation_owner, kind, payload, \
             created_at) VALUES (randomblob(16), 'alice', 'from.the.future', \
             '{\"type\":\"from.the.future\"}', 0)",
        )
        .execute(&pool)
        .await
        .expect("insert");
    };
    an_undecodable_event_is_skipped_not_fatal(Arc::new(storage), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_undecodable_event_is_skipped_not_fatal() {
    let Some(pool) = support_test_harness::postgres_pool().await else {
        return;
    };
    let storage = PostgresStorage::new(pool.clone());
    storage.migrate().await.expect("migrate");
    let insert = async move {
        sqlx::query(
            "INSERT INTO support_events (conversation_id, conversation_owner, kind, payload, \
             created_at) VALUES (gen_random_uuid(), 'alice', 'from.the.future', \
             '{\"type\":\"from.the.future\"}', 0)",
        )
        .execute(&pool)
        .await
        .expect("insert");
    };
    an_undecodable_event_is_skipped_not_fatal(Arc::new(storage), insert).await;
}

// ------------------------------------------------ positions after commit

/// Every event read from the start of the log.
async fn whole_log(storage: &dyn Storage) -> Vec<Event> {
    storage
        .events_after(EventSeq(0), 100_000)
        .await
        .expect("log")
        .events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_no_position_appears_behind_one_already_read_while_two_processes_write() {
    let Some((a, b)) = two_postgres().await else {
        return;
    };
    let b: Arc<dyn Storage> = Arc::new(b);
    let mut writers = spawn_writers(&Support::new(Arc::clone(&a)), "a-writer", 4, 25);
    writers.extend(spawn_writers(
        &Support::new(Arc::clone(&b)),
        "b-writer",
        4,
        25,
    ));
    // A reader that saw position N never later finds a new N-1.
    let mut seen = std::collections::BTreeSet::new();
    let mut reads = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let log: Vec<i64> = whole_log(a.as_ref())
            .await
            .iter()
            .map(|e| e.seq.0)
            .collect();
        if let Some(newest) = seen.last().copied() {
            let late: Vec<i64> = log
                .iter()
                .copied()
                .filter(|seq| *seq <= newest && !seen.contains(seq))
                .collect();
            assert!(
                late.is_empty(),
                "positions {late:?} appeared behind {newest}"
            );
        }
        seen.extend(log);
        reads += 1;
        if done {
            break;
        }
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let log = whole_log(a.as_ref()).await;
    assert_once_in_order(&log);
    // Two events per send (the first one creates the conversation).
    assert_eq!(log.len(), 8 * 25 * 2, "every event once: {reads} reads");
    // Each writer's messages are in the order it wrote them.
    let mut last_of: std::collections::HashMap<String, i64> = Default::default();
    for event in &log {
        if let support_core::EventPayload::MessageCreated(m) = &event.payload {
            let n: i64 = m.content.as_str()[1..].parse().expect("m<n>");
            let previous = last_of.insert(m.user_id.to_string(), n);
            assert_eq!(
                previous.map_or(0, |p| p + 1),
                n,
                "{}'s messages in order",
                m.user_id
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_a_process_left_queued_are_numbered_by_another() {
    let Some((a, b)) = two_postgres().await else {
        return;
    };
    Support::new(Arc::clone(&a))
        .send(&user("alice"), message("first", None))
        .await
        .expect("send");
    // Before the rows are queued: a periodic pass may number them at once.
    let before = a.events_after(EventSeq(0), 0).await.expect("log").latest;
    // What a process that died between its commit and its pass leaves:
    // committed events, not yet numbered.
    sqlx::query(
        "INSERT INTO support_event_queue \
         (conversation_id, conversation_owner, kind, payload, created_at) \
         SELECT conversation_id, conversation_owner, kind, payload, created_at \
         FROM support_events WHERE seq <= $1 ORDER BY seq",
    )
    .bind(before.0)
    .execute(b.pool())
    .await
    .expect("queue");
    // A process that only reads numbers them (its periodic pass).
    let pool = b.pool().clone();
    let b: Arc<dyn Storage> = Arc::new(b);
    let mut tail = LogTail::new(Arc::clone(&b), before);
    let events = take(&mut tail, 2).await;
    assert_eq!(
        events.iter().map(|e| e.payload.name()).collect::<Vec<_>>(),
        ["conversation.created", "message.created"]
    );
    assert!(events[0].seq > before);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM support_event_queue")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 0, "the queue is drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_send_behind_a_long_queue_is_in_the_log_when_it_returns() {
    let Some((a, b)) = two_postgres().await else {
        return;
    };
    let support = Support::new(Arc::clone(&a));
    support
        .send(&user("alice"), message("first", None))
        .await
        .expect("send");
    // More queued than one pass moves (a backlog, e.g. after passes failed).
    sqlx::query(
        "INSERT INTO support_event_queue \
         (conversation_id, conversation_owner, kind, payload, created_at) \
         SELECT e.conversation_id, e.conversation_owner, e.kind, e.payload, e.created_at \
         FROM support_events e, generate_series(1, 10050) \
         WHERE e.kind = 'message.created'",
    )
    .execute(b.pool())
    .await
    .expect("queue");
    support
        .send(&user("alice"), message("behind the backlog", None))
        .await
        .expect("send");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM support_event_queue")
        .fetch_one(b.pool())
        .await
        .expect("count");
    assert_eq!(
        queued, 0,
        "its commit returned before its events were numbered"
    );
    let latest = a.events_after(EventSeq(0), 0).await.expect("log").latest;
    let last = a
        .events_after(EventSeq(latest.0 - 2), 10)
        .await
        .expect("log")
        .events;
    assert!(
        last.iter().any(|e| matches!(&e.payload,
            support_core::EventPayload::MessageCreated(m) if m.content.as_str() == "behind the backlog")),
        "the send's message is in the log"
    );
}
