//! What the abuse tests share: requests at once, and timing probes run while an attack runs.

use std::time::{Duration, Instant};

use keygate_tests::{Reply, TestApp};
use serde_json::Value;

/// Runs `count` requests at once (one thread each) and returns their replies.
pub(super) fn at_once<T: Send>(count: usize, request: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let request = &request;
        let handles: Vec<_> = (0..count)
            .map(|i| scope.spawn(move || request(i)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

pub(super) fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

/// Signs up a user and creates an API `name` whose one endpoint `items` has `schema`:
/// (token, api name, api id, key).
pub(super) fn api_with(app: &TestApp, schema: Value) -> (String, String, String, String) {
    let (_, token, _) = app.signed_up_user();
    let created = app.create_api(&token, "target", &[("items", schema)]);
    (
        token,
        created.str("api_name").to_owned(),
        created.str("api_id").to_owned(),
        created.str("api_key").to_owned(),
    )
}

/// POSTs raw JSON text as a record with `key`.
pub(super) fn post_record(app: &TestApp, api: &str, key: &str, text: &str) -> Reply {
    app.request(
        "POST",
        &format!("/api/{api}/items"),
        &[("content-type", "application/json"), ("x-api-key", key)],
        Some(text.as_bytes()),
    )
}

/// The times of `probe`'s calls, made one after another while `attack` runs, and for at
/// least `at_least` in all; slowest last.
pub(super) fn probes_during(
    at_least: Duration,
    probe: impl Fn() + Sync,
    attack: impl FnOnce() + Send,
) -> Vec<Duration> {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let prober = scope.spawn(|| {
            let mut times = Vec::new();
            let started = Instant::now();
            while !done.load(std::sync::atomic::Ordering::SeqCst) || started.elapsed() < at_least {
                let asked = Instant::now();
                probe();
                times.push(asked.elapsed());
                std::thread::sleep(Duration::from_millis(10));
            }
            times.sort();
            times
        });
        // Give the prober a first, idle measurement before the attack starts.
        std::thread::sleep(Duration::from_millis(50));
        attack();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        prober.join().unwrap()
    })
}

/// The slowest of `probe`'s calls while `attack` runs (see [`probes_during`]).
pub(super) fn slowest_during(
    at_least: Duration,
    probe: impl Fn() + Sync,
    attack: impl FnOnce() + Send,
) -> Duration {
    probes_during(at_least, probe, attack)
        .last()
        .copied()
        .unwrap_or_default()
}

/// The `/health` answers seen while `attack` runs (at least a second of probing), slowest last.
pub(super) fn health_during(app: &TestApp, attack: impl FnOnce() + Send) -> Vec<Duration> {
    probes_during(
        Duration::from_secs(1),
        || {
            app.get("/health", None).expect(200);
        },
        attack,
    )
}
