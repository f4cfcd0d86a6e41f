//! `BENCH_RECORDS=10000,100000,1000000`: record queries as one endpoint grows (§11).
//!
//! Writes records `{"tag": "t<i mod 1000>", "n": i, "pad": …}` into one endpoint with indexes
//! on `tag` and `n` at 32 connections (durable writes, two indexes each), and at each size
//! drives the first page, an indexed equality (`tag=t7`, `tag=nomatch`) and an indexed range
//! (`n[gte]=…&sort=n`), 20 records a page. It then fills a second endpoint with exactly
//! `records.max_scan` records and times a query no index serves against a plain first page
//! there: the difference, per record, is what a scan costs. Memory and the data file's size
//! per record are printed with each size.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{request, Connection};
use crate::load;
use crate::mib;
use crate::server::{Server, SetupError};

/// The records of the scan endpoint: the default `records.max_scan`.
const SCAN_RECORDS: u64 = 10_000;
/// Connections the writers use.
const WRITERS: usize = 32;

/// What one size's writes measured.
struct Written {
    per_second: f64,
    errors: u64,
}

async fn call(address: SocketAddr, raw: Vec<u8>, expected: u16) -> Result<Value, SetupError> {
    let mut connection = Connection::open(address).await?;
    let response = connection.send(&raw).await?;
    let body: Value = serde_json::from_slice(response.body).unwrap_or(Value::Null);
    if response.status != expected {
        return Err(format!("set-up answered {}: {body}", response.status).into());
    }
    Ok(body)
}

fn record_body(i: u64) -> String {
    json!({"tag": format!("t{}", i % 1000), "n": i, "pad": "the quick brown fox jumps over"})
        .to_string()
}

/// Writes records `from..to` to `path` over [`WRITERS`] connections.
async fn write(
    address: SocketAddr,
    path: &str,
    key: &str,
    from: u64,
    to: u64,
) -> Result<Written, SetupError> {
    let next = Arc::new(AtomicU64::new(from));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (next, errors) = (next.clone(), errors.clone());
        let (path, key) = (path.to_owned(), key.to_owned());
        writers.push(tokio::spawn(async move {
            let mut connection = Connection::open(address).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    return Ok::<(), std::io::Error>(());
                }
                let raw = request("POST", &path, &[("X-API-Key", &key)], Some(&record_body(i)));
                let response = connection.send(&raw).await?;
                if response.status != 201 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for writer in writers {
        writer.await??;
    }
    Ok(Written {
        per_second: (to - from) as f64 / started.elapsed().as_secs_f64(),
        errors: errors.load(Ordering::Relaxed),
    })
}

/// Bytes of every file under `dir`.
fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => size_of(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn get(path: String, key: &str) -> load::RequestMaker {
    let raw = request("GET", &path, &[("X-API-Key", key)], None);
    Arc::new(move |_| raw.clone())
}

/// Runs the section; `sizes` ascending.
pub async fn run(server: &Server, sizes: &[u64], seconds: u64) -> Result<(), SetupError> {
    let address = server.address;
    let account = json!({"username": "scale", "password": "vivid-otter-42-lamp"}).to_string();
    call(
        address,
        request("POST", "/register", &[], Some(&account)),
        201,
    )
    .await?;
    let login = call(address, request("POST", "/login", &[], Some(&account)), 200).await?;
    let token = format!(
        "Bearer {}",
        login["access_token"].as_str().unwrap_or_default()
    );
    let api = json!({
        "api_name": "scale",
        "endpoints": ["items", "scan"],
        "json_schema": {"items": {"type": "object"}, "scan": {"type": "object"}},
        "indexes": {"items": ["tag", "n"]}
    })
    .to_string();
    let created = call(
        address,
        request(
            "POST",
            "/create_api",
            &[("Authorization", &token)],
            Some(&api),
        ),
        201,
    )
    .await?;
    let name = created["api_name"].as_str().unwrap_or_default().to_owned();
    let key = created["api_key"].as_str().unwrap_or_default().to_owned();
    let items = format!("/api/{name}/items");
    let duration = Duration::from_secs(seconds);

    println!("\n## Records at scale: one endpoint, indexes on `tag` and `n`\n");
    println!("| records | path | connections | req/s | p50 ms | p99 ms | errors | resident MiB |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    let mut written = 0;
    for &size in sizes {
        let writes = write(address, &items, &key, written, size).await?;
        written = size;
        let file = size_of(server.data_dir());
        println!(
            "| {size} | writes up to here (durable, 2 indexes) | {WRITERS} | {:.0} | | | {} | {} |",
            writes.per_second,
            writes.errors,
            mib(server.resident_kib().map(|(now, _)| now)),
        );
        println!(
            "| {size} | data directory: {:.1} MiB, {:.0} bytes per record | | | | | | |",
            file as f64 / 1048576.0,
            file as f64 / size as f64
        );
        let middle = size / 2;
        let queries = [
            ("first 20", format!("{items}?limit=20")),
            ("tag = t7", format!("{items}?tag=t7&limit=20")),
            ("tag = nomatch", format!("{items}?tag=nomatch&limit=20")),
            (
                "n ≥ middle, sort=n",
                format!("{items}?n%5Bgte%5D={middle}&sort=n&limit=20"),
            ),
            (
                "n ≥ middle, sort=n, count=true",
                format!("{items}?n%5Bgte%5D={middle}&sort=n&limit=20&count=true"),
            ),
        ];
        for (label, path) in queries {
            for connections in [1, 32] {
                let outcome =
                    load::run(address, connections, duration, get(path.clone(), &key)).await;
                println!(
                    "| {size} | `{label}` | {connections} | {:.0} | {:.2} | {:.2} | {} | {} |",
                    outcome.per_second(),
                    outcome.p50.as_secs_f64() * 1000.0,
                    outcome.p99.as_secs_f64() * 1000.0,
                    outcome.errors,
                    mib(server.resident_kib().map(|(now, _)| now)),
                );
            }
        }
    }

    let scan = format!("/api/{name}/scan");
    write(address, &scan, &key, 0, SCAN_RECORDS).await?;
    let plain = load::run(address, 1, duration, get(format!("{scan}?limit=20"), &key)).await;
    let scanned = load::run(
        address,
        1,
        duration,
        get(format!("{scan}?missing=1&limit=20"), &key),
    )
    .await;
    let per_record =
        (scanned.p50.as_secs_f64() - plain.p50.as_secs_f64()) / SCAN_RECORDS as f64 * 1e6;
    println!(
        "\nA query no index serves, over {SCAN_RECORDS} records (records.max_scan): p50 {:.2} ms \
         against {:.2} ms for a first page, so {per_record:.3} µs a record examined ({} errors).",
        scanned.p50.as_secs_f64() * 1000.0,
        plain.p50.as_secs_f64() * 1000.0,
        scanned.errors
    );
    println!(
        "Peak resident memory over the section: {} MiB",
        mib(server.resident_kib().map(|(_, peak)| peak))
    );
    Ok(())
}
