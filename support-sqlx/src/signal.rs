//! Commit signals: how a storage tells log readers and notification workers
//! that something was committed (the storage port's `log_signal` and
//! `job_signal`).
//!
//! One `watch` per storage holds the newest committed position and counts
//! due jobs and checks. A commit through this process bumps it directly;
//! on PostgreSQL, the listener (`postgres::listener`) bumps it for commits
//! of other processes. Every subscriber also gets a [`LogSignal::Check`]
//! every [`CHECK_EVERY`], so a wake-up lost anywhere delays an event by
//! that much at most, and never loses it.

use std::time::Duration;

use futures::StreamExt;
use support_core::{EventSeq, JobWakeups, LogSignal, LogWakeups};
use tokio::sync::watch;

/// How often log readers check the log without being told to.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(2);

/// What has been signalled so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Signalled {
    /// The newest position known to be committed.
    reached: EventSeq,
    /// Commits that enqueued a job due at once.
    due_jobs: u64,
    /// Requests to check (after a reconnect, when what was missed is
    /// unknown).
    checks: u64,
}

/// The commit signals of one storage (shared by its clones).
#[derive(Debug)]
pub(crate) struct Signals {
    sender: watch::Sender<Signalled>,
}

impl Default for Signals {
    fn default() -> Self {
        Self {
            sender: watch::Sender::new(Signalled::default()),
        }
    }
}

impl Signals {
    /// A commit appended events up to `reached` (and enqueued a job due at
    /// once when `due_jobs`).
    pub(crate) fn committed(&self, reached: EventSeq, due_jobs: bool) {
        self.sender.send_modify(|signalled| {
            signalled.reached = signalled.reached.max(reached);
            signalled.due_jobs += u64::from(due_jobs);
        });
    }

    /// Wakes every subscriber to check the log and the queue.
    pub(crate) fn check(&self) {
        self.sender.send_modify(|signalled| signalled.checks += 1);
    }

    /// A new subscriber for a log reader.
    pub(crate) fn log_wakeups(&self) -> LogWakeups {
        let receiver = self.sender.subscribe();
        let seen = *receiver.borrow();
        futures::stream::unfold(
            (receiver, seen, None),
            |(mut receiver, mut seen, checks)| async move {
                // Made on the first poll, on the runtime that polls.
                let mut checks = checks.unwrap_or_else(|| {
                    let start = tokio::time::Instant::now() + CHECK_EVERY;
                    let mut checks = tokio::time::interval_at(start, CHECK_EVERY);
                    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    checks
                });
                loop {
                    tokio::select! {
                        changed = receiver.changed() => {
                            changed.ok()?;
                            let now = *receiver.borrow_and_update();
                            let signal = if now.checks != seen.checks {
                                LogSignal::Check
                            } else if now.reached != seen.reached {
                                LogSignal::Reached(now.reached)
                            } else {
                                // Only jobs changed.
                                seen = now;
                                continue;
                            };
                            return Some((signal, (receiver, now, Some(checks))));
                        }
                        _ = checks.tick() => {
                            return Some((LogSignal::Check, (receiver, seen, Some(checks))));
                        }
                    }
                }
            },
        )
        .boxed()
    }

    /// A new subscriber for a notification worker.
    pub(crate) fn job_wakeups(&self) -> JobWakeups {
        let receiver = self.sender.subscribe();
        let seen = *receiver.borrow();
        futures::stream::unfold((receiver, seen), |(mut receiver, seen)| async move {
            loop {
                receiver.changed().await.ok()?;
                let now = *receiver.borrow_and_update();
                if now.due_jobs != seen.due_jobs || now.checks != seen.checks {
                    return Some(((), (receiver, now)));
                }
            }
        })
        .boxed()
    }
}
