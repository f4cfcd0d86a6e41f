//! JSON-lines and CSV exports.

use std::io::BufRead;
use std::path::Path;

use keygate_domain::import::LegacyUser;
use serde_json::{Map, Value};

use crate::fields::FieldMap;

fn open(path: &Path) -> Result<std::fs::File, String> {
    std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// One account per non-blank line, each a JSON object.
pub(crate) fn read_json_lines(path: &Path, map: &FieldMap) -> Result<Vec<LegacyUser>, String> {
    let mut users = Vec::new();
    for (number, line) in std::io::BufReader::new(open(path)?).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: line {}: {e}", path.display(), number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Map<String, Value> = serde_json::from_str(&line).map_err(|e| {
            format!(
                "{}: line {} is not a JSON object: {e}",
                path.display(),
                number + 1
            )
        })?;
        users.push(map.user(&record));
    }
    Ok(users)
}

/// One account per row after the header row.
pub(crate) fn read_csv(path: &Path, map: &FieldMap) -> Result<Vec<LegacyUser>, String> {
    let mut reader = csv::Reader::from_reader(open(path)?);
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let mut users = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        let record: Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.to_owned(), Value::String(value.to_owned())))
            .collect();
        users.push(map.user(&record));
    }
    Ok(users)
}
