//! SQLite: the embedded default. One file, WAL mode, one writer at a time,
//! with group commit.

mod group_commit;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use support_core::StorageResult;
use support_core::search::SearchTerms;

pub use group_commit::SqliteWriteTx;
use group_commit::Writer;

use crate::SetupError;
use crate::sql;

/// How long a connection waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// [`support_core::Storage`] on SQLite.
///
/// Writes are serialized in-process (SQLite has one writer anyway; waiting
/// on a lock is cheaper than spinning on `SQLITE_BUSY`), and writes that
/// queue up share one transaction (group commit, see [`SqliteWriteTx`]).
/// Batches start with `BEGIN IMMEDIATE`, so a read-then-write never fails
/// to upgrade its lock. Reads run concurrently from the pool (WAL).
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
    writer: Arc<Writer>,
}

/// Recommended connection options for `url` (`sqlite:path.db`,
/// `sqlite::memory:`): create the file if missing, WAL journal,
/// `synchronous=NORMAL` (durable against a process crash; a power loss may
/// lose the last transactions), foreign keys on, a busy timeout.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, SetupError> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(SetupError::Connect)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT))
}

impl SqliteStorage {
    /// Wraps a pool the host built. Use [`connect_options`] for its
    /// connections (foreign keys, WAL, busy timeout), and call
    /// [`Self::migrate`] once at startup.
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            writer: Arc::new(Writer::default()),
        }
    }

    /// Opens `url` with [`connect_options`] and migrates. An in-memory
    /// database gets a single, never-recycled connection (each SQLite
    /// connection to `:memory:` is a database of its own).
    pub async fn connect(url: &str) -> Result<Self, SetupError> {
        Self::connect_with(connect_options(url)?).await
    }

    /// Opens a database with the given options and migrates.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, SetupError> {
        let in_memory = options
            .get_filename()
            .to_string_lossy()
            .contains(":memory:");
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(SetupError::Connect)?;
        let storage = Self::new(pool);
        storage.migrate().await?;
        Ok(storage)
    }

    /// Applies the embedded SQLite migrations (tracked in
    /// `support_migrations`, not in the host's `_sqlx_migrations`).
    pub async fn migrate(&self) -> Result<(), SetupError> {
        let mut migrator = sqlx::migrate!("migrations/sqlite");
        migrator.dangerous_set_table_name(crate::MIGRATIONS_TABLE);
        migrator.run(&self.pool).await.map_err(SetupError::Migrate)
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> StorageResult<SqliteWriteTx> {
        self.writer.begin(&self.pool).await
    }
}

// No row locks in SQLite: the write transaction holds the database lock.
pub(crate) const CONVERSATION_FOR_UPDATE: &str = sql::conversation_by_id!();
pub(crate) const OPEN_CONVERSATION_OF: &str = sql::open_conversation_of!();
pub(crate) const LATEST_CONVERSATION_OF: &str = sql::latest_conversation_of!();
/// Claims run in the single writer's transaction: nobody claims alongside.
pub(crate) const CLAIM_JOBS: &str = crate::outbox::claim_jobs!(crate::outbox::claimable!());

/// SQLite positions are already commit-ordered (one writer).
pub(crate) async fn lock_event_log(_conn: &mut SqliteConnection) -> StorageResult<()> {
    Ok(())
}

/// FTS5: every term quoted (so no input is syntax) and prefix-matched.
pub(crate) fn push_search(sql: &mut QueryBuilder<Sqlite>, terms: &SearchTerms) {
    let expression = terms
        .terms()
        .iter()
        .map(|term| format!("\"{term}\"*"))
        .collect::<Vec<_>>()
        .join(" ");
    sql.push(
        " AND c.id IN (SELECT m2.conversation_id FROM support_messages_fts f \
         JOIN support_messages m2 ON m2.row_id = f.rowid WHERE support_messages_fts MATCH ",
    )
    .push_bind(expression)
    .push(")");
}

crate::store::sql_storage!(
    db: Sqlite,
    storage: SqliteStorage,
    tx: SqliteWriteTx,
    dialect: crate::sqlite
);
