//! The repository conformance suite: every behaviour a store must have, written once against
//! the domain's port traits. Each adapter runs all of it with [`conformance_tests!`], so
//! whatever one store does, every other store does too.
//!
//! Adding a case is enough to run it: each module lists its cases once in `CASES`, and this
//! crate denies dead code, so a case that is written but not listed fails the build.
//!
//! A dev-only crate: depends on `keygate-domain` and nothing else of the workspace.
#![warn(missing_docs)]
#![deny(dead_code)]
#![allow(clippy::unwrap_used)] // assertions in a test suite: a panic is the failure report

mod apis;
mod audit;
mod data;
mod factors;
pub mod fixtures;
mod mail;
mod record_queries;
mod records;
mod sessions;
mod signing_keys;
mod usage;
mod users;

use std::future::Future;
use std::pin::Pin;

pub use keygate_domain::Repositories;

/// A boxed future of one case's run.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One conformance case: its name and how to run it on a fresh store.
#[derive(Clone, Copy)]
pub struct Case {
    /// `module::function`, as failures name it.
    pub name: &'static str,
    /// Runs the case; a panic is its failure.
    pub run: fn(Repositories) -> CaseFuture,
}

/// A [`Case`] for the async function `$case(stores: Repositories)` of the current module.
#[macro_export]
#[doc(hidden)]
macro_rules! case {
    ($case:ident) => {
        $crate::Case {
            name: concat!(module_path!(), "::", stringify!($case)),
            run: |stores| Box::pin($case(stores)),
        }
    };
}

/// Every case of the suite. A module left out here fails the build (its `CASES` is dead code).
pub fn all_cases() -> Vec<Case> {
    [
        users::CASES,
        sessions::CASES,
        data::CASES,
        apis::CASES,
        records::CASES,
        record_queries::CASES,
        usage::CASES,
        signing_keys::CASES,
        mail::CASES,
        factors::CASES,
        audit::CASES,
    ]
    .concat()
}

/// Runs every case (or those whose name contains `KEYGATE_CASE`, when set), each on a fresh
/// store from `fresh` and in a task of its own, a few at a time; then panics naming every case
/// that failed, with its message. Prints one line per case.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Repositories>,
{
    const AT_ONCE: usize = 4;
    let only = std::env::var("KEYGATE_CASE").ok();
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .collect();
    assert!(!cases.is_empty(), "no conformance case matches {only:?}");
    let mut failures = Vec::new();
    for batch in cases.chunks(AT_ONCE) {
        let mut running = Vec::new();
        for case in batch {
            let stores = fresh().await;
            running.push((case.name, tokio::spawn((case.run)(stores))));
        }
        for (name, task) in running {
            match task.await {
                Ok(()) => println!("conformance case {name} ... ok"),
                Err(error) => {
                    let message = match error.try_into_panic() {
                        Ok(panic) => panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_else(|| "panicked".to_owned()),
                        Err(error) => error.to_string(),
                    };
                    println!("conformance case {name} ... FAILED");
                    failures.push(format!("{name}: {message}"));
                }
            }
        }
    }
    println!("{} conformance cases run", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Expands to one test that runs every case of the suite on fresh stores from `$fresh`, an
/// expression that evaluates to a future of a fresh, empty [`Repositories`].
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_suite() {
            $crate::run_all(|| $fresh).await;
        }
    };
}
