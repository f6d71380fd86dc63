//! Group commit on one dedicated writer connection.
//!
//! SQLite has one writer, and most of a small write's cost is what
//! surrounds its statements: the transaction, and (through sqlx) a hop to
//! the connection's worker thread and back for every statement. So all
//! write transactions of a database run on one rusqlite connection owned by
//! the [`Writer`], and:
//!
//! - their statements run inline, on the calling task, while it holds the
//!   writer (a statement of a small write takes microseconds: cheaper than
//!   any hand-off);
//! - a write transaction joins the batch transaction already open instead
//!   of opening its own, inside a savepoint of its own. The last writer in
//!   line commits the batch, on a blocking thread (a commit may fsync or
//!   checkpoint), and every member's `commit` returns only then, with the
//!   batch's outcome: nobody is told "committed" before the data is;
//! - a member that is abandoned (an error, an early return, a cancelled
//!   request) rolls back to its savepoint: its writes vanish, the batch
//!   goes on. Only when SQLite itself rolled the whole transaction back (an
//!   I/O error, a full disk) is every member told
//!   [`WriteConflict::Serialization`], which `support_core::Support`
//!   answers by retrying the operation.
//!
//! The writes that are not on a hot path (claiming notification jobs,
//! preferences, contacts, pruning) take the writer exclusively
//! ([`Writer::exclusive`]): the open batch is committed first, then they run
//! through sqlx on a pool connection.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OpenFlags};
use sqlx::{Sqlite, SqlitePool, Transaction};
use support_core::{StorageError, StorageResult, WriteConflict};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::BUSY_TIMEOUT;
use crate::SetupError;
use crate::error::{backend, classify_rusqlite};

/// Most writes one batch commits together.
const MAX_BATCH: usize = 64;

/// Prepared statements the writer keeps (every write statement fits).
const STATEMENT_CACHE: usize = 64;

type Outcome = Result<(), StorageError>;

/// The writer of one database: its connection and the queue in front of it.
pub(crate) struct Writer {
    batch: Arc<Mutex<Batch>>,
    /// Writers waiting for the connection.
    queued: AtomicUsize,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The writer connection and the batch transaction open on it.
pub(crate) struct Batch {
    conn: Connection,
    /// A batch transaction is open on `conn`.
    open: bool,
    /// Members that finished and wait for the batch to commit.
    waiters: Vec<oneshot::Sender<Outcome>>,
    /// Members so far.
    size: usize,
}

/// The writer connection's settings, read off the host's pool so both
/// agree.
#[derive(Clone, Debug)]
pub(crate) struct WriterSettings {
    /// The database file.
    pub(crate) path: PathBuf,
    /// `PRAGMA synchronous` as a number (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA).
    pub(crate) synchronous: i64,
    /// `PRAGMA foreign_keys`.
    pub(crate) foreign_keys: bool,
}

impl Writer {
    /// Opens the writer connection (blocking file I/O, on a blocking
    /// thread).
    pub(crate) async fn open(settings: WriterSettings) -> Result<Self, SetupError> {
        let conn = tokio::task::spawn_blocking(move || open_connection(&settings))
            .await
            .map_err(|e| SetupError::Io(e.into()))?
            .map_err(SetupError::OpenWriter)?;
        Ok(Self {
            batch: Arc::new(Mutex::new(Batch {
                conn,
                open: false,
                waiters: Vec::new(),
                size: 0,
            })),
            queued: AtomicUsize::new(0),
        })
    }

    /// Joins the open batch, or opens one with `BEGIN IMMEDIATE`.
    pub(crate) async fn begin(self: &Arc<Self>) -> StorageResult<SqliteWriteTx> {
        let mut batch = self.acquire().await;
        if let Err(error) = batch.start_member() {
            release(self, batch);
            return Err(error);
        }
        Ok(SqliteWriteTx {
            batch: Some(batch),
            writer: Arc::clone(self),
        })
    }

