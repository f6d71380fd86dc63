//! SQLite group commit: members of a batch learn its outcome; an abandoned
//! member's writes are undone and the rest of the batch commits.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use support_core::{
    Conversation, InboxRequest, Principal, Storage, StorageError, UserId, WriteConflict, WriteTx,
};
use support_sqlx::SqliteStorage;
use support_test_harness::TempSqlite;

use crate::common::*;

fn conversation_of(user: &str) -> Conversation {
    Conversation::start(UserId::parse(user).expect("id"), Utc::now())
}

/// SQLite in a file of its own (removed with the guard).
async fn file_storage() -> (TempSqlite, Arc<dyn Storage>) {
    let file = TempSqlite::new();
    let storage = SqliteStorage::connect(&file.url()).await.expect("open");
    (file, Arc::new(storage))
}

/// A write transaction that inserted a conversation of `user`.
async fn member_that_wrote(storage: &Arc<dyn Storage>, user: &str) -> Box<dyn WriteTx> {
    let mut member = storage.begin().await.expect("begin");
    member
        .insert_conversation(&conversation_of(user))
        .await
        .expect("insert");
    member
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_member_is_undone_and_the_rest_of_its_batch_commits() {
    let (_file, storage) = file_storage().await;

    let first = member_that_wrote(&storage, "alice").await;
    // A second writer queues behind the first...
    let queued = {
        let storage = Arc::clone(&storage);
        tokio::spawn(async move {
            let second = member_that_wrote(&storage, "bob").await;
            // ...writes, and is abandoned (an error, a cancelled request).
            drop(second);
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first commits into the open batch, with a notification job, and
    // waits for its outcome.
    let job = support_core::notification::NewJob {
        id: support_core::JobId::new(),
        kind: support_core::NotificationKind::UserMessage,
        channel: support_core::Channel::Webhook,
        recipient: support_core::notification::Recipient::Team,
        conversation_id: support_core::ConversationId::new(),
        coalesce_key: "probe".to_owned(),
        due_at: Utc::now(),
        created_at: Utc::now(),
    };
    let outcome = first
        .commit_with_outbox(
            Vec::new(),
            support_core::Outbox {
                enqueue: vec![job.clone()],
                cancel: Vec::new(),
            },
        )
        .await;
    queued.await.expect("task");
    assert!(
        outcome.is_ok(),
        "the first member's writes stand: {outcome:?}"
    );
    let support = support_core::Support::new(Arc::clone(&storage));
    let ada = Principal::admin(UserId::parse("ada").expect("id"));
    let listed = support
        .conversations(&ada, InboxRequest::default())
        .await
        .expect("list");
    let owners: Vec<&str> = listed
        .items
        .iter()
        .map(|c| c.conversation.user_id.as_str())
        .collect();
    assert_eq!(
        owners,
        ["alice"],
        "alice's conversation was committed, bob's abandoned one was not"
    );
    let jobs = storage
        .jobs(&support_core::JobQuery {
            states: Vec::new(),
            limit: 100,
        })
        .await
        .expect("jobs");
    assert!(
        jobs.iter().any(|j| j.id == job.id),
        "the committed member's notification job was committed with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_member_is_undone_and_the_queued_member_commits() {
    let (_file, storage) = file_storage().await;

    let mut first = member_that_wrote(&storage, "carol").await;
    let committed = {
        let storage = Arc::clone(&storage);
        tokio::spawn(async move {
            let second = member_that_wrote(&storage, "dave").await;
            second.commit(Vec::new()).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first member fails: a second open conversation of carol breaks
    // the unique index. The core drops the transaction on an error.
    let conflict = first.insert_conversation(&conversation_of("carol")).await;
    assert!(
        matches!(
            conflict,
            Err(StorageError::WriteConflict(
                WriteConflict::OpenConversationExists
            ))
        ),
        "{conflict:?}"
    );
    drop(first);
    let second = committed.await.expect("task");
    assert!(second.is_ok(), "the queued member commits: {second:?}");
    let support = support_core::Support::new(Arc::clone(&storage));
    let ada = Principal::admin(UserId::parse("ada").expect("id"));
    let owners: Vec<String> = support
        .conversations(&ada, InboxRequest::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|c| c.conversation.user_id.as_str().to_owned())
        .collect();
    assert_eq!(owners, ["dave"], "nothing of the failed member was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_get_their_own_committed_result() {
    let desk = Arc::new(Desk::sqlite_file().await);
    let writes = (0..40).map(|n| {
        let desk = Arc::clone(&desk);
        tokio::spawn(async move {
            let who = user(&format!("user-{n}"));
            let sent = desk
                .support
                .send(
                    &who,
                    message(&format!("hello {n}"), Some(&format!("c-{n}"))),
                )
                .await
                .expect("send");
            // What the send returned is committed: visible to a fresh read.
            let read = desk
                .support
                .conversation(&who, sent.conversation.conversation.id)
                .await
                .expect("read back");
            assert_eq!(read.conversation.message_count, 1);
            sent.message.message.id
        })
    });
    let ids: std::collections::HashSet<_> = futures::future::join_all(writes)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(ids.len(), 40);
}

async fn yield_times(n: usize) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// Sends and queue claims, many of them cancelled at some await point (as
/// request timeouts do): nobody hangs, and every acknowledged send is
/// stored.
async fn cancelled_writers_never_strand_a_batch_or_lose_an_acknowledged_write() {
    let (_file, storage) = file_storage().await;
    let support = support_core::Support::new(Arc::clone(&storage));
    let tasks = (0..600usize).map(|n| {
        let support = support.clone();
        let storage = Arc::clone(&storage);
        tokio::spawn(async move {
            let who = user(&format!("u-{}", n % 37));
            if n % 11 == 0 {
                tokio::select! {
                    biased;
                    _ = storage.claim_jobs(Utc::now(), Utc::now(), 5) => {}
                    _ = yield_times(n % 13) => {}
                }
                return None;
            }
            let sent = tokio::select! {
                biased;
                sent = support.send(&who, message(&format!("m-{n}"), Some(&format!("c-{n}")))) => sent,
                _ = yield_times(if n % 3 == 0 { usize::MAX } else { n % 97 }) => return None,
            };
            let sent = sent.expect("an uncancelled send succeeds");
            Some((who, sent.conversation.conversation.id, sent.message.message.id))
        })
    });
    let acknowledged: Vec<_> =
        tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(tasks))
            .await
            .expect("no writer hangs")
            .into_iter()
            .filter_map(|task| task.expect("task"))
            .collect();
    assert!(!acknowledged.is_empty());
    for (who, conversation, id) in &acknowledged {
        let page = support
            .messages(who, *conversation, Default::default())
            .await
            .expect("read");
        assert!(
            page.items.iter().any(|m| m.message.id == *id),
            "an acknowledged send was lost"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn cancelled_writers_on_a_current_thread_runtime() {
    cancelled_writers_never_strand_a_batch_or_lose_an_acknowledged_write().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_writers_on_a_multi_thread_runtime() {
    cancelled_writers_never_strand_a_batch_or_lose_an_acknowledged_write().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_dropped_off_the_runtime_does_not_strand_its_batch() {
    let (_file, storage) = file_storage().await;
    let first = member_that_wrote(&storage, "alice").await;
    let second = {
        let storage = Arc::clone(&storage);
        tokio::spawn(async move { storage.begin().await.expect("begin") })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first sees the second queued and leaves the batch open for it...
    let committed = tokio::spawn(first.commit(Vec::new()));
    let second = second.await.expect("task");
    // ...which is dropped on a thread with no runtime to commit it from.
    std::thread::spawn(move || drop(second))
        .join()
        .expect("thread");
    let outcome = tokio::time::timeout(Duration::from_secs(10), committed)
        .await
        .expect("the first member is told the outcome")
        .expect("task");
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_host_writing_through_the_pool_does_not_stall_the_runtime() {
    let file = TempSqlite::new();
    let sqlite = SqliteStorage::connect(&file.url()).await.expect("open");
    let pool = sqlite.pool().clone();
    // Two attempts: a writer that blocked the only thread for the busy
    // timeout would keep the host from committing and fail both.
    let config = support_core::SupportConfig {
        max_write_attempts: 2,
        ..Default::default()
    };
    let support = support_core::Support::new(Arc::new(sqlite)).with_config(config);
    let mut host = pool.begin_with("BEGIN IMMEDIATE").await.expect("begin");
    sqlx::query("CREATE TABLE host_table (x INTEGER)")
        .execute(&mut *host)
        .await
        .expect("host write");
    let send = tokio::spawn(async move { support.send(&user("zed"), message("hi", None)).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    host.commit().await.expect("the host commits");
    let sent = send.await.expect("task");
    assert!(
        sent.is_ok(),
        "the send waited for the host's lock: {sent:?}"
    );
}

/// The status of a conversation as another connection sees it now, read
/// synchronously (no await, so no other task runs meanwhile).
fn committed_status(file: &TempSqlite, id: support_core::ConversationId) -> String {
    let url = file.url();
    let path = url.strip_prefix("sqlite:").expect("sqlite url");
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
    conn.query_row(
        "SELECT status FROM support_conversations WHERE id = ?1",
        [id.as_uuid()],
        |row| row.get(0),
    )
    .expect("status")
}

#[tokio::test(flavor = "current_thread")]
async fn a_refusal_is_answered_only_once_what_it_read_is_committed() {
    let (file, storage) = file_storage().await;
    let support = support_core::Support::new(Arc::clone(&storage));
    let alice = user("alice");
    let id = support
        .send(&alice, message("hello", None))
        .await
        .expect("send")
        .conversation
        .conversation
        .id;

    // An admin's close, still in the open batch...
    let mut close = storage.begin().await.expect("begin");
    let mut conversation = close.conversation(id).await.expect("read").expect("exists");
    conversation.close(Utc::now());
    close
        .update_conversation(&conversation)
        .await
        .expect("close");
    // ...which alice's reply joins: she reads it as closed and is refused.
    let file = Arc::new(file);
    let reply = {
        let (support, file) = (support.clone(), Arc::clone(&file));
        tokio::spawn(async move {
            let refused = support
                .post(&alice, id, message("one more thing", None))
                .await;
            (refused, committed_status(&file, id))
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let closed = tokio::spawn(close.commit(Vec::new()));
    let (refused, status_when_refused) = reply.await.expect("task");
    assert!(
        matches!(refused, Err(support_core::SupportError::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(
        status_when_refused, "closed",
        "alice was told the conversation is closed before the close was committed"
    );
    closed.await.expect("task").expect("the close commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_gives_up_waiting_for_the_lock_does_not_keep_it() {
    let file = TempSqlite::new();
    let sqlite = SqliteStorage::connect(&file.url()).await.expect("open");
    let pool = sqlite.pool().clone();
    let storage: Arc<dyn Storage> = Arc::new(sqlite);
    let mut host = pool.begin_with("BEGIN IMMEDIATE").await.expect("begin");
    sqlx::query("CREATE TABLE host_table (x INTEGER)")
        .execute(&mut *host)
        .await
        .expect("host write");
    // A write waits for the host's lock, and its request goes away.
    let waiting = {
        let storage = Arc::clone(&storage);
        tokio::spawn(async move { storage.begin().await.map(drop) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    waiting.abort();
    let _ = waiting.await;
    host.commit().await.expect("the host commits");
    // The abandoned wait now gets the lock (its busy handler retries within
    // milliseconds); it must not keep it for nobody.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = pool.begin_with("BEGIN IMMEDIATE").await;
    assert!(again.is_ok(), "the host can write again: {:?}", again.err());
    drop(storage);
}
