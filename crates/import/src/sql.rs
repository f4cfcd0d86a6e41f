//! SQL databases of the earlier systems: PostgreSQL (004's `users`, 002's SQLAlchemy `user`
//! and its key-value table) and SQLite (002 as it runs by default). Each row becomes a JSON
//! object of its columns and goes through the same field conventions as every other source.

use std::path::Path;

use keygate_domain::import::{LegacyEntry, LegacyUser};
use serde_json::{Map, Value};

use keygate_domain::import::Owned;

use crate::content;
use crate::fields::FieldMap;

/// The tables looked for when none is named: 004's, then SQLAlchemy's default for `User`.
const TABLES: [&str; 2] = ["users", "user"];
/// The tables 002 may keep its key-value entries in, first found wins.
const DATA_TABLES: [&str; 4] = ["data", "user_data", "data_entry", "entries"];

/// What a SQL source holds: its accounts, the table they came from, its key-value entries.
pub(crate) struct SqlSource {
    pub(crate) users: Vec<LegacyUser>,
    pub(crate) table: String,
    pub(crate) entries: Vec<Owned<LegacyEntry>>,
}

/// `name` as a quoted SQL identifier (`user` is reserved in PostgreSQL).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every row of `table` (or of the first of [`TABLES`] that exists) of the PostgreSQL
/// database at `url`, and its key-value entries.
pub(crate) async fn read_postgres(
    url: &str,
    table: Option<&str>,
    map: &FieldMap,
) -> Result<SqlSource, String> {
    // Errors name the table, never the URL (it may hold a password).
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
    let driver = tokio::spawn(connection);
    let exists = |candidate: &str| {
        let client = &client;
        let name = quoted(candidate);
        async move {
            let found: Option<String> = client
                .query_one("SELECT to_regclass($1)::text", &[&name])
                .await
                .map_err(|e| format!("PostgreSQL: {e}"))?
                .get(0);
            Ok::<bool, String>(found.is_some())
        }
    };
    let candidates: Vec<&str> = table.map_or_else(|| TABLES.to_vec(), |t| vec![t]);
    let mut found = None;
    for candidate in &candidates {
        if exists(candidate).await? {
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
    let rows_of = |table: &str| {
        let client = &client;
        let statement = format!("SELECT row_to_json(t)::text FROM {} t", quoted(table));
        let table = table.to_owned();
        async move {
            let rows = client
                .query(&statement, &[])
                .await
                .map_err(|e| format!("reading {table}: {e}"))?;
            rows.into_iter()
                .map(|row| {
                    let text: String = row.get(0);
                    serde_json::from_str::<Map<String, Value>>(&text)
                        .map_err(|e| format!("reading {table}: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()
        }
    };
    let users = rows_of(table).await?.iter().map(|r| map.user(r)).collect();
    let mut entries = Vec::new();
    for candidate in DATA_TABLES {
        if exists(candidate).await? {
            let targets: Vec<String> = client
                .query(
                    "SELECT trim(both '\"' from confrelid::regclass::text) FROM pg_constraint \
                     WHERE contype = 'f' AND conrelid = to_regclass($1)",
                    &[&quoted(candidate)],
                )
                .await
                .map_err(|e| format!("PostgreSQL: {e}"))?
                .iter()
                .map(|row| row.get(0))
                .collect();
            if belongs_to(&targets, table) {
                entries = rows_of(candidate)
                    .await?
                    .iter()
                    .map(content::entry)
                    .collect();
            }
            break;
        }
    }
    drop(client);
    let _ = driver.await;
    Ok(SqlSource {
        users,
        table: table.to_owned(),
        entries,
    })
}

/// Every row of `table` (or of the first of [`TABLES`] that exists) of the SQLite file at
/// `path`, opened read-only, and its key-value entries.
pub(crate) fn read_sqlite(
    path: &Path,
    table: Option<&str>,
    map: &FieldMap,
) -> Result<SqlSource, String> {
    let failed = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let connection =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(failed)?;
    let exists = |candidate: &str| -> Result<bool, String> {
        let count: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [candidate],
                |row| row.get(0),
            )
            .map_err(failed)?;
        Ok(count > 0)
    };
    let candidates: Vec<&str> = table.map_or_else(|| TABLES.to_vec(), |t| vec![t]);
    let mut found = None;
    for candidate in &candidates {
        if exists(candidate)? {
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
    let users = sqlite_rows(&connection, table)
        .map_err(failed)?
        .iter()
        .map(|r| map.user(r))
        .collect();
    let mut entries = Vec::new();
    for candidate in DATA_TABLES {
        if exists(candidate)? {
            let mut statement = connection
                .prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)")
                .map_err(failed)?;
            let targets = statement
                .query_map([candidate], |row| row.get::<_, String>(0))
                .map_err(failed)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed)?;
            if belongs_to(&targets, table) {
                entries = sqlite_rows(&connection, candidate)
                    .map_err(failed)?
                    .iter()
                    .map(content::entry)
                    .collect();
            }
            break;
        }
    }
    Ok(SqlSource {
        users,
        table: table.to_owned(),
        entries,
    })
}

/// Whether a key-value table whose foreign keys point at `targets` holds entries of the
/// accounts in `users`: it points at that table, or nowhere (its `user_id` is then taken as
/// theirs). 004's `users` never owns 002's entries, whose key points at `user`.
fn belongs_to(targets: &[String], users: &str) -> bool {
    targets.is_empty() || targets.iter().any(|t| t == users)
}

/// Every row of `table` as a JSON object of its non-NULL columns.
fn sqlite_rows(
    connection: &rusqlite::Connection,
    table: &str,
) -> Result<Vec<Map<String, Value>>, rusqlite::Error> {
    use rusqlite::types::ValueRef;
    let mut statement = connection.prepare(&format!("SELECT * FROM {}", quoted(table)))?;
    let columns: Vec<String> = statement
        .column_names()
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let mut rows = statement.query([])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        let mut record = Map::new();
        for (i, column) in columns.iter().enumerate() {
            let value = match row.get_ref(i)? {
                ValueRef::Null => continue,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(x) => Value::from(x),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            };
            record.insert(column.clone(), value);
        }
        found.push(record);
    }
    Ok(found)
}