    /// Takes the writer for a write through sqlx: commits the open batch,
    /// then begins `BEGIN IMMEDIATE` on a pool connection. The writer stays
    /// taken until the returned transaction ends.
    pub(crate) async fn exclusive(
        self: &Arc<Self>,
        pool: &SqlitePool,
    ) -> StorageResult<ExclusiveWrite> {
        let batch = settle_owned(self.acquire().await).await?;
        let tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        Ok(ExclusiveWrite { tx, _batch: batch })
    }

    /// Waits for the connection, counted as queued meanwhile.
    async fn acquire(self: &Arc<Self>) -> OwnedMutexGuard<Batch> {
        let mut queued = Queued::enter(self);
        let batch = Arc::clone(&self.batch).lock_owned().await;
        queued.acquired = true;
        batch
    }

    /// Ends whatever batch a vanished member left open.
    async fn settle(self: Arc<Self>) {
        let batch = Arc::clone(&self.batch).lock_owned().await;
        let _ = settle_owned(batch).await;
    }
}

fn open_connection(settings: &WriterSettings) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        &settings.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", settings.foreign_keys)?;
    conn.pragma_update(None, "synchronous", settings.synchronous)?;
    // Savepoint journals in memory: a member's undo copies are small and
    // live only until its batch commits.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Counts a writer as queued until it holds the connection. A writer that
/// gives up while queued (its request was cancelled) may have been the one
/// the batch was left open for: it sees that the batch ends.
struct Queued<'a> {
    writer: &'a Arc<Writer>,
    acquired: bool,
}

impl<'a> Queued<'a> {
    fn enter(writer: &'a Arc<Writer>) -> Self {
        writer.queued.fetch_add(1, Ordering::SeqCst);
        Self {
            writer,
            acquired: false,
        }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.writer.queued.fetch_sub(1, Ordering::SeqCst);
        if !self.acquired {
            spawn_settle(self.writer);
        }
    }
}

fn spawn_settle(writer: &Arc<Writer>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(Arc::clone(writer).settle());
    }
}

/// Lets go of the writer without committing: if a batch is open, a task
/// commits it unless a queued writer takes it on first.
fn release(writer: &Arc<Writer>, batch: OwnedMutexGuard<Batch>) {
    let open = batch.open;
    drop(batch);
    if open {
        spawn_settle(writer);
    }
}

/// Commits the open batch on a blocking thread, tells its members, and
/// hands the writer back.
async fn settle_owned(batch: OwnedMutexGuard<Batch>) -> StorageResult<OwnedMutexGuard<Batch>> {
    if !batch.open {
        return Ok(batch);
    }
    let (back, returned) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let mut batch = batch;
        batch.commit();
        // The caller may have gone (a cancelled request): the writer is
        // then released here.
        let _ = back.send(batch);
    });
    // An error only when the runtime shuts down and the task never ran:
    // the batch was dropped uncommitted, and its members are told so.
    returned.await.map_err(|_| writer_stopped())
}

fn writer_stopped() -> StorageError {
    StorageError::Unavailable("the SQLite writer stopped".into())
}

impl Batch {
    /// Starts a member: the batch transaction if none is open, then the
    /// member's savepoint.
    fn start_member(&mut self) -> StorageResult<()> {
        if !self.open {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(classify_rusqlite)?;
            self.open = true;
            self.size = 0;
        }
        if let Err(error) = self.conn.execute_batch("SAVEPOINT member") {
            self.check_alive();
            return Err(classify_rusqlite(error));
        }
        Ok(())
    }

    /// Keeps a member's writes in the batch.
    fn end_member(&mut self) -> StorageResult<()> {
        match self.conn.execute_batch("RELEASE member") {
            Ok(()) if self.check_alive() => Ok(()),
            Ok(()) => Err(lost()),
            Err(error) => {
                self.abandon_member();
                Err(classify_rusqlite(error))
            }
        }
    }

    /// Undoes a member's writes; the batch goes on.
    fn abandon_member(&mut self) {
        if !self.check_alive() {
            return;
        }
        if self
            .conn
            .execute_batch("ROLLBACK TO member; RELEASE member")
            .is_err()
        {
            // The savepoint is gone, or SQLite cannot undo: nothing of this
            // batch can be trusted.
            let _ = self.conn.execute_batch("ROLLBACK");
            self.open = false;
            self.tell(&Err(lost()));
        }
    }

