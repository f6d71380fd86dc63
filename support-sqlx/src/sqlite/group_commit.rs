//! Group commit: one SQLite transaction shared by the writes that queue up
//! while it is open.
//!
//! SQLite has one writer, and most of a small write's cost is the
//! transaction around it. So a write transaction here joins the batch
//! transaction that is already open (on one connection, handed from writer
//! to writer along the queue) instead of opening its own. The last writer in
//! line commits the batch, and every member's `commit` returns only then,
//! with the batch's outcome: nobody is told "committed" before the data is.
//!
//! A member that fails after writing poisons the batch: it is rolled back,
//! and the other members get [`WriteConflict::Serialization`], which
//! `support_core::Support` answers by retrying the whole operation. A
//! member that wrote nothing (e.g. an idempotent replay) leaves the batch
//! untouched.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use support_core::{StorageError, StorageResult, WriteConflict};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::error::backend;

/// Most writes one batch commits together.
const MAX_BATCH: usize = 64;

type Outcome = Result<(), StorageError>;

/// The state shared by all writers of one database.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    batch: Arc<Mutex<Batch>>,
    /// Writers waiting for the batch lock.
    queued: AtomicUsize,
}

#[derive(Debug, Default)]
struct Batch {
    /// The connection of the open batch transaction, between writers.
    conn: Option<PoolConnection<Sqlite>>,
    /// Members that finished and wait for the batch to commit.
    waiters: Vec<oneshot::Sender<Outcome>>,
    /// Members so far.
    size: usize,
    /// A member failed after writing: the batch must roll back.
    poisoned: bool,
}

/// A write transaction: a member of the open batch.
pub struct SqliteWriteTx {
    conn: Option<PoolConnection<Sqlite>>,
    batch: Option<OwnedMutexGuard<Batch>>,
    writer: Arc<Writer>,
    wrote: bool,
}

impl fmt::Debug for SqliteWriteTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteWriteTx")
            .field("wrote", &self.wrote)
            .finish_non_exhaustive()
    }
}

/// Counts a writer as queued until it holds the batch lock. A writer that
/// gives up while queued (its request was cancelled) may have been handed an
/// open batch that now nobody would commit: it sees that the batch ends.
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

impl Writer {
    /// Joins the open batch, or opens one with `BEGIN IMMEDIATE`.
    pub(crate) async fn begin(self: &Arc<Self>, pool: &SqlitePool) -> StorageResult<SqliteWriteTx> {
        let mut queued = Queued::enter(self);
        let mut batch = Arc::clone(&self.batch).lock_owned().await;
        queued.acquired = true;
        drop(queued);
        if batch.poisoned {
            batch.settle().await;
        }
        let conn = match batch.conn.take() {
            Some(conn) => conn,
            None => {
                let mut conn = pool.acquire().await.map_err(backend)?;
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                conn
            }
        };
        Ok(SqliteWriteTx {
            conn: Some(conn),
            batch: Some(batch),
            writer: Arc::clone(self),
            wrote: false,
        })
    }

    /// Ends whatever batch a vanished member left open.
    async fn settle(self: Arc<Self>) {
        self.batch.lock().await.settle().await;
    }
}

impl Batch {
    /// Commits the open batch (or rolls it back when poisoned) and tells
    /// its members.
    async fn settle(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            self.poisoned = false;
            return;
        };
        let outcome = if self.poisoned {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Err(StorageError::WriteConflict(WriteConflict::Serialization))
        } else {
            commit(&mut conn).await
        };
        self.poisoned = false;
        self.size = 0;
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(shared(&outcome));
        }
    }
}

async fn commit(conn: &mut SqliteConnection) -> Outcome {
    match sqlx::query("COMMIT").execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Err(backend(error))
        }
    }
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

impl SqliteWriteTx {
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            // `conn` is taken only by `finish` (which consumes the
            // transaction) and `drop`.
            None => unreachable!("write transaction used after it ended"),
        }
    }

    pub(crate) fn note_write(&mut self) {
        self.wrote = true;
    }

    /// Commits this member: hands the batch to the next writer in line, or,
    /// when nobody waits, commits it. Returns once the batch committed.
    pub(crate) async fn finish(mut self: Box<Self>) -> StorageResult<()> {
        let (Some(conn), Some(mut batch)) = (self.conn.take(), self.batch.take()) else {
            unreachable!("write transaction finished twice");
        };
        batch.conn = Some(conn);
        batch.size += 1;
        if self.writer.queued.load(Ordering::SeqCst) > 0 && batch.size < MAX_BATCH {
            let (done, outcome) = oneshot::channel();
            batch.waiters.push(done);
            drop(batch);
            return outcome.await.unwrap_or(Err(StorageError::WriteConflict(
                WriteConflict::Serialization,
            )));
        }
        let mut conn = batch
            .conn
            .take()
            .unwrap_or_else(|| unreachable!("just put back"));
        let outcome = commit(&mut conn).await;
        drop(conn);
        batch.size = 0;
        for waiter in batch.waiters.drain(..) {
            let _ = waiter.send(shared(&outcome));
        }
        outcome
    }
}

impl Drop for SqliteWriteTx {
    /// An abandoned member (an error, an early return, a cancelled
    /// request): its writes poison the batch; either way the batch is handed
    /// on, and a task ends it if nobody else comes.
    fn drop(&mut self) {
        let (Some(conn), Some(mut batch)) = (self.conn.take(), self.batch.take()) else {
            return;
        };
        batch.conn = Some(conn);
        batch.poisoned |= self.wrote;
        drop(batch);
        spawn_settle(&self.writer);
    }
}
