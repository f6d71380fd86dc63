//! SQLite group commit: members of a batch learn its outcome; an abandoned
//! member that wrote rolls the batch back and the others are told to retry.

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
async fn an_abandoned_member_that_wrote_rolls_back_the_batch_and_others_retry() {
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
        matches!(
            outcome,
            Err(StorageError::WriteConflict(WriteConflict::Serialization))
        ),
        "the batch was rolled back, so the first member must retry: {outcome:?}"
    );
    let support = support_core::Support::new(Arc::clone(&storage));
    let ada = Principal::admin(UserId::parse("ada").expect("id"));
    let listed = support
        .conversations(&ada, InboxRequest::default())
        .await
        .expect("list");
    assert!(
        listed.items.is_empty(),
        "nothing of the batch was committed"
    );
    let jobs = storage
        .jobs(&support_core::JobQuery {
            states: Vec::new(),
            limit: 100,
        })
        .await
        .expect("jobs");
    assert!(
        jobs.iter().all(|j| j.id != job.id),
        "a rolled-back commit leaves no notification job"
    );
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
