//! A task a storage runs in the background (the commit listener, the
//! sequencer): started on demand on the current Tokio runtime, started
//! again when it ended (its runtime shut down, or it panicked), aborted
//! with the storage.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use tokio::task::JoinHandle;

#[derive(Debug, Default)]
pub(crate) struct Background {
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Background {
    /// Spawns `start()` unless the task runs. Without a Tokio runtime
    /// nothing starts (the next call tries again).
    pub(crate) fn ensure_running<F>(&self, start: impl FnOnce() -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut task = lock(&self.task);
        if task.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            *task = Some(runtime.spawn(start()));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

/// A mutex's guard, poisoned or not (no holder leaves its data half
/// changed).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
