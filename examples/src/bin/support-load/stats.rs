//! Percentiles of latency samples, and numbers read off event streams.

use std::time::Duration;

pub(crate) struct Summary {
    pub(crate) count: usize,
    pub(crate) p50: Duration,
    pub(crate) p90: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

pub(crate) fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let at = |q: f64| {
        if samples.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1]
    };
    Summary {
        count: samples.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: samples.last().copied().unwrap_or_default(),
    }
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The numbers that follow each `marker` in a chunk of an event stream
/// (`"content":"load-` gives the post numbers of a fan-out run).
pub(crate) fn numbers_after<'a>(
    chunk: &'a str,
    marker: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    chunk.match_indices(marker).filter_map(move |(at, m)| {
        let digits: String = chunk[at + m.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}
