//! The sources `keygate import` reads (§10): a MongoDB database (the `users` collection, as
//! the earlier systems 000 and 001 keep it), or a JSON-lines or CSV export. Field and column
//! names are found by those systems' conventions (`username`, `email`, `password`,
//! `password_hash`, …); `--map field=column` names others.
#![warn(missing_docs)]

mod fields;
mod files;
mod mongo;

pub use fields::FieldMap;

use keygate_domain::import::LegacyUser;

/// Where to read users from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `mongodb://…/<database>`: its `users` collection.
    Mongo(String),
    /// A `.jsonl` file: one JSON object per line.
    JsonLines(std::path::PathBuf),
    /// A `.csv` file with a header row.
    Csv(std::path::PathBuf),
}

impl Source {
    /// The source `--from` names; unsupported kinds say what is supported.
    pub fn parse(from: &str) -> Result<Self, String> {
        if from.starts_with("mongodb://") || from.starts_with("mongodb+srv://") {
            return Ok(Self::Mongo(from.to_owned()));
        }
        let path = std::path::PathBuf::from(from);
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => Ok(Self::JsonLines(path)),
            Some("csv") => Ok(Self::Csv(path)),
            _ => Err(format!(
                "cannot import from '{}': give a mongodb:// URL, a .jsonl or a .csv file \
                 (PostgreSQL and SQLite sources are not built yet)",
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
            Self::Mongo(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("mongodb", url));
                let host_and_path = rest.rsplit('@').next().unwrap_or(rest);
                let host_and_path = host_and_path.split('?').next().unwrap_or(host_and_path);
                format!("{scheme}://{host_and_path}")
            }
            Self::JsonLines(path) | Self::Csv(path) => path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        }
    }

    /// Every account of the source.
    pub async fn read(&self, map: &FieldMap) -> Result<Vec<LegacyUser>, String> {
        match self {
            Self::Mongo(url) => mongo::read(url, map).await,
            Self::JsonLines(path) => files::read_json_lines(path, map),
            Self::Csv(path) => files::read_csv(path, map),
        }
    }
}
