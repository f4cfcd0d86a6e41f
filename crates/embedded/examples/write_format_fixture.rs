//! Writes one of every kind of row into a new embedded store in the directory given as the
//! only argument: the fixture `tests/file_format.rs` reads (`docs/operations.md`).
#![allow(missing_docs)]

#[path = "../tests/file_format/rows.rs"]
mod rows;

#[tokio::main]
async fn main() {
    let directory = std::env::args()
        .nth(1)
        .expect("usage: write_format_fixture DIRECTORY");
    let store = keygate_embedded::EmbeddedStore::open(std::path::Path::new(&directory))
        .expect("a new store");
    rows::populate(&store).await;
}
