//! SQLite: the embedded default. One file, WAL mode, one writer with group
//! commit, readers from a pool.

mod group_commit;
mod statement;
mod write_tx;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Sqlite};
use support_core::search::SearchTerms;
use support_core::{StorageResult, WriteTx};
use tempfile::TempDir;

use group_commit::ExclusiveWrite;
pub use group_commit::SqliteWriteTx;
use group_commit::{Writer, WriterSettings};

use crate::SetupError;
use crate::signal::Signals;
use crate::sql;

/// How long a connection waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// [`support_core::Storage`] on SQLite.
///
/// Reads run concurrently from the pool (WAL). Writes run on one writer
/// connection of the storage's own: SQLite has one writer anyway, and
/// waiting in line in-process is cheaper than spinning on `SQLITE_BUSY`.
/// Writes that queue up share one transaction (group commit, see
/// [`SqliteWriteTx`]), and batches start with `BEGIN IMMEDIATE`, so a
/// read-then-write never fails to upgrade its lock.
///
/// Write statements run on the calling task, so a write that finds the
/// database locked by another process (or by the host writing through the
/// pool) waits on its runtime thread, up to [`BUSY_TIMEOUT`]. One process
/// writing through this storage never waits that way.
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
    writer: Arc<Writer>,
    /// Told of every batch the writer commits.
    signals: Arc<Signals>,
    /// The directory of a database opened as `sqlite::memory:`, removed
    /// with the last clone.
    _ephemeral: Option<Arc<TempDir>>,
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
    /// Wraps a pool the host built, and opens the storage's writer
    /// connection to the same file, with the pool's `synchronous` and
    /// `foreign_keys` settings. Use [`connect_options`] for the pool's
    /// connections (foreign keys, WAL, busy timeout), and call
    /// [`Self::migrate`] once at startup. The pool must be of a database
    /// file: an in-memory database cannot be shared with the writer
    /// ([`SetupError::InMemoryPool`]; [`Self::connect`] handles
    /// `sqlite::memory:`).
    pub async fn new(pool: SqlitePool) -> Result<Self, SetupError> {
        let settings = writer_settings(&pool).await?;
        let signals = Arc::new(Signals::default());
        Ok(Self {
            pool,
            writer: Arc::new(Writer::open(settings, Arc::clone(&signals)).await?),
            signals,
            _ephemeral: None,
        })
    }

    /// Opens `url` with [`connect_options`] and migrates.
    /// `sqlite::memory:` opens a fresh database in a temporary directory,
    /// with `synchronous=OFF`, deleted when the storage is dropped: the
    /// writer and the readers need one database they can all open.
    pub async fn connect(url: &str) -> Result<Self, SetupError> {
        Self::connect_with(connect_options(url)?).await
    }

    /// Opens a database with the given options and migrates (an in-memory
    /// database as in [`Self::connect`]).
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, SetupError> {
        let (options, ephemeral) = if is_in_memory(&options) {
            let dir = tempfile::Builder::new()
                .prefix("support-sqlite-")
                .tempdir()
                .map_err(SetupError::Io)?;
            let options = options
                .in_memory(false)
                .shared_cache(false)
                .filename(dir.path().join("support.db"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Off);
            (options, Some(Arc::new(dir)))
        } else {
            (options, None)
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(SetupError::Connect)?;
        let mut storage = Self::new(pool).await?;
        storage._ephemeral = ephemeral;
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

    /// The pool (for reads; writing through it competes with the
    /// storage's writer for SQLite's write lock).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction of the domain: a member of the writer's batch.
    async fn begin_tx(&self) -> StorageResult<Box<dyn WriteTx>> {
        Ok(Box::new(self.writer.begin().await?))
    }

    /// Wake-ups for log readers: the writer's batch commits, and the
    /// periodic check, which also finds what another process wrote to the
    /// file.
    fn log_wakeups(&self) -> support_core::LogWakeups {
        self.signals.log_wakeups()
    }

    /// Wake-ups for workers: the writer's batch commits that enqueued a
    /// job due at once.
    fn job_wakeups(&self) -> support_core::JobWakeups {
        self.signals.job_wakeups()
    }

    /// None: one process uses a SQLite database, so typing and presence
    /// stay within it.
    fn ephemeral_bus_of(&self) -> Option<std::sync::Arc<dyn support_core::EphemeralBus>> {
        None
    }

    /// A write through sqlx, holding the writer.
    async fn begin_write(&self) -> StorageResult<ExclusiveWrite> {
        self.writer.exclusive(&self.pool).await
    }
}

/// `sqlite::memory:` and the like. sqlx names such databases
/// `file:sqlx-in-memory-N`; anything else that is not a file is caught when
/// the writer asks SQLite for the file name.
fn is_in_memory(options: &SqliteConnectOptions) -> bool {
    let name = options.get_filename().to_string_lossy();
    name == ":memory:" || name.starts_with("file:sqlx-in-memory-")
}

/// The file and settings of the pool's database, as SQLite reports them.
async fn writer_settings(pool: &SqlitePool) -> Result<WriterSettings, SetupError> {
    let mut conn = pool.acquire().await.map_err(SetupError::Connect)?;
    let databases: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
        .fetch_all(&mut *conn)
        .await
        .map_err(SetupError::Connect)?;
    let path = databases
        .into_iter()
        .find(|(_, name, _)| name == "main")
        .map(|(_, _, file)| file)
        .filter(|file| !file.is_empty())
        .ok_or(SetupError::InMemoryPool)?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .map_err(SetupError::Connect)?;
    let foreign_keys: bool = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .map_err(SetupError::Connect)?;
    Ok(WriterSettings {
        path: PathBuf::from(path),
        synchronous,
        foreign_keys,
    })
}

// No row locks in SQLite: the write transaction holds the database lock.
const CONVERSATION_FOR_UPDATE: &str = sql::conversation_by_id!();
const OPEN_CONVERSATION_OF: &str = sql::open_conversation_of!();
const LATEST_CONVERSATION_OF: &str = sql::latest_conversation_of!();
/// Claims run in the single writer's transaction: nobody claims alongside.
pub(crate) const CLAIM_JOBS: &str = crate::outbox::claim_jobs!(crate::outbox::claimable!());

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
    dialect: crate::sqlite
);
