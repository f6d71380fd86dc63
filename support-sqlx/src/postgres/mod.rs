//! PostgreSQL: for hosts that run several nodes on one database.

mod background;
mod bus;
mod listener;
mod sequencer;
mod write_tx;

use std::sync::Arc;

use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Transaction};
use support_core::StorageResult;
use support_core::search::SearchTerms;

use crate::SetupError;
use crate::error::backend;
use crate::signal::Signals;
use crate::sql;
use listener::Listener;
use sequencer::Sequencer;

/// Key of the transaction-level advisory lock that orders event-log appends.
const EVENT_LOG_LOCK: i64 = 0x5355_5050_4f52_5401;

/// [`support_core::Storage`] on PostgreSQL.
///
/// Write transactions run at READ COMMITTED and lock the conversation rows
/// they read (`FOR UPDATE`); unique indexes stop concurrent duplicates, and
/// the loser retries. Events are queued with the commit, sharing no lock
/// with other writers, and numbered into the log just after it by the
/// process's sequencer, one pass at a time across processes (see
/// `postgres::sequencer`); a commit returns once its events are numbered.
///
/// Every process on the database hears every other's commits: the pass
/// that numbers events into the log sends a `NOTIFY` in its own
/// transaction, and the
/// storage `LISTEN`s on one connection (taken from its pool for good) from
/// its first subscriber on (see [`support_core::Storage::log_signal`]).
/// Typing and presence cross processes the same way, on a channel of
/// their own ([`support_core::Storage::ephemeral_bus`]).
#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pool: PgPool,
    signals: Arc<Signals>,
    listener: Arc<Listener>,
    /// Ephemeral signals heard by the listener.
    ephemeral: listener::Heard,
    /// Numbers queued events into the log after commit.
    sequencer: Arc<Sequencer>,
}

/// A write transaction on PostgreSQL.
pub struct PostgresWriteTx {
    tx: Transaction<'static, Postgres>,
    /// Its storage, told of the commit (signals, sequencer).
    storage: PostgresStorage,
}

impl PostgresStorage {
    /// Wraps a pool the host built. Call [`Self::migrate`] once at startup.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            signals: Arc::new(Signals::default()),
            listener: Arc::new(Listener::default()),
            ephemeral: tokio::sync::broadcast::Sender::new(bus::HEARD_CAPACITY),
            sequencer: Arc::new(Sequencer::default()),
        }
    }

    /// Connects to `url` with a default pool and migrates.
    pub async fn connect(url: &str) -> Result<Self, SetupError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(SetupError::Connect)?;
        let storage = Self::new(pool);
        storage.migrate().await?;
        Ok(storage)
    }

    /// Applies the embedded PostgreSQL migrations (tracked in
    /// `support_migrations`, not in the host's `_sqlx_migrations`). Safe to
    /// run from several nodes at once.
    pub async fn migrate(&self) -> Result<(), SetupError> {
        let mut migrator = sqlx::migrate!("migrations/postgres");
        migrator.dangerous_set_table_name(crate::MIGRATIONS_TABLE);
        migrator.run(&self.pool).await.map_err(SetupError::Migrate)
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_tx(&self) -> StorageResult<Box<dyn support_core::WriteTx>> {
        Ok(Box::new(self.begin_write().await?))
    }

    async fn begin_write(&self) -> StorageResult<PostgresWriteTx> {
        let tx = self.pool.begin().await.map_err(backend)?;
        Ok(PostgresWriteTx {
            tx,
            storage: self.clone(),
        })
    }

    /// Waits until what this process committed so far is in the log.
    async fn sequenced(&self) {
        self.sequencer.sequenced(&self.pool, &self.signals).await;
    }

    /// Wake-ups for log readers: this process's commits at once, every
    /// other process's through the listener, and the periodic check.
    fn log_wakeups(&self) -> support_core::LogWakeups {
        let wakeups = self.signals.log_wakeups();
        self.ensure_listening();
        wakeups
    }

    /// Starts the listener, and the sequencer: a process that reads the
    /// log also numbers what a process that died left queued.
    fn ensure_listening(&self) {
        self.listener
            .ensure_running(&self.pool, &self.signals, &self.ephemeral);
        self.sequencer.ensure_running(&self.pool, &self.signals);
    }

    /// Typing and presence between every process on the database.
    fn ephemeral_bus_of(&self) -> Option<Arc<dyn support_core::EphemeralBus>> {
        Some(Arc::new(bus::PostgresBus::new(self.clone())))
    }

    /// Wake-ups for workers, from every process, like [`Self::log_wakeups`].
    fn job_wakeups(&self) -> support_core::JobWakeups {
        let wakeups = self.signals.job_wakeups();
        self.ensure_listening();
        wakeups
    }
}

pub(crate) const CONVERSATION_FOR_UPDATE: &str = concat!(sql::conversation_by_id!(), " FOR UPDATE");
pub(crate) const OPEN_CONVERSATION_OF: &str = concat!(sql::open_conversation_of!(), " FOR UPDATE");
pub(crate) const LATEST_CONVERSATION_OF: &str =
    concat!(sql::latest_conversation_of!(), " FOR UPDATE");
/// Concurrent claimers skip each other's rows instead of waiting.
pub(crate) const CLAIM_JOBS: &str = crate::outbox::claim_jobs!(concat!(
    crate::outbox::claimable!(),
    " FOR UPDATE SKIP LOCKED"
));

impl PostgresWriteTx {
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    async fn finish(self: Box<Self>) -> StorageResult<()> {
        self.tx.commit().await.map_err(backend)
    }
}

/// Serializes appends to the log until commit (sequencer passes; writers
/// of earlier versions appended directly under it), so positions follow
/// the order of those commits.
pub(crate) async fn lock_event_log(conn: &mut PgConnection) -> StorageResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVENT_LOG_LOCK)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// `to_tsquery` over terms of letters and digits only (so no input is
/// syntax), each prefix-matched, all required.
pub(crate) fn push_search(sql: &mut QueryBuilder<Postgres>, terms: &SearchTerms) {
    let expression = terms
        .terms()
        .iter()
        .map(|term| format!("{term}:*"))
        .collect::<Vec<_>>()
        .join(" & ");
    sql.push(
        " AND c.id IN (SELECT m2.conversation_id FROM support_messages m2 \
         WHERE m2.search @@ to_tsquery('simple', ",
    )
    .push_bind(expression)
    .push("))");
}

crate::store::sql_storage!(
    db: Postgres,
    storage: PostgresStorage,
    dialect: crate::postgres
);
