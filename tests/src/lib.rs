//! Black-box test support: starts the real `keygate` binary on a free port with its own data
//! directory, and speaks HTTP to it with helpers named after the contract.
#![warn(missing_docs)]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // a panic is how a test fails

mod app;
mod inspect;
pub mod mail;
pub mod otp;
pub mod python;
mod reply;
pub mod smtp;

pub use app::{fresh_database_name, mongodb_uri, Store, TestApp};
pub use inspect::Leftovers;
pub use reply::Reply;

/// A password that passes the policy.
pub const PASSWORD: &str = "vivid-otter-42-lamp";

/// A name unique within this test process, for usernames and emails that must not collide.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Registers `count` accounts with one `email` at the same time, spread round-robin over
/// `apps`, and asserts that exactly one wins (201) and every other one gets 409.
#[track_caller]
pub fn assert_one_registration_wins(apps: &[&TestApp], count: usize, email: &str) {
    assert_one_wins(count, |i| {
        apps[i % apps.len()]
            .register(&format!("racer{i}"), email)
            .status
    });
}

/// Runs `attempt(0..count)` all at once (one thread each) and asserts that exactly one
/// answered 201 and every other one 409.
#[track_caller]
pub fn assert_one_wins(count: usize, attempt: impl Fn(usize) -> u16 + Sync) {
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let attempt = &attempt;
        let handles: Vec<_> = (0..count)
            .map(|i| scope.spawn(move || attempt(i)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        count - 1,
        "{statuses:?}"
    );
}

/// Generates one `#[test]` per listed test function and store: `name::embedded` and
/// `name::mongo`. Each function takes the [`Store`] to run on, so both stores run the very same
/// test bodies.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn embedded() {
                    super::$name($crate::Store::Embedded);
                }

                #[test]
                fn mongo() {
                    super::$name($crate::Store::Mongo);
                }
            }
        )*
    };
}
