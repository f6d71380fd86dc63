//! When a failed delivery is tried again: exponential backoff with jitter.

use chrono::{DateTime, Duration, Utc};

use super::channel::DeliveryError;
use super::job::JobOutcome;

/// Exponential backoff: attempt `n` (from 1) failed, the next one waits
/// `base × 2^(n-1)`, capped at `max`, minus up to `jitter` of it (so
/// workers that failed together do not retry together). After
/// `max_attempts` attempts the job is dead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Attempts before the job is dead (at least 1).
    pub max_attempts: u32,
    /// Fraction of the wait, in per mille (0 to 1000), that is randomly
    /// taken off.
    pub jitter_per_mille: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::seconds(5),
            max: Duration::hours(1),
            max_attempts: 8,
            jitter_per_mille: 250,
        }
    }
}

impl RetryPolicy {
    /// The wait before the attempt after `failed_attempt` (from 1), or
    /// `None` when that was the last one. `random` is uniform in `[0, 1)`;
    /// 0 gives the full wait.
    pub fn delay(&self, failed_attempt: u32, random: f64) -> Option<Duration> {
        if failed_attempt >= self.max_attempts.max(1) {
            return None;
        }
        let doublings = failed_attempt.saturating_sub(1).min(30);
        let full = self
            .base
            .checked_mul(1_i32 << doublings)
            .map_or(self.max, |d| d.min(self.max));
        let jitter = f64::from(self.jitter_per_mille.min(1000)) / 1000.0 * random.clamp(0.0, 1.0);
        let micros = full.num_microseconds().unwrap_or(i64::MAX) as f64;
        Some(Duration::microseconds((micros * (1.0 - jitter)) as i64))
    }
}

impl RetryPolicy {
    /// How attempt `attempt` (from 1) of a job ends, given what the channel
    /// reported: done; dead on a permanent failure or the last attempt;
    /// otherwise another attempt after [`Self::delay`]. The recorded error
    /// is the failure's chain of messages (channels keep secrets out of
    /// them).
    pub fn outcome(
        &self,
        attempt: u32,
        result: &Result<(), DeliveryError>,
        now: DateTime<Utc>,
        random: f64,
    ) -> JobOutcome {
        let error = match result {
            Ok(()) => return JobOutcome::Done,
            Err(error) => error,
        };
        let text = error_chain(error);
        match (error, self.delay(attempt, random)) {
            (DeliveryError::Transient(_), Some(wait)) => JobOutcome::Retry {
                at: now + wait,
                error: text,
            },
            _ => JobOutcome::Dead { error: text },
        }
    }
}

/// An error and its sources, `: `-separated: how a failure is recorded
/// with a job, and logged.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_then_the_job_dies() {
        let policy = RetryPolicy {
            base: Duration::seconds(1),
            max: Duration::seconds(10),
            max_attempts: 6,
            jitter_per_mille: 0,
        };
        let waits: Vec<_> = (1..=6).map(|n| policy.delay(n, 0.7)).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::seconds(1)),
                Some(Duration::seconds(2)),
                Some(Duration::seconds(4)),
                Some(Duration::seconds(8)),
                Some(Duration::seconds(10)),
                None,
            ]
        );
    }

    #[test]
    fn permanent_failures_die_at_once_and_transient_ones_retry_until_the_last_attempt() {
        let policy = RetryPolicy {
            base: Duration::seconds(1),
            max_attempts: 3,
            jitter_per_mille: 0,
            ..RetryPolicy::default()
        };
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let transient = || Err(DeliveryError::transient("connection refused"));
        assert_eq!(
            policy.outcome(1, &transient(), now, 0.0),
            JobOutcome::Retry {
                at: now + Duration::seconds(1),
                error: "temporary delivery failure: connection refused".into()
            }
        );
        assert!(matches!(
            policy.outcome(3, &transient(), now, 0.0),
            JobOutcome::Dead { .. }
        ));
        assert!(matches!(
            policy.outcome(1, &Err(DeliveryError::permanent("410 Gone")), now, 0.0),
            JobOutcome::Dead { .. }
        ));
        assert_eq!(policy.outcome(1, &Ok(()), now, 0.0), JobOutcome::Done);
    }

    #[test]
    fn jitter_only_shortens_the_wait_within_its_fraction() {
        let policy = RetryPolicy {
            base: Duration::seconds(8),
            jitter_per_mille: 250,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delay(1, 0.0), Some(Duration::seconds(8)));
        assert_eq!(policy.delay(1, 1.0), Some(Duration::seconds(6)));
        let half = policy.delay(1, 0.5).expect("retry");
        assert_eq!(half, Duration::seconds(7));
    }
}
