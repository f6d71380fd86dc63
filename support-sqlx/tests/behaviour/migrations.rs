//! Migrations: embedded, repeatable, tracked apart from the host's.

use support_sqlx::{MIGRATIONS_TABLE, PostgresStorage, SqliteStorage};
use support_test_harness::TempSqlite;

#[tokio::test]
async fn sqlite_migrations_are_repeatable_and_leave_host_table_alone() {
    let file = TempSqlite::new();
    let storage = SqliteStorage::connect(&file.url())
        .await
        .expect("first open");
    storage.migrate().await.expect("second migrate is a no-op");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(storage.pool())
            .await
            .expect("tables");
    assert!(tables.iter().any(|t| t == MIGRATIONS_TABLE));
    assert!(!tables.iter().any(|t| t == "_sqlx_migrations"));
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index'")
            .fetch_all(storage.pool())
            .await
            .expect("indexes");
    assert!(
        indexes
            .iter()
            .any(|i| i == "support_closures_by_conversation"),
        "the latest migration ran: {indexes:?}"
    );
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(storage.pool())
        .await
        .expect("pragma");
    assert_eq!(journal, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(storage.pool())
        .await
        .expect("pragma");
    assert_eq!(foreign_keys, 1);
    drop(storage);
    SqliteStorage::connect(&file.url())
        .await
        .expect("reopen existing file");
}

#[tokio::test]
async fn postgres_migrations_are_repeatable_and_leave_host_table_alone() {
    let Some(pool) = support_test_harness::postgres_pool().await else {
        return;
    };
    let storage = PostgresStorage::new(pool);
    storage.migrate().await.expect("first migrate");
    storage.migrate().await.expect("second migrate is a no-op");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(storage.pool())
    .await
    .expect("tables");
    assert!(tables.iter().any(|t| t == MIGRATIONS_TABLE), "{tables:?}");
    assert!(!tables.iter().any(|t| t == "_sqlx_migrations"));
}
