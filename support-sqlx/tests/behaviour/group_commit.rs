//! SQLite group commit: members of a batch learn its outcome; an abandoned
//! member's writes are undone and the rest of the batch commits.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use support_core::{
    Conversation, InboxRequest, Principal, Storage, StorageError, UserId, WriteConflict,
};
use support_sqlx::SqliteStorage;
use support_test_harness::TempSqlite;

use crate::common::*;

fn conversation_of(user: &str) -> Conversation {
    Conversation::start(UserId::parse(user).expect("id"), Utc::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_member_is_undone_and_the_rest_of_its_batch_commits() {
    let file = TempSqlite::new();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::connect(&file.url()).await.expect("open"));

    let mut first = storage.begin().await.expect("begin");
    first
        .insert_conversation(&conversation_of("alice"))
        .await
        .expect("insert");
    // A second writer queues behind the first...
    let queued = {
        let storage = Arc::clone(&storage);
        tokio::spawn(async move {
            let mut second = storage.begin().await.expect("begin");
            second
                .insert_conversation(&conversation_of("bob"))
                .await
                .expect("insert");
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
    let file = TempSqlite::new();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::connect(&file.url()).await.expect("open"));

    let mut first = storage.begin().await.expect("begin");
    first
        .insert_conversation(&conversation_of("carol"))
        .await
        .expect("insert");
    let committed = {
        let storage = Arc::clone(&storage);
        tokio::spawn(async move {
            let mut second = storage.begin().await.expect("begin");
            second
                .insert_conversation(&conversation_of("dave"))
                .await
                .expect("insert");
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
