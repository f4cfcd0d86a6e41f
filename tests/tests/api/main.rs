//! Black-box tests of the whole keygate binary over HTTP, one module per part of the contract.
#![allow(missing_docs, clippy::unwrap_used)]

mod abuse;
mod apis;
mod audit;
mod data;
mod defaults;
mod docs_page;
mod email;
mod errors;
mod health;
mod import;
mod lifecycle;
mod login;
mod mfa;
mod mongo;
mod operations;
mod passkeys;
mod profile;
mod reauthentication;
mod record_queries;
mod records;
mod register;
mod schema_suite;
mod sessions;
mod signing;
mod users;
