//! [`LogTail`]: live delivery driven by the event log.
//!
//! Writes only commit; they publish nothing. One tail per process reads the
//! log from the storage's [`crate::Storage::log_signal`] and hands what it
//! finds, in log order and each event once, to whatever fans it out (a
//! [`crate::Notifier`], such as the HTTP adapter's live hub). The log is
//! shared by every process on the database, so every process's
//! subscribers get every commit, whichever process made it, and whether or
//! not the request that wrote is still around.

use std::sync::Arc;

use futures::StreamExt;

use crate::error::SupportError;
use crate::events::Event;
use crate::ids::EventSeq;
use crate::storage::{LogSignal, LogWakeups, Storage};

/// Events read from the log per call of [`LogTail::next`] at most.
const TAIL_BATCH: u32 = 512;

/// Follows the event log from a position: each call of [`Self::next`]
/// returns the next committed events, waiting for the storage's signal
/// when there are none yet.
///
/// ```no_run
/// use std::sync::Arc;
/// use support_core::{LogTail, Notifier, Storage, Support};
///
/// async fn deliver(storage: Arc<dyn Storage>, notifier: &dyn Notifier) {
///     let from = Support::new(Arc::clone(&storage)).latest_event().await.unwrap_or_default();
///     let mut tail = LogTail::new(storage, from);
///     while let Some(read) = tail.next().await {
///         match read {
///             Ok(events) => notifier.notify(&events).await,
///             // Nothing is lost: the next wake-up reads from the same position.
///             Err(error) => eprintln!("cannot read the event log: {error}"),
///         }
///     }
/// }
/// ```
pub struct LogTail {
    storage: Arc<dyn Storage>,
    wakeups: LogWakeups,
    position: EventSeq,
    /// Whether the log may hold events past `position`.
    behind: bool,
}

impl LogTail {
    /// A tail that returns the events after `from`. It subscribes to the
    /// storage's signal now, so nothing committed from here on is missed.
    pub fn new(storage: Arc<dyn Storage>, from: EventSeq) -> Self {
        let wakeups = storage.log_signal();
        Self {
            storage,
            wakeups,
            position: from,
            behind: true,
        }
    }

    /// The last position returned (or the start).
    pub fn position(&self) -> EventSeq {
        self.position
    }

    /// The next events after [`Self::position`], oldest first, never empty;
    /// waits until the log has some. An error leaves the position where it
    /// was: the next wake-up (at the latest the periodic check) reads from
    /// there again. `None` when the storage's signal ended.
    pub async fn next(&mut self) -> Option<Result<Vec<Event>, SupportError>> {
        loop {
            if self.behind {
                match self.storage.events_after(self.position, TAIL_BATCH).await {
                    Ok(slice) => {
                        if let Some(read) = slice.read_through {
                            self.position = read;
                        }
                        self.behind = self.position < slice.latest;
                        if !slice.events.is_empty() {
                            return Some(Ok(slice.events));
                        }
                    }
                    Err(error) => {
                        self.behind = false;
                        return Some(Err(error.into()));
                    }
                }
            }
            match self.wakeups.next().await? {
                LogSignal::Reached(seq) => self.behind |= seq > self.position,
                LogSignal::Check => self.behind = true,
            }
        }
    }
}

impl std::fmt::Debug for LogTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogTail")
            .field("position", &self.position)
            .field("behind", &self.behind)
            .finish_non_exhaustive()
    }
}
