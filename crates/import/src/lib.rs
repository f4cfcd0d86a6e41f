//! The sources `keygate import` reads (§10): a MongoDB database (the `users` collection, as
//! the earlier systems 000 and 001 keep it, and 000's APIs and records), PostgreSQL (004's
//! `users`, 002's `user` and key-value table), SQLite (002), or a JSON-lines or CSV export of
//! accounts. Field and column
//! names are found by those systems' conventions (`username`, `email`, `password`,
//! `password_hash`, …); `--map field=column` names others.
#![warn(missing_docs)]

mod content;
mod fields;
mod files;
mod mongo;
mod sql;

pub use fields::FieldMap;

use async_trait::async_trait;
use keygate_domain::import::{LegacyDatabase, LegacySource};

/// Why a source cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// `--from` names no kind of source Keygate reads.
    #[error("{0}")]
    UnsupportedSource(String),
    /// A `--map` argument is malformed.
    #[error("{0}")]
    BadMap(String),
    /// The source could not be read, or holds what Keygate cannot read.
    #[error("{0}")]
    Unreadable(String),
}

impl From<ImportError> for keygate_domain::Error {
    fn from(error: ImportError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// A source with the field names and table to read it by: what `keygate import` reads.
#[derive(Debug, Clone)]
pub struct SourceReader {
    source: Source,
    map: FieldMap,
    table: Option<String>,
}

impl SourceReader {
    /// `--from`, `--map` (any number) and `--table`.
    pub fn new(from: &str, maps: &[String], table: Option<String>) -> Result<Self, ImportError> {
        Ok(Self {
            source: Source::parse(from).map_err(ImportError::UnsupportedSource)?,
            map: FieldMap::with(maps).map_err(ImportError::BadMap)?,
            table,
        })
    }
}

#[async_trait]
impl LegacySource for SourceReader {
    fn identity(&self) -> String {
        self.source.identity()
    }

    async fn read(&self) -> keygate_domain::Result<LegacyDatabase> {
        self.source
            .read(&self.map, self.table.as_deref())
            .await
            .map_err(|why| ImportError::Unreadable(why).into())
    }
}

/// Where to read users from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `mongodb://…/<database>`: its `users` collection.
    Mongo(String),
    /// A `.jsonl` file: one JSON object per line.
    JsonLines(std::path::PathBuf),
    /// A `.csv` file with a header row.
    Csv(std::path::PathBuf),
    /// `postgresql://…`: 004's `users` table or 002's `user`.
    Postgres(String),
    /// `sqlite://path`: 002's database file.
    Sqlite(std::path::PathBuf),
}

impl Source {
    /// The source `--from` names; unsupported kinds say what is supported.
    pub fn parse(from: &str) -> Result<Self, String> {
        if from.starts_with("mongodb://") || from.starts_with("mongodb+srv://") {
            return Ok(Self::Mongo(from.to_owned()));
        }
        if from.starts_with("postgresql://") || from.starts_with("postgres://") {
            return Ok(Self::Postgres(from.to_owned()));
        }
        if let Some(path) = from.strip_prefix("sqlite://") {
            return Ok(Self::Sqlite(std::path::PathBuf::from(path)));
        }
        let path = std::path::PathBuf::from(from);
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => Ok(Self::JsonLines(path)),
            Some("csv") => Ok(Self::Csv(path)),
            _ => Err(format!(
                "cannot import from '{}': give a mongodb://, postgresql:// or sqlite:// URL, \
                 a .jsonl or a .csv file",
                if from.contains("://") {
                    from.split("://").next().unwrap_or("?")
                } else {
                    from
                }
            )),
        }
    }

    /// A name for the source that holds no password (ids of accounts without a 24-hex id are
    /// derived from it, so it must not change between runs).
    pub fn identity(&self) -> String {
        match self {
            Self::Mongo(url) | Self::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("mongodb", url));
                let host_and_path = rest.rsplit('@').next().unwrap_or(rest);
                let host_and_path = host_and_path.split('?').next().unwrap_or(host_and_path);
                format!("{scheme}://{host_and_path}")
            }
            Self::JsonLines(path) | Self::Csv(path) | Self::Sqlite(path) => path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        }
    }

    /// Everything the source holds: accounts (from `table`, or `users`, else `user`, in a
    /// SQL database), APIs, records and key-value entries.
    pub async fn read(
        &self,
        map: &FieldMap,
        table: Option<&str>,
    ) -> Result<LegacyDatabase, String> {
        let users_only = |users| LegacyDatabase {
            users,
            ..LegacyDatabase::default()
        };
        let sql = |found: sql::SqlSource| LegacyDatabase {
            users: found.users,
            table: Some(found.table),
            entries: found.entries,
            ..LegacyDatabase::default()
        };
        match self {
            Self::Mongo(url) => mongo::read(url, map).await.map(|found| LegacyDatabase {
                users: found.users,
                apis: found.apis,
                records: found.records,
                ..LegacyDatabase::default()
            }),
            Self::JsonLines(path) => files::read_json_lines(path, map).map(users_only),
            Self::Csv(path) => files::read_csv(path, map).map(users_only),
            Self::Postgres(url) => sql::read_postgres(url, table, map).await.map(sql),
            Self::Sqlite(path) => sql::read_sqlite(path, table, map).map(sql),
        }
    }
}
