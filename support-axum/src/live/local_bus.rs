//! The in-process [`EphemeralBus`], for a storage that one process uses
//! (SQLite): typing and presence go from this process to this process.

use async_trait::async_trait;
use futures::StreamExt;
use support_core::{Ephemeral, EphemeralBus, EphemeralSignals, StorageResult};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Signals held for a slow subscriber before it misses the oldest.
const CAPACITY: usize = 1024;

/// An [`EphemeralBus`] within one process.
#[derive(Debug)]
pub struct LocalBus {
    sender: broadcast::Sender<Ephemeral>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(CAPACITY),
        }
    }
}

#[async_trait]
impl EphemeralBus for LocalBus {
    async fn publish(&self, signal: &Ephemeral) -> StorageResult<()> {
        // Nobody subscribed: nobody to tell.
        let _ = self.sender.send(signal.clone());
        Ok(())
    }

    fn subscribe(&self) -> EphemeralSignals {
        futures::stream::unfold(self.sender.subscribe(), |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(signal) => return Some((signal, receiver)),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }
}