    /// `false` (and the members told) when SQLite rolled the batch
    /// transaction back on its own (I/O errors, a full disk, out of memory).
    fn check_alive(&mut self) -> bool {
        if self.open && self.conn.is_autocommit() {
            self.open = false;
            self.tell(&Err(lost()));
        }
        self.open
    }

    /// Commits the open batch (blocking: may fsync or checkpoint) and tells
    /// its members.
    fn commit(&mut self) {
        if !self.check_alive() {
            return;
        }
        let outcome = match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(error) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(classify_rusqlite(error))
            }
        };
        self.open = false;
        self.tell(&outcome);
    }

    fn tell(&mut self, outcome: &Outcome) {
        self.size = 0;
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(shared(outcome));
        }
    }
}

/// The batch was rolled back under its members: they retry.
fn lost() -> StorageError {
    StorageError::WriteConflict(WriteConflict::Serialization)
}

/// The batch outcome for one more member. Storage errors are not `Clone`:
/// the others get the same kind, with the first one's message.
fn shared(outcome: &Outcome) -> Outcome {
    match outcome {
        Ok(()) => Ok(()),
        Err(StorageError::WriteConflict(conflict)) => Err(StorageError::WriteConflict(*conflict)),
        Err(StorageError::Unavailable(e)) => Err(StorageError::Unavailable(
            format!("group commit failed: {e}").into(),
        )),
        Err(StorageError::Backend(e)) => Err(StorageError::Backend(
            format!("group commit failed: {e}").into(),
        )),
    }
}

/// A write transaction: a member of the open batch, holding the writer
/// connection until it commits or is dropped (which undoes its writes).
pub struct SqliteWriteTx {
    batch: Option<OwnedMutexGuard<Batch>>,
    writer: Arc<Writer>,
}

impl fmt::Debug for SqliteWriteTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteWriteTx").finish_non_exhaustive()
    }
}

impl SqliteWriteTx {
    pub(crate) fn conn(&self) -> &Connection {
        match self.batch.as_ref() {
            Some(batch) => &batch.conn,
            // `batch` is taken only by `finish` (which consumes the
            // transaction) and `drop`.
            None => unreachable!("write transaction used after it ended"),
        }
    }

    /// Commits this member: leaves the batch open for the next writer in
    /// line, or, when nobody waits, commits it. Returns once the batch
    /// committed.
    pub(crate) async fn finish(mut self: Box<Self>) -> StorageResult<()> {
        let Some(mut batch) = self.batch.take() else {
            unreachable!("write transaction finished twice");
        };
        if let Err(error) = batch.end_member() {
            release(&self.writer, batch);
            return Err(error);
        }
        batch.size += 1;
        let (done, outcome) = oneshot::channel();
        batch.waiters.push(done);
        if self.writer.queued.load(Ordering::SeqCst) > 0 && batch.size < MAX_BATCH {
            drop(batch);
        } else {
            drop(settle_owned(batch).await);
        }
        outcome.await.unwrap_or_else(|_| Err(writer_stopped()))
    }
}

impl Drop for SqliteWriteTx {
    /// An abandoned member: its writes are undone, the batch goes on.
    fn drop(&mut self) {
        if let Some(mut batch) = self.batch.take() {
            batch.abandon_member();
            release(&self.writer, batch);
        }
    }
}

/// A write through sqlx that holds the writer (see [`Writer::exclusive`]).
/// Dropping it rolls back.
pub(crate) struct ExclusiveWrite {
    tx: Transaction<'static, Sqlite>,
    _batch: OwnedMutexGuard<Batch>,
}

impl fmt::Debug for ExclusiveWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExclusiveWrite").finish_non_exhaustive()
    }
}

impl ExclusiveWrite {
    pub(crate) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    pub(crate) async fn finish(self: Box<Self>) -> StorageResult<()> {
        self.tx.commit().await.map_err(backend)
    }
}
