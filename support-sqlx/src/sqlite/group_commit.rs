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
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::{Sqlite, SqlitePool, Transaction};
use support_core::{EventSeq, StorageError, StorageResult, WriteConflict};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::BUSY_TIMEOUT;
use crate::SetupError;
use crate::error::{backend, classify_rusqlite};
use crate::signal::Signals;

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
    /// What the kept members appended: signalled once the batch commits.
    appended: Appended,
    signals: Arc<Signals>,
}

/// The events and jobs of committed-to-be writes, for the commit signal.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Appended {
    /// The newest event position appended, if any.
    pub(crate) reached: Option<EventSeq>,
    /// Whether a job due at once was enqueued.
    pub(crate) due_jobs: bool,
}

impl Appended {
    fn add(&mut self, other: Self) {
        self.reached = self.reached.max(other.reached);
        self.due_jobs |= other.due_jobs;
    }
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
    /// thread). Each committed batch is told to `signals`.
    pub(crate) async fn open(
        settings: WriterSettings,
        signals: Arc<Signals>,
    ) -> Result<Self, SetupError> {
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
                appended: Appended::default(),
                signals,
            })),
            queued: AtomicUsize::new(0),
        })
    }

    /// Joins the open batch, or opens one with `BEGIN IMMEDIATE`.
    pub(crate) async fn begin(self: &Arc<Self>) -> StorageResult<SqliteWriteTx> {
        let mut batch = self.acquire().await;
        if !batch.open {
            batch = open_batch(batch).await?;
        }
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
    // Statements run on the caller's task and must never sleep there: a
    // batch waits for another process's lock on a blocking thread instead
    // (see `open_batch`), and holds the lock from then on.
    conn.busy_timeout(Duration::ZERO)?;
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

/// Sees that an open batch gets committed: by a task (after the writers
/// queued meanwhile joined it), or, with no runtime to run one (a
/// transaction dropped on a plain thread), right here if the writer is
/// free; if it is not, its holder commits or hands on the batch.
fn spawn_settle(writer: &Arc<Writer>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(Arc::clone(writer).settle());
        }
        Err(_) => {
            if let Ok(mut batch) = Arc::clone(&writer.batch).try_lock_owned() {
                batch.commit();
            }
        }
    }
}

/// Lets go of the writer without committing: if a batch is open, it is
/// committed soon (see [`spawn_settle`]) unless a queued writer takes it on
/// first.
fn release(writer: &Arc<Writer>, batch: OwnedMutexGuard<Batch>) {
    let open = batch.open;
    drop(batch);
    if open {
        spawn_settle(writer);
    }
}

