//! Commits of every process on the database, heard through
//! `LISTEN`/`NOTIFY`.
//!
//! A sequencer pass that numbers events into the log sends a notification
//! in its own transaction (`pg_notify`), so PostgreSQL delivers it only if
//! and when it commits; its payload is the newest position appended. A
//! write that enqueued a job due at once sends `0;jobs` after it committed.
//! Never content.
//! The channel is named after the schema, so deployments (and tests) that
//! share a database in separate schemas do not wake each other.
//!
//! Ephemeral signals (typing, presence: [`support_core::Ephemeral`]) travel
//! on a second channel of the same connection, encoded as their payload.
//!
//! One listener connection per storage (taken from its pool), started with
//! its first subscriber and ended with the storage. When the connection is
//! lost (a database restart, `pg_terminate_backend`), or stays silent
//! although the listener pings itself (a half-open connection), it
//! reconnects, and then asks every subscriber to check the log:
//! notifications sent meanwhile were lost, the events were not.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};
use support_core::{Ephemeral, EventSeq};
use tokio::sync::broadcast;

use super::background::Background;
use crate::signal::Signals;

/// The channel of this schema, as SQL: a hash of the schema's name, so
/// every schema gets its own channel within PostgreSQL's 63-byte limit.
macro_rules! channel {
    () => {
        "'support_' || md5(current_schema())"
    };
}
pub(crate) use channel;

/// The channel of this schema's ephemeral signals (typing, presence), as
/// SQL: apart from commits, so a version that knows no such signals is
/// not woken by them.
macro_rules! ephemeral_channel {
    () => {
        "'support_live_' || md5(current_schema())"
    };
}
pub(crate) use ephemeral_channel;

/// Payload suffix of a commit that enqueued a job due at once.
pub(crate) const DUE_JOBS: &str = ";jobs";

/// Payload of the listener's own heartbeat.
const PING: &str = "ping";

/// Longest wait between attempts to reconnect; also how long a connection
/// must have lasted for the backoff to start over.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How often the listener sends itself a heartbeat through the pool.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Silence after which the listener's connection is taken for dead (a
/// half-open connection never reports an error) and replaced.
const SILENCE_LIMIT: Duration = Duration::from_secs(60);

/// The listener task of one storage, started with its first subscriber
/// and ended with the storage.
#[derive(Debug, Default)]
pub(crate) struct Listener {
    task: Background,
}

impl Listener {
    /// Starts the listener unless it runs. Without a Tokio runtime it does
    /// not start (subscribers then learn only of this process's commits,
    /// and through the periodic check).
    pub(crate) fn ensure_running(&self, pool: &PgPool, signals: &Arc<Signals>, ephemeral: &Heard) {
        self.task
            .ensure_running(|| listen(pool.clone(), Arc::clone(signals), ephemeral.clone()));
    }
}

/// Where the ephemeral signals heard go.
pub(crate) type Heard = broadcast::Sender<Ephemeral>;

/// The channels one connection listens on.
struct Channels {
    commits: String,
    ephemeral: String,
}

/// Listens for as long as the storage lives, reconnecting with a backoff.
async fn listen(pool: PgPool, signals: Arc<Signals>, ephemeral: Heard) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match connect(&pool).await {
            Ok((listener, channels)) => {
                let connected = tokio::time::Instant::now();
                // Whatever committed before LISTEN took effect was not
                // heard: read the log.
                signals.check();
                receive(listener, &pool, &channels, &signals, &ephemeral).await;
                tracing::info!("commit listener lost its connection: reconnecting");
                signals.check();
                if connected.elapsed() > MAX_BACKOFF {
                    // It had been working: try again soon. A connection
                    // that keeps dying at once keeps its backoff.
                    backoff = Duration::from_millis(50);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "commit listener cannot connect; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn connect(pool: &PgPool) -> Result<(PgListener, Channels), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection ends `receive`; `listen` reconnects, with its
    // backoff, rather than `try_recv` at once.
    listener.eager_reconnect(false);
    let (commits, ephemeral): (String, String) =
        sqlx::query_as(concat!("SELECT ", channel!(), ", ", ephemeral_channel!()))
            .fetch_one(&mut listener)
            .await?;
    listener
        .listen_all([commits.as_str(), ephemeral.as_str()])
        .await?;
    Ok((listener, Channels { commits, ephemeral }))
}

/// Passes notifications on until the connection is lost, fails, or stays
/// silent past [`SILENCE_LIMIT`] although the listener pings itself every
/// [`PING_EVERY`].
async fn receive(
    mut listener: PgListener,
    pool: &PgPool,
    channels: &Channels,
    signals: &Signals,
    ephemeral: &Heard,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let silence = tokio::time::sleep(SILENCE_LIMIT);
        let received = listener.try_recv();
        tokio::pin!(silence, received);
        // The receive is never cancelled and then resumed: it either
        // completes, or the listener is dropped with it.
        let received = loop {
            tokio::select! {
                received = &mut received => break received,
                _ = ping.tick() => {
                    let sent = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(&channels.commits)
                        .bind(PING)
                        .execute(pool)
                        .await;
                    if let Err(error) = sent {
                        tracing::debug!(%error, "commit listener cannot ping itself");
                    }
                }
                () = &mut silence => {
                    tracing::warn!("commit listener heard nothing, not even its own ping: reconnecting");
                    return;
                }
            }
        };
        match received {
            Ok(Some(notification)) if notification.channel() == channels.ephemeral => {
                if let Some(signal) = Ephemeral::decode(notification.payload()) {
                    // Nobody subscribed: nobody to tell.
                    let _ = ephemeral.send(signal);
                }
            }
            Ok(Some(notification)) => match parse(&notification) {
                Some((reached, due_jobs)) => signals.committed(reached, due_jobs),
                None if notification.payload() == PING => {}
                None => signals.check(),
            },
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "commit listener failed");
                return;
            }
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
