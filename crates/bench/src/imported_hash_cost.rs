//! What a login against the costliest hash an import can bring in costs (issue 31): for each
//! format at its bound, the time and the resident memory of one wrong guess beside those of a
//! guess against one of the server's own hashes; then how long another account's login waits
//! while eight such guesses run. On a server of its own, on the embedded store, whose users
//! were brought in by `keygate import` and whose throttles are lifted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{request, Connection};
use crate::server::{resident_kib_of, Server, SetupError};

/// The settings the section's server runs with.
pub const ENV: &[(&str, &str)] = &[
    ("KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES", "1000000"),
    ("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "1000000"),
];

/// The password of the account registered on the server itself.
const OWN_PASSWORD: &str = "a bench password 42";

/// Samples of each guess.
const SAMPLES: usize = 5;

/// Guesses that run at once against the slowest format while another account logs in.
const RACING_GUESSES: usize = 8;

/// Each format at the bound `keygate import` admits (`keygate_crypto::hash_limits` and
/// `legacy`): its name, the account that holds it, the stored hash. No password matches them;
/// a wrong guess costs what a right one would.
fn worst_hashes() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "argon2id m=76 MiB t=2 p=4",
            "worst-argon2",
            format!(
                "$argon2id$v=19$m=77824,t=2,p=4$c2FsdHNhbHRzYWx0c2FsdA${}",
                "A".repeat(43)
            ),
        ),
        (
            "werkzeug pbkdf2-sha256 2 000 000 rounds",
            "worst-pbkdf2",
            format!("pbkdf2:sha256:2000000$saltsalt${}", "0".repeat(64)),
        ),
        (
            "werkzeug scrypt N=65536 r=8 p=1 (64 MiB)",
            "worst-scrypt",
            format!("scrypt:65536:8:1$saltsalt${}", "0".repeat(128)),
        ),
        (
            "bcrypt cost 14",
            "worst-bcrypt",
            "$2b$14$UH9a3u.isFrJkA4RChtrJevUDtqWsR1tP4Fo/rDvJ1fgzAodCeBeu".to_owned(),
        ),
    ]
}

/// The JSON lines `keygate import` reads.
fn export() -> String {
    worst_hashes()
        .iter()
        .map(|(_, username, hash)| {
            json!({"username": username, "email": format!("{username}@example.com"),
                "password_hash": hash})
            .to_string()
                + "\n"
        })
        .collect()
}

fn login(username: &str, password: &str) -> Vec<u8> {
    let body = json!({"username": username, "password": password}).to_string();
    request("POST", "/login", &[], Some(&body))
}

/// One login on a connection of its own; its time, after checking its status.
async fn timed_login(
    address: SocketAddr,
    raw: &[u8],
    expected: u16,
) -> Result<Duration, SetupError> {
    let mut connection = Connection::open(address).await?;
    let started = Instant::now();
    let status = connection.send(raw).await?.status;
    let took = started.elapsed();
    if status != expected {
        return Err(format!("a bench login answered {status}, not {expected}").into());
    }
    Ok(took)
}

/// The time of one login and the most resident memory the server gained while it ran,
/// sampled every millisecond.
async fn measured_login(
    server: &Server,
    raw: &[u8],
    expected: u16,
) -> Result<(Duration, u64), SetupError> {
    let pid = server.pid();
    let before = resident_kib_of(pid).map_or(0, |(now, _)| now);
    let (peak, running) = (
        Arc::new(AtomicU64::new(before)),
        Arc::new(AtomicBool::new(true)),
    );
    let sampler = {
        let (peak, running) = (peak.clone(), running.clone());
        tokio::spawn(async move {
            while running.load(Ordering::SeqCst) {
                if let Some((now, _)) = resident_kib_of(pid) {
                    peak.fetch_max(now, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let took = timed_login(server.address, raw, expected).await;
    running.store(false, Ordering::SeqCst);
    sampler.await?;
    Ok((took?, peak.load(Ordering::SeqCst).saturating_sub(before)))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Measures and prints the section.
pub async fn run(binary: &std::path::Path) -> Result<(), SetupError> {
    let server = Server::start_imported(binary, &export(), ENV).await?;
    let address = server.address;
    let body = json!({"username": "own", "email": "own@example.com", "password": OWN_PASSWORD})
        .to_string();
    let mut c = Connection::open(address).await?;
    let status = c
        .send(&request("POST", "/register", &[], Some(&body)))
        .await?
        .status;
    if status != 201 {
        return Err(format!("registering the bench account answered {status}").into());
    }
    // Registering hashed once: wait until the hashing threads have let their areas go, so the
    // first guess below shows what a login allocates.
    tokio::time::sleep(keygate_crypto::IDLE_RELEASE * 3).await;

    println!("\nOne wrong guess against each hash, {SAMPLES} samples (median time, most memory):");
    println!("| stored hash | median ms | resident memory gained MiB |");
    println!("|---|---:|---:|");
    let mut rows = vec![("the server's own (argon2id 19 MiB t=2 p=1)", "own")];
    rows.extend(worst_hashes().iter().map(|(name, user, _)| (*name, *user)));
    let mut slowest = ("own", Duration::ZERO);
    for (name, username) in rows {
        let (mut times, mut gained) = (Vec::new(), 0);
        for _ in 0..SAMPLES {
            let (took, kib) =
                measured_login(&server, &login(username, "a wrong guess"), 401).await?;
            times.push(took);
            gained = gained.max(kib);
        }
        let took = median(times);
        if took > slowest.1 {
            slowest = (username, took);
        }
        println!(
            "| {name} | {:.1} | {:.1} |",
            ms(took),
            gained as f64 / 1024.0
        );
    }

    let own = login("own", OWN_PASSWORD);
    let mut alone = Vec::new();
    for _ in 0..SAMPLES {
        alone.push(timed_login(address, &own, 200).await?);
    }
    let alone = median(alone);
    let guess = login(slowest.0, "a wrong guess");
    let racing: Vec<_> = (0..RACING_GUESSES)
        .map(|_| {
            let guess = guess.clone();
            tokio::spawn(async move { timed_login(address, &guess, 401).await.is_ok() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut during = Vec::new();
    for _ in 0..SAMPLES {
        during.push(timed_login(address, &own, 200).await?);
    }
    let during = median(during);
    let mut answered = 0;
    for guess in racing {
        answered += usize::from(guess.await?);
    }
    println!(
        "\nAnother account's login alone: {:.1} ms; while {RACING_GUESSES} guesses against \
         {} run: {:.1} ms (waited {:.1} ms more; {answered} of the guesses answered 401)",
        ms(alone),
        slowest.0,
        ms(during),
        ms(during.saturating_sub(alone)),
    );
    Ok(())
}
