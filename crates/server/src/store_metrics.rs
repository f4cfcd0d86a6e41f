//! Latency and errors of every store operation, for `GET /metrics`. [`MeasuredStore`] wraps a
//! store adapter and implements every repository port by timing the adapter's own call, so
//! both stores are measured the same way and neither adapter knows about metrics.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::Duration;

use crate::metrics::{bucket_index, write_histogram};
use keygate_domain::Error;

mod measured_store;

pub use measured_store::{MeasuredStore, OPERATIONS};

/// Upper bounds of the latency buckets, in seconds: an embedded read takes microseconds, a
/// MongoDB round trip a millisecond or more.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.0001, 0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

/// One operation's counters (atomics: recording takes no lock).
#[derive(Default)]
struct OperationStats {
    /// Per bucket, `+Inf` last; cumulative counts are computed at exposition.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    nanos: AtomicU64,
    unavailable: AtomicU64,
    failed: AtomicU64,
}

/// Latency histograms and error counts per store operation.
pub struct StoreMetrics {
    operations: HashMap<&'static str, OperationStats>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            operations: OPERATIONS
                .iter()
                .map(|name| (*name, OperationStats::default()))
                .collect(),
        }
    }
}

impl StoreMetrics {
    /// Counts one call of `operation` that took `elapsed`, and its error if it failed.
    pub fn record(&self, operation: &'static str, elapsed: Duration, error: Option<&Error>) {
        let Some(stats) = self.operations.get(operation) else {
            debug_assert!(false, "{operation} is not in OPERATIONS");
            return;
        };
        let bucket = bucket_index(&BUCKETS, elapsed.as_secs_f64());
        stats.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        stats.nanos.fetch_add(nanos, Ordering::Relaxed);
        // Conflicts and the like are answers; only a store that failed to answer counts.
        match error {
            Some(Error::Unavailable(_)) => {
                stats.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Some(Error::Internal(_)) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// How many times `operation` was called (0 for a label not in [`OPERATIONS`]).
    pub fn calls(&self, operation: &str) -> u64 {
        self.operations.get(operation).map_or(0, |stats| {
            stats
                .buckets
                .iter()
                .map(|bucket| bucket.load(Ordering::Relaxed))
                .sum()
        })
    }

    /// Appends the Prometheus text of every operation called at least once.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP keygate_store_operation_duration_seconds Store operation latency by operation.\n\
             # TYPE keygate_store_operation_duration_seconds histogram\n",
        );
        let mut errors = String::new();
        for name in OPERATIONS {
            let Some(stats) = self.operations.get(name) else {
                continue;
            };
            let counts = stats.buckets.each_ref().map(|b| b.load(Ordering::Relaxed));
            if counts.iter().all(|count| *count == 0) {
                continue;
            }
            let seconds = Duration::from_nanos(stats.nanos.load(Ordering::Relaxed)).as_secs_f64();
            write_histogram(
                out,
                "keygate_store_operation_duration_seconds",
                &format!("operation=\"{name}\""),
                &BUCKETS,
                &counts,
                seconds,
            );
            for (kind, counter) in [
                ("unavailable", &stats.unavailable),
                ("internal", &stats.failed),
            ] {
                let count = counter.load(Ordering::Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        errors,
                        "keygate_store_operation_errors_total{{operation=\"{name}\",kind=\"{kind}\"}} {count}"
                    );
                }
            }
        }
        out.push_str(
            "# HELP keygate_store_operation_errors_total Store operations that failed, by operation and kind \
             (unavailable: the store did not answer; internal: it answered something unusable).\n\
             # TYPE keygate_store_operation_errors_total counter\n",
        );
        out.push_str(&errors);
    }
}
