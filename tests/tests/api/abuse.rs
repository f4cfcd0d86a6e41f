//! Holes found by attacking the running server, each test in its subject's file. Every test
//! here failed on the main branch before its fix. The memory tests assert the server's
//! resident memory; the starvation tests that `/health` stays fast while the attack runs.
//! Those are named `…_while_attacked`: `make test` runs them alone, one at a time, after
//! everything else, so that no other test's load is measured as theirs.

mod data;
mod login;
mod probes;
mod records;
mod server;
