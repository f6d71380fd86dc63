//! Log positions assigned after commit.
//!
//! A write transaction inserts its events into `support_event_queue` and
//! commits without any lock shared with other writers, so concurrent
//! commits share PostgreSQL's WAL flushes instead of taking turns at an
//! fsync each. The [`Sequencer`] of each process then moves what is queued
//! into `support_events` in passes: each pass takes the event-log advisory
//! lock (one pass at a time across every process), numbers the queued rows
//! it sees after the last position in queue order, deletes them from the
//! queue and commits, then tells this process's log readers and, by
//! `NOTIFY`, every other process. Positions therefore follow the order in
//! which passes commit: a reader that saw position N never later finds a
//! new N-1. Two writes to one conversation keep their order, since the
//! second waits for the first's row lock and so is queued after it.
//!
//! A writer waits, after its commit, for a pass that started after it
//! ([`Sequencer::sequenced`]): when `commit` returns, its events are in the
//! log, as on SQLite (unless passes keep failing for [`WAIT_LIMIT`]; then
//! it returns with its events committed and still queued, and logs it).
//!
//! Upgrading from a version that appended directly: stop its processes
//! before starting this one. Both can run against one database without
//! losing or doubling anything, but an old writer's event may then be
//! numbered before a new writer's earlier event of the same conversation. Writers that commit while a pass runs share the next
//! one. A pass also runs every [`CHECK_EVERY`], so rows a process queued
//! just before it died are numbered by another.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use support_core::{EventSeq, StorageResult};
use tokio::sync::{Notify, watch};

use super::background::{Background, lock};
use super::listener::channel;
use crate::error::backend;
use crate::signal::Signals;

/// Rows one pass moves at most (a longer queue takes several passes).
const PASS_LIMIT: i64 = 10_000;

/// How often a pass runs without being asked.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// How long a writer waits for its events to be numbered before it returns
/// anyway (they are committed; a later pass numbers them).
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// Longest wait before a failed pass is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Moves the queue into the log and returns the newest position appended
/// (NULL when the queue was empty), the newest position in the log, and
/// how many rows moved, keeping the log's identity sequence past what it
/// appended (the previous version appends with it, under the same lock).
const PASS: &str = "WITH moved AS ( \
        DELETE FROM support_event_queue WHERE id IN \
            (SELECT id FROM support_event_queue ORDER BY id LIMIT $1) \
        RETURNING id, conversation_id, conversation_owner, kind, payload, created_at \
    ), base AS ( \
        SELECT GREATEST( \
            COALESCE((SELECT MAX(seq) FROM support_events), 0), \
            COALESCE(pg_sequence_last_value( \
                pg_get_serial_sequence('support_events', 'seq')::regclass), 0)) AS seq \
    ), appended AS ( \
        INSERT INTO support_events \
            (seq, conversation_id, conversation_owner, kind, payload, created_at) \
        OVERRIDING SYSTEM VALUE \
        SELECT base.seq + row_number() OVER (ORDER BY moved.id), moved.conversation_id, \
               moved.conversation_owner, moved.kind, moved.payload, moved.created_at \
        FROM moved, base \
        RETURNING seq \
    ), kept AS ( \
        SELECT setval(pg_get_serial_sequence('support_events', 'seq'), MAX(seq)) AS seq \
        FROM appended HAVING COUNT(*) > 0 \
    ) \
    SELECT (SELECT MAX(seq) FROM appended) AS appended, \
        COALESCE((SELECT seq FROM kept), (SELECT NULLIF(seq, 0) FROM base)) AS newest, \
        (SELECT COUNT(*) FROM appended) AS moved";

/// Bounds a pass's waits (see [`run_pass`]).
const BOUNDED: &str = "SELECT set_config('lock_timeout', '10s', true), \
     set_config('idle_in_transaction_session_timeout', '10s', true)";

const TELL: &str = concat!("SELECT pg_notify(", channel!(), ", $1)");

/// Pass bookkeeping shared by writers and the pass task.
#[derive(Debug, Default)]
struct Passes {
    /// The pass writers wait for (a pass numbered this or later covers
    /// every commit made before it was asked for).
    requested: u64,
    /// The last pass started.
    started: u64,
}

