//! [`Support`]: the rules, applied to a [`Storage`] through its transactional
//! primitives. Every change commits its events to the log; live delivery
//! reads them from there ([`crate::LogTail`]).

mod notifications;
mod reads;
mod writes;

use std::future::Future;
use std::sync::Arc;

use chrono::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{StorageError, SupportError};
use crate::notification::NotificationRules;
use crate::storage::Storage;
use crate::validation::ContentLimits;

pub use reads::{MessagePage, MessagesRequest, USUAL_RESPONSE_MIN_ANSWERED};
pub use writes::{NewMessage, Posted, Sent};

/// Settings a host may tune.
#[derive(Clone, Debug)]
pub struct SupportConfig {
    /// Message length limit.
    pub content: ContentLimits,
    /// A user's message after a close reopens the conversation closed less
    /// than this long ago instead of starting a new one. Zero (the default)
    /// always starts a new one.
    pub reopen_window: Duration,
    /// How often an operation that lost a race to a concurrent writer is
    /// retried before giving up.
    pub max_write_attempts: u32,
    /// Who is notified of what (default: nobody; a host turns channels on).
    pub notifications: NotificationRules,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            content: ContentLimits::default(),
            reopen_window: Duration::zero(),
            max_write_attempts: 10,
            notifications: NotificationRules::default(),
        }
    }
}

/// The support inbox. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Support {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    config: Arc<SupportConfig>,
}

impl Support {
    /// A support inbox over `storage`, with the default configuration and
    /// the system clock.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            clock: Arc::new(SystemClock),
            config: Arc::new(SupportConfig::default()),
        }
    }

    /// Uses `clock` for every timestamp.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the configuration.
    pub fn with_config(mut self, config: SupportConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &SupportConfig {
        &self.config
    }

    /// The storage underneath.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Runs `attempt` until it does not lose a race. A lost race (a unique
    /// index stopped a concurrent duplicate, a serialization failure) rolls
    /// the whole transaction back; the next attempt then sees the winner's
    /// write and decides again.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, SupportError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SupportError>>,
    {
        let mut attempts = 1;
        loop {
            match attempt().await {
                Err(SupportError::Storage(StorageError::WriteConflict(_)))
                    if attempts < self.config.max_write_attempts =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }
}
