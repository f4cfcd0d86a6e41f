//! `GET /metrics`: Prometheus text exposition of what an operator watches. Requests are
//! counted by route template (never the raw path: no series per key or id), method and status;
//! latencies go into one histogram per route and method.

use keygate_domain::mail::MailCounts;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Store failures (a store that cannot answer: `503 unavailable`), counted where they become
/// HTTP errors. Process-wide, as Prometheus counters usually are.
pub static STORE_ERRORS: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    /// Cumulative counts are computed at exposition; these are per bucket (+Inf last).
    buckets: [u64; BUCKETS.len() + 1],
    seconds: f64,
}

/// Request counts and latencies, shared by every worker.
#[derive(Default)]
pub struct HttpMetrics {
    routes: Mutex<HashMap<String, BTreeMap<String, RouteStats>>>,
}

/// Gauges and counters read from the services at exposition time.
pub struct ServiceReadings {
    /// Hashes waiting for a hashing thread now.
    pub hashing_waiting: usize,
    /// Hashes started, and their total wait for a thread.
    pub hashing_started: u64,
    /// Total time hashes waited for a thread.
    pub hashing_waited: Duration,
    /// Sessions this instance remembers as live (used within the revocation TTL).
    pub live_sessions_cached: usize,
    /// Password attempts refused by the throttle.
    pub throttled_logins: u64,
    /// Registrations refused by the throttle.
    pub throttled_registrations: u64,
    /// Failed logins for identifiers that name no account: counted, never stored (§13).
    pub unknown_login_failures: u64,
    /// Mail queued, sent, failed and given up since start (§8).
    pub mail: MailCounts,
}

impl HttpMetrics {
    /// Counts one request.
    pub fn record(&self, route: &str, method: &str, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = bucket_index(&BUCKETS, seconds);
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let methods = match routes.get_mut(route) {
            Some(methods) => methods,
            None => routes.entry(route.to_owned()).or_default(),
        };
        let stats = match methods.get_mut(method) {
            Some(stats) => stats,
            None => methods.entry(method.to_owned()).or_default(),
        };
        *stats.statuses.entry(status).or_default() += 1;
        stats.buckets[bucket] += 1;
        stats.seconds += seconds;
    }

    /// The Prometheus text of everything, with `readings` from the services.
    pub fn render(&self, readings: &ServiceReadings) -> String {
        let mut out = String::with_capacity(4096);
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut sorted: Vec<_> = routes.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));

        out.push_str("# HELP keygate_http_requests_total HTTP requests by route template, method and status.\n");
        out.push_str("# TYPE keygate_http_requests_total counter\n");
        for (route, methods) in &sorted {
            for (method, stats) in methods.iter() {
                for (status, count) in &stats.statuses {
                    let _ = writeln!(
                        out,
                        "keygate_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                        escape(route)
                    );
                }
            }
        }
        out.push_str("# HELP keygate_http_request_duration_seconds HTTP request latency by route template and method.\n");
        out.push_str("# TYPE keygate_http_request_duration_seconds histogram\n");
        for (route, methods) in &sorted {
            let route = escape(route);
            for (method, stats) in methods.iter() {
                write_histogram(
                    &mut out,
                    "keygate_http_request_duration_seconds",
                    &format!("route=\"{route}\",method=\"{method}\""),
                    &BUCKETS,
                    &stats.buckets,
                    stats.seconds,
                );
            }
        }
        drop(routes);
        let single = |out: &mut String, name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        single(
            &mut out,
            "keygate_hashing_queue_depth",
            "gauge",
            "Password hashes waiting for a hashing thread.",
            readings.hashing_waiting.to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP keygate_hashing_queue_wait_seconds Time password hashes waited for a hashing thread.\n\
             # TYPE keygate_hashing_queue_wait_seconds summary\n\
             keygate_hashing_queue_wait_seconds_sum {}\n\
             keygate_hashing_queue_wait_seconds_count {}",
            readings.hashing_waited.as_secs_f64(),
            readings.hashing_started
        );
        single(
            &mut out,
            "keygate_sessions_live_cached",
            "gauge",
            "Sessions this instance saw used within the revocation TTL.",
            readings.live_sessions_cached.to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP keygate_throttle_refusals_total Requests refused by the throttle.\n\
             # TYPE keygate_throttle_refusals_total counter\n\
             keygate_throttle_refusals_total{{kind=\"login\"}} {}\n\
             keygate_throttle_refusals_total{{kind=\"registration\"}} {}",
            readings.throttled_logins, readings.throttled_registrations
        );
        single(
            &mut out,
            "keygate_login_failures_unknown_account_total",
            "counter",
            "Failed logins for identifiers that name no account (counted here, never stored in the audit log).",
            readings.unknown_login_failures.to_string(),
        );
        let mail = readings.mail;
        let _ = writeln!(
            out,
            "# HELP keygate_mail_messages_total Mail this instance queued, sent, failed to send (a try) and gave up.\n\
             # TYPE keygate_mail_messages_total counter\n\
             keygate_mail_messages_total{{outcome=\"queued\"}} {}\n\
             keygate_mail_messages_total{{outcome=\"sent\"}} {}\n\
             keygate_mail_messages_total{{outcome=\"failed\"}} {}\n\
             keygate_mail_messages_total{{outcome=\"dropped\"}} {}",
            mail.queued, mail.sent, mail.failed, mail.dropped
        );
        single(
            &mut out,
            "keygate_store_errors_total",
            "counter",
            "Store operations that failed because the store could not answer (503).",
            STORE_ERRORS.load(Ordering::Relaxed).to_string(),
        );
        out
    }
}