#[derive(Debug)]
struct Shared {
    passes: Mutex<Passes>,
    wake: Notify,
    /// The last pass completed.
    completed: watch::Sender<u64>,
}

/// The sequencer of one storage: a task that runs passes, started with the
/// first write and ended with the storage.
#[derive(Debug)]
pub(crate) struct Sequencer {
    shared: Arc<Shared>,
    task: Background,
}

impl Default for Sequencer {
    fn default() -> Self {
        Self {
            shared: Arc::new(Shared {
                passes: Mutex::new(Passes::default()),
                wake: Notify::new(),
                completed: watch::Sender::new(0),
            }),
            task: Background::default(),
        }
    }
}

impl Sequencer {
    /// Returns once a pass that started after this call completed, so
    /// every event committed before it is in the log (or after
    /// [`WAIT_LIMIT`], when passes keep failing: the events stay queued,
    /// committed, until one succeeds).
    pub(crate) async fn sequenced(&self, pool: &PgPool, signals: &Arc<Signals>) {
        let ticket = {
            let mut passes = lock(&self.shared.passes);
            passes.requested = passes.started + 1;
            passes.requested
        };
        self.ensure_running(pool, signals);
        self.shared.wake.notify_one();
        let mut completed = self.shared.completed.subscribe();
        let waited = tokio::time::timeout(WAIT_LIMIT, completed.wait_for(|done| *done >= ticket));
        if waited.await.is_err() {
            tracing::warn!(
                "events committed but not yet in the log after {WAIT_LIMIT:?}; they will be"
            );
        }
    }

    /// Starts the pass task unless it runs (and if a Tokio runtime is
    /// there to run it).
    pub(crate) fn ensure_running(&self, pool: &PgPool, signals: &Arc<Signals>) {
        self.task
            .ensure_running(|| run(Arc::clone(&self.shared), pool.clone(), Arc::clone(signals)));
    }
}

/// Runs passes when asked and every [`CHECK_EVERY`], for as long as the
/// storage lives.
async fn run(shared: Arc<Shared>, pool: PgPool, signals: Arc<Signals>) {
    let mut backoff = Duration::from_millis(20);
    loop {
        let asked = {
            let passes = lock(&shared.passes);
            passes.requested > passes.started
        };
        if !asked {
            let _ = tokio::time::timeout(CHECK_EVERY, shared.wake.notified()).await;
        }
        let pass = {
            let mut passes = lock(&shared.passes);
            passes.started += 1;
            passes.started
        };
        // A full pass left rows queued that writers waiting for `pass` may
        // own: pass again before telling them.
        loop {
            match run_pass(&pool).await {
                Ok(Pass { newest, full }) => {
                    if let Some(newest) = newest {
                        // Even when another process moved this one's rows:
                        // its readers learn of them now, not from the
                        // listener.
                        signals.committed(newest, false);
                    }
                    backoff = Duration::from_millis(20);
                    if !full {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot move queued events into the log; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        shared.completed.send_replace(pass);
    }
}

/// What a pass found.
struct Pass {
    /// The newest position in the log (appended by this pass or not).
    newest: Option<EventSeq>,
    /// It moved [`PASS_LIMIT`] rows: more may be queued.
    full: bool,
}

/// One pass. Bounded: the lock is waited for at most [`LOCK_TIMEOUT`], and
/// a holder that stalls inside its pass (a frozen process) loses its
/// session, and so the lock, after as long.
async fn run_pass(pool: &PgPool) -> StorageResult<Pass> {
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query(BOUNDED)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    super::lock_event_log(&mut tx).await?;
    let (appended, newest, moved): (Option<i64>, Option<i64>, i64) = sqlx::query_as(PASS)
        .bind(PASS_LIMIT)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    if let Some(appended) = appended {
        // Delivered to the other processes only if this commits.
        sqlx::query(TELL)
            .bind(appended.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(Pass {
        newest: newest.map(EventSeq),
        full: moved >= PASS_LIMIT,
    })
}
