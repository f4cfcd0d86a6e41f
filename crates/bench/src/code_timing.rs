//! Whether `POST /login/code` tells who has an account (issue 31): wrong codes for an address
//! with a live code, for an account without one, and for no account, interleaved, 1 000 each,
//! on one keep-alive connection; the medians and their differences. On a server of its own
//! whose throttles are lifted (so every sample is a refused code, not a `429`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{request, Connection};
use crate::server::{Server, SetupError};

/// Samples per kind of address.
const SAMPLES: usize = 1_000;

/// The six orders of the three kinds of address.
const ORDERS: [[u8; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// The settings the section's server runs with.
pub const ENV: &[(&str, &str)] = &[
    ("KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES", "1000000"),
    ("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "1000000"),
    (
        "KEYGATE__AUTH__THROTTLE__MAIL_REQUESTS_PER_ACCOUNT",
        "1000000",
    ),
    (
        "KEYGATE__AUTH__THROTTLE__MAIL_REQUESTS_PER_ADDRESS",
        "1000000",
    ),
    ("KEYGATE__EMAIL__POLL_INTERVAL_MS", "100"),
];

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// The 10th, 50th and 90th percentiles in ms, of sorted `times`.
fn spread(times: &[Duration]) -> String {
    let at = |q: usize| times[times.len() * q / 100].as_secs_f64() * 1000.0;
    format!("{:.3} / {:.3} / {:.3}", at(10), at(50), at(90))
}

async fn wrong_code(connection: &mut Connection, email: &str) -> Result<Duration, SetupError> {
    let body = json!({"email": email, "code": "000000"}).to_string();
    let raw = request("POST", "/login/code", &[], Some(&body));
    let started = Instant::now();
    let status = connection.send(&raw).await?.status;
    let took = started.elapsed();
    if status != 401 {
        return Err(format!("a wrong code for {email} answered {status}").into());
    }
    Ok(took)
}

async fn send(connection: &mut Connection, expected: u16, raw: &[u8]) -> Result<(), SetupError> {
    let status = connection.send(raw).await?.status;
    if status == expected {
        Ok(())
    } else {
        Err(format!("set-up answered {status}, not {expected}").into())
    }
}

/// Measures and prints the section.
pub async fn run(server: &Server) -> Result<(), SetupError> {
    let address: SocketAddr = server.address;
    let mut c = Connection::open(address).await?;
    for name in ["timing-live", "timing-idle"] {
        let body = json!({"username": name, "email": format!("{name}@example.com"),
            "password": "a bench password 42"})
        .to_string();
        send(&mut c, 201, &request("POST", "/register", &[], Some(&body))).await?;
    }
    let ask = json!({"email": "timing-live@example.com"}).to_string();
    let ask = request("POST", "/login/code/request", &[], Some(&ask));
    let (mut live, mut idle, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        if i % 4 == 0 {
            // A code dies after five wrong tries: a fresh one every fourth sample.
            send(&mut c, 202, &ask).await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // In an order that changes from round to round, so no kind always follows another.
        for kind in ORDERS[i % ORDERS.len()] {
            match kind {
                0 => live.push(wrong_code(&mut c, "timing-live@example.com").await?),
                1 => idle.push(wrong_code(&mut c, "timing-idle@example.com").await?),
                _ => unknown.push(wrong_code(&mut c, "timing-nobody@example.com").await?),
            }
        }
    }
    let spreads = [&mut live, &mut idle, &mut unknown].map(|t| {
        t.sort();
        spread(t)
    });
    let (live, idle, unknown) = (median(&mut live), median(&mut idle), median(&mut unknown));
    println!("\n`POST /login/code` with a wrong code, {SAMPLES} samples each, median ms:");
    println!("| address | median ms | minus unknown ms |");
    println!("|---|---:|---:|");
    println!("| has a live code | {live:.3} | {:.3} |", live - unknown);
    println!("| account, no code | {idle:.3} | {:.3} |", idle - unknown);
    println!("| no account | {unknown:.3} | 0.000 |");
    println!(
        "p10 / p50 / p90 ms: live code {}; account, no code {}; no account {}",
        spreads[0], spreads[1], spreads[2]
    );
    Ok(())
}