/// Which bucket `seconds` falls in: the first bound it does not exceed, else `+Inf` (the last).
pub(crate) fn bucket_index(bounds: &[f64], seconds: f64) -> usize {
    bounds
        .iter()
        .position(|bound| seconds <= *bound)
        .unwrap_or(bounds.len())
}

/// Writes one histogram series: cumulative `_bucket` lines from per-bucket `counts` (`+Inf`
/// last), then `_sum` and `_count`. `labels` are the series' own, already escaped.
pub(crate) fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    counts: &[u64],
    sum_seconds: f64,
) {
    let mut cumulative = 0;
    for (i, count) in counts.iter().enumerate() {
        cumulative += count;
        let bound = bounds.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {sum_seconds}\n{name}_count{{{labels}}} {cumulative}"
    );
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings() -> ServiceReadings {
        ServiceReadings {
            hashing_waiting: 3,
            hashing_started: 10,
            hashing_waited: Duration::from_millis(250),
            live_sessions_cached: 7,
            throttled_logins: 2,
            unknown_login_failures: 4,
            throttled_registrations: 1,
            mail: MailCounts {
                queued: 4,
                sent: 3,
                failed: 2,
                dropped: 1,
            },
        }
    }

    #[test]
    fn counts_requests_and_fills_cumulative_buckets() {
        let metrics = HttpMetrics::default();
        metrics.record("/profile", "GET", 200, Duration::from_micros(300));
        metrics.record("/profile", "GET", 200, Duration::from_millis(3));
        metrics.record("/profile", "GET", 401, Duration::from_secs(20));
        let text = metrics.render(&readings());
        assert!(text.contains(
            "keygate_http_requests_total{route=\"/profile\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "keygate_http_requests_total{route=\"/profile\",method=\"GET\",status=\"401\"} 1"
        ));
        assert!(text.contains(
            "keygate_http_request_duration_seconds_bucket{route=\"/profile\",method=\"GET\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "keygate_http_request_duration_seconds_bucket{route=\"/profile\",method=\"GET\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "keygate_http_request_duration_seconds_bucket{route=\"/profile\",method=\"GET\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains(
            "keygate_http_request_duration_seconds_count{route=\"/profile\",method=\"GET\"} 3"
        ));
        assert!(text.contains("keygate_hashing_queue_depth 3"));
        assert!(text.contains("keygate_hashing_queue_wait_seconds_sum 0.25"));
        assert!(text.contains("keygate_sessions_live_cached 7"));
        assert!(text.contains("keygate_throttle_refusals_total{kind=\"login\"} 2"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
