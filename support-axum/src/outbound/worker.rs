//! The worker: claim due jobs with a lease, prepare, deliver, report.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use support_core::notification::error_chain;
use support_core::{
    Channel, ClaimedJob, Contacts, Deliver, DeliveryError, JobOutcome, Prepared, RetryPolicy,
    Support, SupportError,
};
use tokio::sync::watch;

/// Least time between two claims when woken by commits.
const MIN_CLAIM_INTERVAL: Duration = Duration::from_millis(10);

/// How a worker claims and retries.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long a claim holds a job. A worker that dies mid-delivery
    /// leaves its jobs to others after this. Jobs of a batch are delivered
    /// one after another, so a worker starts a delivery only while at least
    /// `delivery_timeout` of the lease is left; the rest of the batch goes
    /// back to the queue when the lease runs out.
    pub lease: chrono::Duration,
    /// Jobs claimed at once.
    pub batch: u32,
    /// Wait between polls when the queue had nothing due. A commit that
    /// enqueues a job due at once wakes the worker sooner, on every process
    /// (the storage's job signal); the poll finds jobs that come due later
    /// and covers a lost wake-up.
    pub poll_interval: Duration,
    /// Longest a single delivery may take (then it counts as a transient
    /// failure).
    pub delivery_timeout: Duration,
    /// Backoff and attempts.
    pub retry: RetryPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            lease: chrono::Duration::seconds(120),
            batch: 16,
            poll_interval: Duration::from_secs(1),
            delivery_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one [`Worker::run_once`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Jobs claimed.
    pub claimed: usize,
    /// Delivered.
    pub delivered: usize,
    /// Cancelled (seen in time, switched off, no address).
    pub skipped: usize,
    /// Failed, to be retried.
    pub retried: usize,
    /// Failed for good.
    pub dead: usize,
    /// Outcomes not recorded because the claim was lost.
    pub lost: usize,
}

/// Delivers queued notification jobs through its channels. Run several
/// (tasks or processes) on one database: claims never overlap while a
/// lease runs.
#[derive(Clone)]
pub struct Worker {
    support: Support,
    contacts: Arc<dyn Contacts>,
    channels: HashMap<Channel, Arc<dyn Deliver>>,
    config: WorkerConfig,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for `support`'s queue, finding addresses in `contacts`.
    /// Add channels with [`Self::channel`]; a job for a channel without
    /// one dies.
    pub fn new(support: Support, contacts: Arc<dyn Contacts>) -> Self {
        Self {
            support,
            contacts,
            channels: HashMap::new(),
            config: WorkerConfig::default(),
        }
    }

    /// Delivers jobs for `channel` through `deliver`.
    pub fn channel(mut self, channel: Channel, deliver: Arc<dyn Deliver>) -> Self {
        self.channels.insert(channel, deliver);
        self
    }

    /// Replaces the configuration.
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs until `stop` turns true: claims a batch, delivers it, and when
    /// nothing was due waits for the storage's job signal or
    /// `poll_interval`, whichever comes first. Wake-ups that follow a claim
    /// closely are held back to 10 ms after it, so a burst of
    /// commits on many processes costs a few claims, not one per commit.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut wakeups = Some(self.support.storage().job_signal());
        while !*stop.borrow() {
            let claimed_at = tokio::time::Instant::now();
            let idle = match self.run_once().await {
                Ok(stats) => stats.claimed == 0,
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "notification worker: cannot claim");
                    true
                }
            };
            if idle {
                let woken = async {
                    match wakeups.as_mut() {
                        Some(signal) => {
                            if signal.next().await.is_none() {
                                // A storage whose signal ended: poll only.
                                wakeups = None;
                                std::future::pending::<()>().await;
                            }
                            tokio::time::sleep_until(claimed_at + MIN_CLAIM_INTERVAL).await;
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    () = woken => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Claims one batch of due jobs and settles each.
    pub async fn run_once(&self) -> Result<RunStats, SupportError> {
        let claims = self
            .support
            .claim_jobs(self.config.lease, self.config.batch)
            .await?;
        let mut stats = RunStats {
            claimed: claims.len(),
            ..RunStats::default()
        };
        for claim in claims {
            if !self.lease_outlasts_a_delivery(&claim) {
                // Delivering now could finish after another worker took the
                // job over: leave it to the next claim instead.
                stats.lost += 1;
                continue;
            }
            let outcome = self.settle(&claim).await;
            match &outcome {
                JobOutcome::Done => stats.delivered += 1,
                JobOutcome::Cancelled { .. } => stats.skipped += 1,
                JobOutcome::Retry { .. } => stats.retried += 1,
                JobOutcome::Dead { .. } => stats.dead += 1,
            }
            match self.support.finish_job(&claim, &outcome).await {
                Ok(true) => {}
                Ok(false) => {
                    stats.lost += 1;
                    tracing::warn!(job = %claim.job.id, "notification job: claim lost before its outcome was recorded");
                }
                // The lease runs out and another claim retries the job.
                Err(error) => {
                    stats.lost += 1;
                    tracing::warn!(job = %claim.job.id, error = %error_chain(&error), "notification job: cannot record outcome");
                }
            }
        }
        Ok(stats)
    }

    /// Whether the claim's lease still covers a whole delivery.
    fn lease_outlasts_a_delivery(&self, claim: &ClaimedJob) -> bool {
        let Some(lease_until) = claim.job.lease_until else {
            return false;
        };
        let delivery = chrono::Duration::from_std(self.config.delivery_timeout)
            .unwrap_or(chrono::Duration::MAX);
        self.support.now() + delivery < lease_until
    }

    async fn settle(&self, claim: &ClaimedJob) -> JobOutcome {
        let job = &claim.job;
        let attempt = job.attempts;
        let prepared = match self
            .support
            .prepare_delivery(claim, self.contacts.as_ref())
            .await
        {
            Ok(prepared) => prepared,
            Err(error) => {
                let failed = Err(DeliveryError::transient(error));
                return self.outcome(attempt, &failed);
            }
        };
        let notification = match prepared {
            Prepared::Send(notification) => notification,
            Prepared::Skip(reason) => {
                return JobOutcome::Cancelled { reason };
            }
        };
        let Some(channel) = self.channels.get(&job.channel) else {
            return JobOutcome::Dead {
                error: format!("no {} channel is configured", job.channel.as_str()),
            };
        };
        let result = match tokio::time::timeout(
            self.config.delivery_timeout,
            channel.deliver(&notification),
        )
        .await
        {
            Ok(result) => result,
            Err(elapsed) => Err(DeliveryError::transient(elapsed)),
        };
        if let Err(error) = &result {
            tracing::info!(job = %job.id, attempt, error = %error_chain(error), "notification delivery failed");
        }
        self.outcome(attempt, &result)
    }

    fn outcome(&self, attempt: u32, result: &Result<(), DeliveryError>) -> JobOutcome {
        self.config
            .retry
            .outcome(attempt, result, self.support.now(), fastrand::f64())
    }
}
