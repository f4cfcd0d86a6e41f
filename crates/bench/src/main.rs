//! `make bench`: Keygate's throughput, latency and memory on this machine.
//!
//! Starts the release binary on a fresh data directory, prepares an account, a data key, an API
//! with a key and login accounts, then drives each path at 1 and 32 connections with a
//! closed-loop keep-alive HTTP/1.1 load generator (`load`) and prints a Markdown table. It also
//! measures one Argon2id verification on the spot, so login throughput reads as a fraction of
//! what the cores can hash. Nothing here asserts a timing: it reports.
//!
//! Settings (environment): `BENCH_SECONDS` per run (10), `BENCH_CONNECTIONS` (`1,32`),
//! `BENCH_ONLY` (runs the paths whose label contains it), `BENCH_RECORDS` (the endpoint sizes
//! of the records-at-scale section, `10000,100000,1000000`; empty skips it), `KEYGATE_BIN`
//! (`target/release/keygate`), `MONGODB_URI` (run on MongoDB instead of the embedded store).
//! Last, the timing of refused `POST /login/code` by kind of address (`code_timing`), and what
//! a guess against the costliest hash an import admits costs (`imported_hash_cost`, embedded
//! store; `BENCH_ONLY=imported` runs it alone), and the audit log at `BENCH_AUDIT_EVENTS` events
//! (10⁶; 0 skips it; embedded store; `BENCH_ONLY=audit` runs it alone).

mod audit_at_scale;
mod client;
mod code_timing;
mod imported_hash_cost;
mod load;
mod records_at_scale;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keygate_crypto::{Argon2Hasher, HashingSettings, IDLE_RELEASE};
use keygate_domain::accounts::PasswordHasher;

use crate::scenarios::Fixture;
use crate::server::{Server, SetupError};

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(error) = bench().await {
        eprintln!("keygate-bench: {error}");
        std::process::exit(1);
    }
}

async fn bench() -> Result<(), SetupError> {
    let seconds: u64 = setting("BENCH_SECONDS", "10").parse()?;
    let connections: Vec<usize> = setting("BENCH_CONNECTIONS", "1,32")
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()?;
    let only = std::env::var("BENCH_ONLY").ok();
    let binary = PathBuf::from(setting("KEYGATE_BIN", "target/release/keygate"));
    let mongodb_uri = std::env::var("MONGODB_URI").ok().filter(|u| !u.is_empty());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let hashing = HashingSettings::default();
    let hash_time = argon2_time(hashing).await?;
    let hash_limit = hashing.max_concurrent as f64 / hash_time.as_secs_f64();

    let server = Server::start(&binary, mongodb_uri.as_deref()).await?;
    let idle = server.resident_kib();
    let fixture = Fixture::prepare(server.address).await?;
    let prepared = server.resident_kib();

    let store = if mongodb_uri.is_some() {
        "MongoDB"
    } else {
        "embedded store"
    };
    println!(
        "Keygate {} on the {store}: {cores} cores, {seconds} s per run, load generator on the same machine",
        binary.display()
    );
    println!(
        "Argon2id {} KiB, t={}, p={}: {:.1} ms per hash here, so at most {hash_limit:.0} logins/s on {} hashing threads",
        hashing.memory_kib,
        hashing.iterations,
        hashing.parallelism,
        hash_time.as_secs_f64() * 1000.0,
        hashing.max_concurrent
    );
    println!(
        "Resident memory: {} MiB idle after start, {} MiB after preparing {} accounts\n",
        mib(idle.map(|(now, _)| now)),
        mib(prepared.map(|(now, _)| now)),
        scenarios::LOGIN_ACCOUNTS + 1
    );
    println!("| path | connections | req/s | p50 ms | p99 ms | errors | resident MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut health_rate = None;
    for scenario in fixture.scenarios() {
        if only
            .as_ref()
            .is_some_and(|o| !scenario.label.contains(o.as_str()))
        {
            continue;
        }
        for &count in &connections {
            let outcome = load::run(
                server.address,
                count,
                Duration::from_secs(seconds),
                scenario.requests.clone(),
            )
            .await;
            let rate = outcome.per_second();
            let note = match (scenario.label, health_rate) {
                ("GET /health", _) if count == 32 => {
                    health_rate = Some(rate);
                    String::new()
                }
                (label, Some(health)) if count == 32 && label.starts_with("GET") => {
                    format!(" ({:.0} % of /health)", rate / health * 100.0)
                }
                ("POST /login", _) => {
                    format!(" ({:.0} % of the hash limit)", rate / hash_limit * 100.0)
                }
                _ => String::new(),
            };
            println!(
                "| `{}` | {count} | {rate:.0}{note} | {:.2} | {:.2} | {} | {} |",
                scenario.label,
                outcome.p50.as_secs_f64() * 1000.0,
                outcome.p99.as_secs_f64() * 1000.0,
                outcome.errors,
                mib(server.resident_kib().map(|(now, _)| now)),
            );
        }
    }
    println!(
        "\nPeak resident memory of the server over the whole run: {} MiB",
        mib(server.resident_kib().map(|(_, peak)| peak))
    );
    let sizes: Vec<u64> = setting("BENCH_RECORDS", "10000,100000,1000000")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if !sizes.is_empty() {
        // On a server of its own, so the memory it reports is this section's.
        let scale = Server::start(&binary, mongodb_uri.as_deref()).await?;
        records_at_scale::run(&scale, &sizes, seconds).await?;
    }
    if only
        .as_ref()
        .is_none_or(|o| "POST /login/code".contains(o.as_str()))
    {
        let timing = Server::start_with(&binary, mongodb_uri.as_deref(), code_timing::ENV).await?;
        code_timing::run(&timing).await?;
    }
    if only
        .as_ref()
        .is_none_or(|o| "imported hash cost".contains(o.as_str()))
    {
        imported_hash_cost::run(&binary).await?;
    }
    let audit_events: u64 = setting("BENCH_AUDIT_EVENTS", "1000000").parse()?;
    if audit_events > 0
        && mongodb_uri.is_none()
        && only.as_ref().is_none_or(|o| "audit".contains(o.as_str()))
    {
        audit_at_scale::run(&binary, audit_events, seconds).await?;
    }
    // Each hashing thread gives its memory back after IDLE_RELEASE without a login; they
    // notice one after the other.
    let settle = IDLE_RELEASE * hashing.max_concurrent as u32 + Duration::from_secs(2);
    tokio::time::sleep(settle).await;
    println!(
        "Resident memory {} s after the last request: {} MiB",
        settle.as_secs(),
        mib(server.resident_kib().map(|(now, _)| now))
    );
    Ok(())
}

/// The median time of one Argon2id verification with the default (production) parameters.
async fn argon2_time(settings: HashingSettings) -> Result<Duration, SetupError> {
    let hasher = Argon2Hasher::new(settings)?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        hasher
            .verify_dummy("a password of an ordinary length")
            .await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// KiB as MiB with one decimal, `n/a` when unknown.
fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |kib| format!("{:.1}", kib as f64 / 1024.0))
}
