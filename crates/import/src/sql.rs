//! SQL databases of the earlier systems: PostgreSQL (004's `users`, 002's SQLAlchemy `user`)
//! and SQLite (002 as it runs by default). Each row becomes a JSON object of its columns and
//! goes through the same field conventions as every other source.

use std::path::Path;

use keygate_domain::import::LegacyUser;
use serde_json::{Map, Value};

use crate::fields::FieldMap;

/// The tables looked for when none is named: 004's, then SQLAlchemy's default for `User`.
const TABLES: [&str; 2] = ["users", "user"];

/// `name` as a quoted SQL identifier (`user` is reserved in PostgreSQL).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every row of `table` (or of the first of [`TABLES`] that exists) of the PostgreSQL
/// database at `url`.
pub(crate) async fn read_postgres(
    url: &str,
    table: Option<&str>,
    map: &FieldMap,
) -> Result<(Vec<LegacyUser>, String), String> {
    // Errors name the table, never the URL (it may hold a password).
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
    let driver = tokio::spawn(connection);
    let candidates: Vec<&str> = table.map_or_else(|| TABLES.to_vec(), |t| vec![t]);
    let mut found = None;
    for candidate in &candidates {
        let exists: Option<String> = client
            .query_one("SELECT to_regclass($1)::text", &[&quoted(candidate)])
            .await
            .map_err(|e| format!("PostgreSQL: {e}"))?
            .get(0);
        if exists.is_some() {
            found = Some(*candidate);
            break;
        }
    }
    let table = found.ok_or_else(|| {
        format!(
            "no table {} in that database (name one with --table)",
            candidates.join(" or ")
        )
    })?;
    // PostgreSQL turns each row into JSON itself: every column type, NULLs and timestamps.
    let rows = client
        .query(
            &format!("SELECT row_to_json(t)::text FROM {} t", quoted(table)),
            &[],
        )
        .await
        .map_err(|e| format!("reading {table}: {e}"))?;
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let text: String = row.get(0);
        let record: Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| format!("reading {table}: {e}"))?;
        users.push(map.user(&record));
    }
    drop(client);
    let _ = driver.await;
    Ok((users, table.to_owned()))
}

/// Every row of `table` (or of the first of [`TABLES`] that exists) of the SQLite file at
/// `path`, opened read-only.
pub(crate) fn read_sqlite(
    path: &Path,
    table: Option<&str>,
    map: &FieldMap,
) -> Result<(Vec<LegacyUser>, String), String> {
    use rusqlite::types::ValueRef;
    let failed = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let connection =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(failed)?;
    let candidates: Vec<&str> = table.map_or_else(|| TABLES.to_vec(), |t| vec![t]);
    let mut found = None;
    for candidate in &candidates {
        let exists: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [candidate],
                |row| row.get(0),
            )
            .map_err(failed)?;
        if exists > 0 {
            found = Some(*candidate);
            break;
        }
    }
    let table = found.ok_or_else(|| {
        format!(
            "no table {} in {} (name one with --table)",
            candidates.join(" or "),
            path.display()
        )
    })?;
    let mut statement = connection
        .prepare(&format!("SELECT * FROM {}", quoted(table)))
        .map_err(failed)?;
    let columns: Vec<String> = statement
        .column_names()
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let mut rows = statement.query([]).map_err(failed)?;
    let mut users = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        let mut record = Map::new();
        for (i, column) in columns.iter().enumerate() {
            let value = match row.get_ref(i).map_err(failed)? {
                ValueRef::Null => continue,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(x) => Value::from(x),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            };
            record.insert(column.clone(), value);
        }
        users.push(map.user(&record));
    }
    Ok((users, table.to_owned()))
}
