//! Drives one path with a fixed number of connections for a fixed time and summarises what
//! came back: throughput, latency percentiles and errors.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Connection;

/// Makes the bytes of the `n`-th request of a run (`n` counts across all connections), so a
/// path that needs a new key each time can have one.
pub type RequestMaker = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Responses with a 2xx status.
    pub successes: u64,
    /// Responses with any other status, and connection failures.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Median latency of all responses.
    pub p50: Duration,
    /// 99th percentile latency of all responses.
    pub p99: Duration,
}

impl Outcome {
    /// Responses (of any status) per second.
    pub fn per_second(&self) -> f64 {
        (self.successes + self.errors) as f64 / self.elapsed.as_secs_f64()
    }
}

struct Tally {
    successes: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

/// Sends requests made by `make` over `connections` connections to `address` for `duration`,
/// each connection waiting for its response before the next request (closed loop).
pub async fn run(
    address: SocketAddr,
    connections: usize,
    duration: Duration,
    make: RequestMaker,
) -> Outcome {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (make, counter) = (make.clone(), counter.clone());
            tokio::spawn(drive(address, deadline, make, counter))
        })
        .collect();
    let mut total = Tally {
        successes: 0,
        errors: 0,
        latencies_us: Vec::new(),
    };
    for worker in workers {
        match worker.await {
            Ok(tally) => {
                total.successes += tally.successes;
                total.errors += tally.errors;
                total.latencies_us.extend(tally.latencies_us);
            }
            Err(_) => total.errors += 1,
        }
    }
    let elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    Outcome {
        successes: total.successes,
        errors: total.errors,
        elapsed,
        p50: percentile(&total.latencies_us, 0.50),
        p99: percentile(&total.latencies_us, 0.99),
    }
}

async fn drive(
    address: SocketAddr,
    deadline: Instant,
    make: RequestMaker,
    counter: Arc<AtomicU64>,
) -> Tally {
    let mut tally = Tally {
        successes: 0,
        errors: 0,
        latencies_us: Vec::with_capacity(1 << 16),
    };
    let mut connection = None;
    while Instant::now() < deadline {
        let open = match connection.take() {
            Some(open) => open,
            None => match Connection::open(address).await {
                Ok(open) => open,
                Err(_) => {
                    tally.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let mut open: Connection = open;
        let request = make(counter.fetch_add(1, Ordering::Relaxed));
        let sent = Instant::now();
        let status = open.send(&request).await.map(|response| response.status);
        let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        match status {
            Ok(status) => {
                tally.latencies_us.push(micros);
                if (200..300).contains(&status) {
                    tally.successes += 1;
                } else {
                    tally.errors += 1;
                }
                connection = Some(open);
            }
            // The connection is dropped and reopened on the next turn.
            Err(_) => tally.errors += 1,
        }
    }
    tally
}

/// The value at fraction `q` of sorted `values`, in microseconds.
fn percentile(sorted: &[u32], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    Duration::from_micros(u64::from(sorted[index.min(sorted.len() - 1)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_list() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), Duration::from_micros(51));
        assert_eq!(percentile(&values, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
