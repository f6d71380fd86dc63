//! [`support_core::EphemeralBus`] on PostgreSQL: `NOTIFY` on the schema's
//! ephemeral channel, heard by the storage's listener
//! (`postgres::listener`) in every process, this one included.

use async_trait::async_trait;
use futures::StreamExt;
use support_core::{Ephemeral, EphemeralBus, EphemeralSignals, StorageError, StorageResult};
use tokio::sync::broadcast::error::RecvError;

use super::PostgresStorage;
use super::listener::ephemeral_channel;
use crate::error::backend;

/// Signals held for a subscriber that is slow to take them; past that it
/// misses the oldest (they are ephemeral: the next ones follow).
pub(crate) const HEARD_CAPACITY: usize = 1024;

/// PostgreSQL's limit on a notification's payload, in bytes (less one);
/// above [`support_core::ephemeral::MAX_SIGNAL_BYTES`].
const MAX_PAYLOAD_BYTES: usize = 7999;

/// One statement, its own transaction, committed without waiting for the
/// WAL flush: a signal is not worth an fsync (and a commit that notifies
/// holds PostgreSQL's notification lock until it is flushed, which every
/// notifying commit on the database queues behind).
const PUBLISH: &str = concat!(
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify(",
    ephemeral_channel!(),
    ", $1)"
);

/// The ephemeral bus of one [`PostgresStorage`].
pub(crate) struct PostgresBus {
    storage: PostgresStorage,
}

impl PostgresBus {
    pub(crate) fn new(storage: PostgresStorage) -> Self {
        Self { storage }
    }
}

#[async_trait]
impl EphemeralBus for PostgresBus {
    async fn publish(&self, signal: &Ephemeral) -> StorageResult<()> {
        let payload = signal.encode();
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(StorageError::Backend(
                format!(
                    "an ephemeral signal of {} bytes exceeds PostgreSQL's notification limit",
                    payload.len()
                )
                .into(),
            ));
        }
        sqlx::query(PUBLISH)
            .bind(payload)
            .execute(&self.storage.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    fn subscribe(&self) -> EphemeralSignals {
        let receiver = self.storage.ephemeral.subscribe();
        self.storage.ensure_listening();
        futures::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(signal) => return Some((signal, receiver)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "ephemeral signals dropped for a slow subscriber");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }
}
