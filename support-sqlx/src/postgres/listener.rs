//! Commits of every process on the database, heard through
//! `LISTEN`/`NOTIFY`.
//!
//! A write transaction that appends events sends a notification in the
//! same transaction (`pg_notify`), so PostgreSQL delivers it only if and
//! when it commits. Its payload is the newest position appended, followed
//! by `;jobs` when the write enqueued a job due at once: never content.
//! The channel is named after the schema, so deployments (and tests) that
//! share a database in separate schemas do not wake each other.
//!
//! One listener connection per storage, started with its first subscriber
//! and ended with its last. When the connection is lost (a database
//! restart, `pg_terminate_backend`), it reconnects, and then asks every
//! subscriber to check the log: notifications sent meanwhile were lost, the
//! events were not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};
use support_core::EventSeq;
use tokio::task::JoinHandle;

use crate::signal::Signals;

/// The channel of this schema, as SQL (channel names are at most 63
/// bytes).
macro_rules! channel {
    () => {
        "left('support.' || current_schema(), 63)"
    };
}
pub(crate) use channel;

/// Payload suffix of a commit that enqueued a job due at once.
pub(crate) const DUE_JOBS: &str = ";jobs";

/// Longest wait between attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The listener task of one storage, if running.
#[derive(Debug, Default)]
pub(crate) struct Listener {
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Listener {
    /// Starts the listener unless it runs. Call after subscribing: it
    /// stops when it finds nobody subscribed. Without a Tokio runtime it
    /// does not start (subscribers then learn only of this process's
    /// commits, and through the periodic check).
    pub(crate) fn ensure_running(&self, pool: &PgPool, signals: &Arc<Signals>) {
        let mut task = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if task.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            *task = Some(runtime.spawn(listen(pool.clone(), Arc::clone(signals))));
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(task) = self.task.get_mut().unwrap_or_else(|p| p.into_inner()) {
            task.abort();
        }
    }
}

/// Listens until nobody subscribes, reconnecting with a backoff.
async fn listen(pool: PgPool, signals: Arc<Signals>) {
    let mut backoff = Duration::from_millis(50);
    while signals.observed() {
        match connect(&pool).await {
            Ok(listener) => {
                backoff = Duration::from_millis(50);
                // Whatever committed before LISTEN took effect was not
                // heard: read the log.
                signals.check();
                receive(listener, &signals).await;
                if !signals.observed() {
                    return;
                }
                tracing::info!("commit listener lost its connection: reconnecting");
                signals.check();
            }
            Err(error) => {
                tracing::warn!(%error, "commit listener cannot connect; retrying");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = signals.unobserved() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    let channel: String = sqlx::query_scalar(concat!("SELECT ", channel!()))
        .fetch_one(&mut listener)
        .await?;
    listener.listen(&channel).await?;
    Ok(listener)
}

/// Passes notifications on until the connection is lost or nobody
/// subscribes.
async fn receive(mut listener: PgListener, signals: &Signals) {
    loop {
        tokio::select! {
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => match parse(&notification) {
                    Some((reached, due_jobs)) => signals.committed(reached, due_jobs),
                    None => signals.check(),
                },
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "commit listener failed");
                    return;
                }
            },
            () = signals.unobserved() => return,
        }
    }
}

/// `"<position>"` or `"<position>;jobs"`.
fn parse(notification: &PgNotification) -> Option<(EventSeq, bool)> {
    let payload = notification.payload();
    let (position, due_jobs) = match payload.strip_suffix(DUE_JOBS) {
        Some(position) => (position, true),
        None => (payload, false),
    };
    position.parse().ok().map(|seq| (EventSeq(seq), due_jobs))
}
