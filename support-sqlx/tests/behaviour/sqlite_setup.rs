//! Opening SQLite: the writer connection shares the database the host's pool
//! reads, and `sqlite::memory:` is a private database that leaves nothing
//! behind.

use std::path::PathBuf;
use std::sync::Arc;

use sqlx::sqlite::SqlitePoolOptions;
use support_core::{Principal, Support, UserId};
use support_sqlx::{SetupError, SqliteStorage, sqlite};
use support_test_harness::TempSqlite;

use crate::common::message;

async fn database_file(storage: &SqliteStorage) -> PathBuf {
    let rows: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
        .fetch_all(storage.pool())
        .await
        .expect("database list");
    rows.into_iter()
        .find(|(_, name, _)| name == "main")
        .map(|(_, _, file)| PathBuf::from(file))
        .expect("main database")
}

#[tokio::test]
async fn a_host_pool_of_an_in_memory_database_is_refused_with_a_clear_error() {
    let pool = SqlitePoolOptions::new()
        .connect_with(sqlite::connect_options("sqlite::memory:").expect("options"))
        .await
        .expect("pool");
    let refused = SqliteStorage::new(pool).await;
    assert!(
        matches!(refused, Err(SetupError::InMemoryPool)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_host_pool_gets_a_writer_on_the_same_file() {
    let file = TempSqlite::new();
    let options = sqlite::connect_options(&file.url())
        .expect("options")
        .synchronous(sqlite::SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("pool");
    let storage = SqliteStorage::new(pool.clone()).await.expect("storage");
    storage.migrate().await.expect("migrate");
    let support = Support::new(Arc::new(storage));
    let alice = Principal::user(UserId::parse("alice").expect("id"));
    let sent = support
        .send(&alice, message("hello", None))
        .await
        .expect("send");
    // What the writer committed, the host's own pool reads.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM support_messages")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored, 1);
    assert_eq!(sent.conversation.conversation.message_count, 1);
}

#[tokio::test]
async fn sqlite_memory_is_private_and_removed_with_the_storage() {
    let first = SqliteStorage::connect("sqlite::memory:")
        .await
        .expect("first");
    let second = SqliteStorage::connect("sqlite::memory:")
        .await
        .expect("second");
    let first_file = database_file(&first).await;
    assert_ne!(first_file, database_file(&second).await);
    assert!(first_file.exists());

    let alice = Principal::user(UserId::parse("alice").expect("id"));
    let first = Support::new(Arc::new(first));
    first
        .send(&alice, message("only in the first", None))
        .await
        .expect("send");
    let second = Support::new(Arc::new(second));
    let ada = Principal::admin(UserId::parse("ada").expect("id"));
    let listed = second
        .conversations(&ada, Default::default())
        .await
        .expect("list");
    assert!(listed.items.is_empty(), "the databases are separate");

    drop(first);
    let directory = first_file.parent().expect("directory").to_path_buf();
    assert!(
        !directory.exists(),
        "{} outlived its storage",
        directory.display()
    );
}