/// Opens a batch transaction. When another connection holds SQLite's write
/// lock (another process, or the host writing through the pool), waits for
/// it on a blocking thread, up to [`BUSY_TIMEOUT`].
async fn open_batch(mut batch: OwnedMutexGuard<Batch>) -> StorageResult<OwnedMutexGuard<Batch>> {
    match batch.try_open() {
        Ok(()) => Ok(batch),
        Err(error) if is_busy(&error) => {
            let (batch, opened) = on_blocking_thread(batch, Batch::open_waiting).await?;
            opened.map_err(classify_rusqlite)?;
            Ok(batch)
        }
        Err(error) => Err(classify_rusqlite(error)),
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The writer on its way to a blocking thread. Whenever it is let go of
/// without being handed back (the caller went away, a cancelled request;
/// or the task never ran, the runtime shutting down), an open batch is
/// committed first: no batch stays open holding SQLite's lock with nobody
/// to end it or members waiting.
struct Handoff(Option<OwnedMutexGuard<Batch>>);

impl Drop for Handoff {
    fn drop(&mut self) {
        if let Some(mut batch) = self.0.take() {
            batch.commit();
        }
    }
}

/// Runs `work` on the writer on a blocking thread (it may fsync, checkpoint
/// or wait for another connection's lock) and hands the writer back with
/// the result.
async fn on_blocking_thread<T: Send + 'static>(
    batch: OwnedMutexGuard<Batch>,
    work: impl FnOnce(&mut Batch) -> T + Send + 'static,
) -> StorageResult<(OwnedMutexGuard<Batch>, T)> {
    let (back, returned) = oneshot::channel();
    let handoff = Handoff(Some(batch));
    tokio::task::spawn_blocking(move || {
        let mut handoff = handoff;
        let Some(batch) = handoff.0.as_mut() else {
            return;
        };
        let outcome = work(batch);
        let Some(batch) = handoff.0.take() else {
            return;
        };
        if let Err((mut batch, _)) = back.send((batch, outcome)) {
            batch.commit();
        }
    });
    // An error only when the task never ran (the runtime shuts down).
    returned.await.map_err(|_| writer_stopped())
}

/// Commits the open batch on a blocking thread, tells its members, and
/// hands the writer back.
async fn settle_owned(batch: OwnedMutexGuard<Batch>) -> StorageResult<OwnedMutexGuard<Batch>> {
    if !batch.open {
        return Ok(batch);
    }
    let (batch, ()) = on_blocking_thread(batch, Batch::commit).await?;
    Ok(batch)
}

fn writer_stopped() -> StorageError {
    StorageError::Unavailable("the SQLite writer stopped".into())
}

impl Batch {
    /// `BEGIN IMMEDIATE`, failing at once if another connection writes.
    fn try_open(&mut self) -> Result<(), rusqlite::Error> {
        if !self.conn.is_autocommit() {
            // A transaction a failed ROLLBACK left behind: nobody waits on
            // it any more (its members were told), so it goes.
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.open = true;
        Ok(())
    }

    /// [`Self::try_open`], waiting up to [`BUSY_TIMEOUT`] for the lock
    /// (blocking).
    fn open_waiting(&mut self) -> Result<(), rusqlite::Error> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        let opened = self.try_open();
        self.conn.busy_timeout(Duration::ZERO)?;
        opened
    }

    /// Starts a member in the open batch: its savepoint.
    fn start_member(&mut self) -> StorageResult<()> {
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

    /// Commits the open batch (blocking: may fsync, checkpoint, or wait
    /// for a reader to let go of the WAL) and tells its members.
    fn commit(&mut self) {
        if !self.check_alive() {
            return;
        }
        let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
        let committed = self.conn.execute_batch("COMMIT");
        let _ = self.conn.busy_timeout(Duration::ZERO);
        let outcome = match committed {
            Ok(()) => Ok(()),
            Err(error) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(classify_rusqlite(error))
            }
        };
        self.open = false;
        let appended = std::mem::take(&mut self.appended);
        if let (Ok(()), Some(reached)) = (&outcome, appended.reached) {
            self.signals.committed(reached, appended.due_jobs);
        }
        self.tell(&outcome);
    }

    fn tell(&mut self, outcome: &Outcome) {
        self.size = 0;
        self.appended = Appended::default();
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
/// The task that holds one must not begin another write on the same
/// storage before it ends: that write would wait for this one forever.
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
    /// The connection, while the batch transaction stands. Once SQLite has
    /// rolled it back on its own (an I/O error, a full disk), a statement
    /// would run and commit by itself: refused, and the member retries.
    pub(crate) fn batch_conn(&self) -> StorageResult<&Connection> {
        let conn = self.conn();
        if conn.is_autocommit() {
            Err(lost())
        } else {
            Ok(conn)
        }
    }

    fn conn(&self) -> &Connection {
        match self.batch.as_ref() {
            Some(batch) => &batch.conn,
            // `batch` is taken only by `finish` (which consumes the
            // transaction) and `drop`.
            None => unreachable!("write transaction used after it ended"),
        }
    }

    /// Commits this member, which `appended` these: leaves the batch open
    /// for the next writer in line, or, when nobody waits, commits it.
    /// Returns once the batch committed; the batch's commit signals what
    /// its members appended, even those that are gone by then.
    pub(crate) async fn finish(mut self: Box<Self>, appended: Appended) -> StorageResult<()> {
        let Some(mut batch) = self.batch.take() else {
            unreachable!("write transaction finished twice");
        };
        if let Err(error) = batch.end_member() {
            release(&self.writer, batch);
            return Err(error);
        }
        batch.size += 1;
        batch.appended.add(appended);
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
