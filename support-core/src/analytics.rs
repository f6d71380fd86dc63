//! Support analytics over a time range.
//!
//! Definitions (the range is half-open: `from <= t < to`):
//! - `conversations_created`: conversations whose `created_at` is in range.
//! - `conversations_closed`: close actions in range. A conversation closed,
//!   reopened and closed again counts twice.
//! - `messages_from_users` / `messages_from_admins`: messages written in range.
//! - `open_now` / `awaiting_reply_now`: at the time of the query, whatever
//!   the range.
//! - `first_response_seconds`: for conversations created in range that an
//!   admin answered, the first admin message's time minus the conversation's
//!   creation. Unanswered conversations are left out (see `count`).
//! - `resolution_seconds`: for each close action in range, the close time
//!   minus the conversation's creation.
//! - Statistics: `mean` is the arithmetic mean; `median` is the middle value
//!   (the mean of the two middle values for an even count); `p90` is the
//!   nearest-rank 90th percentile (the smallest value with at least 90% of
//!   values at or below it). All are `None` when there are no values.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::InvalidInput;

/// The default range: the last 30 days.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

/// A validated, half-open time range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnalyticsRange {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl AnalyticsRange {
    /// Fills in defaults (`to` = now, `from` = `to` - 30 days) and checks
    /// `from < to`.
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidInput> {
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS));
        if from >= to {
            return Err(InvalidInput::new("from", "must be before `to`"));
        }
        Ok(Self { from, to })
    }
}

/// Raw figures storage gathers for a range; durations in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyticsInputs {
    /// See the module docs.
    pub conversations_created: i64,
    /// See the module docs.
    pub conversations_closed: i64,
    /// See the module docs.
    pub messages_from_users: i64,
    /// See the module docs.
    pub messages_from_admins: i64,
    /// See the module docs.
    pub open_now: i64,
    /// See the module docs.
    pub awaiting_reply_now: i64,
    /// One entry per answered conversation created in range.
    pub first_response_micros: Vec<i64>,
    /// One entry per close action in range.
    pub resolution_micros: Vec<i64>,
}

/// Summary statistics of durations, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DurationStats {
    /// How many durations there were.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Middle value.
    pub median: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90: Option<f64>,
}

impl DurationStats {
    /// Statistics of `micros` (any order).
    pub fn from_micros(mut micros: Vec<i64>) -> Self {
        if micros.is_empty() {
            return Self::default();
        }
        micros.sort_unstable();
        let seconds = |us: i64| us as f64 / 1_000_000.0;
        let n = micros.len();
        let mean = micros.iter().map(|&us| seconds(us)).sum::<f64>() / n as f64;
        let median = if n % 2 == 1 {
            seconds(micros[n / 2])
        } else {
            (seconds(micros[n / 2 - 1]) + seconds(micros[n / 2])) / 2.0
        };
        // Nearest rank: ceil(0.9 * n), 1-based.
        let rank = (9 * n).div_ceil(10).max(1);
        Self {
            count: n,
            mean: Some(mean),
            median: Some(median),
            p90: Some(seconds(micros[rank - 1])),
        }
    }
}

/// The analytics report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analytics {
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range.
    pub to: DateTime<Utc>,
    /// See the module docs.
    pub conversations_created: i64,
    /// See the module docs.
    pub conversations_closed: i64,
    /// See the module docs.
    pub messages_from_users: i64,
    /// See the module docs.
    pub messages_from_admins: i64,
    /// See the module docs.
    pub open_now: i64,
    /// See the module docs.
    pub awaiting_reply_now: i64,
    /// See the module docs.
    pub first_response_seconds: DurationStats,
    /// See the module docs.
    pub resolution_seconds: DurationStats,
}

impl Analytics {
    /// Computes the report from raw inputs.
    pub fn compute(range: AnalyticsRange, inputs: AnalyticsInputs) -> Self {
        Self {
            from: range.from,
            to: range.to,
            conversations_created: inputs.conversations_created,
            conversations_closed: inputs.conversations_closed,
            messages_from_users: inputs.messages_from_users,
            messages_from_admins: inputs.messages_from_admins,
            open_now: inputs.open_now,
            awaiting_reply_now: inputs.awaiting_reply_now,
            first_response_seconds: DurationStats::from_micros(inputs.first_response_micros),
            resolution_seconds: DurationStats::from_micros(inputs.resolution_micros),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(values: &[i64]) -> DurationStats {
        DurationStats::from_micros(values.iter().map(|s| s * 1_000_000).collect())
    }

    #[test]
    fn statistics_follow_the_documented_definitions() {
        assert_eq!(secs(&[]), DurationStats::default());
        let one = secs(&[7]);
        assert_eq!(
            (one.mean, one.median, one.p90),
            (Some(7.0), Some(7.0), Some(7.0))
        );
        let even = secs(&[4, 1, 3, 2]);
        assert_eq!(
            (even.mean, even.median, even.p90),
            (Some(2.5), Some(2.5), Some(4.0))
        );
        let ten: Vec<i64> = (1..=10).collect();
        let s = secs(&ten);
        assert_eq!((s.median, s.p90, s.count), (Some(5.5), Some(9.0), 10));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(secs(&eleven).p90, Some(10.0));
    }

    #[test]
    fn range_defaults_to_thirty_days_and_must_be_ordered() {
        let now = Utc::now();
        let range = AnalyticsRange::new(None, None, now).expect("default range");
        assert_eq!(range.to - range.from, Duration::days(30));
        assert!(AnalyticsRange::new(Some(now), Some(now), now).is_err());
    }
}
