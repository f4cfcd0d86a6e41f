//! The audit log at scale (issue 32): 10⁶ events of one account written straight into a fresh
//! embedded store before the server starts, then `GET /audit` (that account's newest events)
//! and an administrator's filtered `GET /admin/audit` at 32 connections, and the whole
//! `GET /admin/audit?format=jsonl` export once: its rate and the server's resident memory
//! while it streams. Also the file's size per stored event. Embedded store only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use keygate_crypto::{Argon2Hasher, HashingSettings};
use keygate_domain::accounts::{AccountDetails, Password, PasswordHasher, Role, User, Username};
use keygate_domain::audit::{Action, Actor, AuditEvent, AuditRepository};
use keygate_domain::Id;
use keygate_embedded::EmbeddedStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{request, Connection};
use crate::load;
use crate::server::{Server, SetupError};

const USERNAME: &str = "audited";
const PASSWORD: &str = "a bench password 42";

/// Appends in flight at once while seeding: the group committer makes them share fsyncs.
const SEEDING_AT_ONCE: usize = 256;

/// Writes `events` events of one administrator account into a new store in `directory`;
/// answers the bytes the file grew by.
async fn seed(directory: &std::path::Path, events: u64) -> Result<u64, SetupError> {
    let store = Arc::new(EmbeddedStore::open(directory)?);
    let hasher = Argon2Hasher::new(HashingSettings::default())?;
    let now = chrono::Utc::now();
    let mut admin = User::new_account(
        Id::generate(now.timestamp()),
        AccountDetails {
            username: Some(Username::new(USERNAME).map_err(|v| v.message)?),
            ..AccountDetails::default()
        },
        hasher
            .hash(&Password::new(PASSWORD, "password").map_err(|v| v.message)?)
            .await?,
        now,
    );
    admin.role = Role::Admin;
    keygate_domain::accounts::UserRepository::insert(&*store, &admin).await?;
    let file = directory.join("keygate.redb");
    let before = std::fs::metadata(&file)?.len();
    let start = now - chrono::Duration::days(30);
    let step = 30 * 24 * 3_600_000_000 / events.max(1) as i64; // spread over 30 days, in µs
    let account = admin.id.clone();
    let written = futures_util::stream::iter(0..events)
        .map(|i| {
            let (store, account) = (store.clone(), account.clone());
            async move {
                let action = if i % 100 == 0 {
                    Action::PasswordChanged
                } else {
                    Action::LoginSucceeded
                };
                let at = start + chrono::Duration::microseconds(step * i as i64);
                let mut event = AuditEvent::new(action, Actor::user(&account), at)
                    .account(&account)
                    .target("user", &account)
                    .detail("method", "password");
                event.address = Some("203.0.113.42".into());
                event.user_agent =
                    Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131".into());
                event.request_id = Some(format!("6b1764{i:018x}"));
                store.append_event(&event).await
            }
        })
        .buffer_unordered(SEEDING_AT_ONCE)
        .fold(Ok(0u64), |total, outcome| async move {
            total.and_then(|n| outcome.map(|()| n + 1))
        })
        .await?;
    drop(store);
    let after = std::fs::metadata(&file)?.len();
    Ok(after.saturating_sub(before) / written.max(1))
}

/// Streams `path` once over a fresh connection to its end; answers the events it held and
/// the bytes it took.
async fn stream_once(
    address: std::net::SocketAddr,
    path: &str,
    bearer: &str,
) -> Result<(u64, u64), SetupError> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: keygate\r\nAuthorization: {bearer}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut buffer = vec![0u8; 256 * 1024];
    let (mut events, mut bytes) = (0u64, 0u64);
    let needle = b"\"event_id\"";
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        carry.extend_from_slice(&buffer[..n]);
        let mut at = 0;
        while let Some(found) = carry[at..].windows(needle.len()).position(|w| w == needle) {
            events += 1;
            at += found + needle.len();
        }
        // What follows the last match and may begin the next one stays for the next read.
        let keep_from = at.max(carry.len().saturating_sub(needle.len() - 1));
        carry.drain(..keep_from);
    }
    Ok((events, bytes))
}

/// Runs the section on a server of its own, `seconds` per load run.
pub async fn run(binary: &std::path::Path, events: u64, seconds: u64) -> Result<(), SetupError> {
    let data = tempfile::tempdir()?;
    let seeding = Instant::now();
    let per_event = seed(data.path(), events).await?;
    println!(
        "\nAudit log at scale: {events} events of one account seeded in {:.0} s; the store file grew by {per_event} bytes per event",
        seeding.elapsed().as_secs_f64()
    );
    let server = Server::start_on(data, binary, &[]).await?;
    let mut connection = Connection::open(server.address).await?;
    let login = connection
        .send(&request(
            "POST",
            "/login",
            &[],
            Some(&json!({"username": USERNAME, "password": PASSWORD}).to_string()),
        ))
        .await?;
    let token: serde_json::Value = serde_json::from_slice(login.body)?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().ok_or("no access token")?
    );
    println!("| path | connections | req/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for path in [
        "/audit",
        "/audit?action=password.changed",
        "/admin/audit?action=password.changed",
        "/admin/audit?limit=500",
    ] {
        let bytes = request("GET", path, &[("Authorization", &bearer)], None);
        let outcome = load::run(
            server.address,
            32,
            Duration::from_secs(seconds),
            Arc::new(move |_| bytes.clone()),
        )
        .await;
        println!(
            "| `GET {path}` | 32 | {:.0} | {:.2} | {:.2} | {} |",
            outcome.per_second(),
            outcome.p50.as_secs_f64() * 1000.0,
            outcome.p99.as_secs_f64() * 1000.0,
            outcome.errors
        );
    }
    let idle = server.resident_kib().map_or(0, |(now, _)| now);
    let peak = Arc::new(AtomicU64::new(idle));
    let streaming = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, streaming, pid) = (peak.clone(), streaming.clone(), server.pid());
        tokio::spawn(async move {
            while streaming.load(Ordering::Relaxed) {
                if let Some((now, _)) = crate::server::resident_kib_of(pid) {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let (streamed, bytes) =
        stream_once(server.address, "/admin/audit?format=jsonl", &bearer).await?;
    let took = started.elapsed();
    streaming.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    println!(
        "`GET /admin/audit?format=jsonl`: {streamed} events ({:.0} MiB) in {:.2} s, {:.0} events/s; resident memory {:.1} MiB before, at most {:.1} MiB while streaming ({:.1} MiB above)",
        bytes as f64 / 1_048_576.0,
        took.as_secs_f64(),
        streamed as f64 / took.as_secs_f64(),
        idle as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        peak.load(Ordering::Relaxed).saturating_sub(idle) as f64 / 1024.0,
    );
    Ok(())
}
