//! What a migration did, as the operator reads it.

use serde_json::{json, Value};

use super::accounts::ImportReport;
use super::content::ContentReport;

/// A migration's report: accounts, and the content sections the source had.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MigrationReport {
    /// The source, without any password.
    pub source: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Accounts the source held.
    pub accounts: usize,
    /// How long the run took, in seconds.
    pub seconds: f64,
    /// What happened to the accounts.
    pub users: ImportReport,
    /// What happened to APIs, keys, records and entries.
    pub content: ContentReport,
    /// Whether the source held APIs or records (their sections are shown).
    pub had_apis: bool,
    /// Whether the source held key-value entries (their section is shown).
    pub had_entries: bool,
}

/// The skipped items of a report, each with its reason.
fn skipped(report: &ImportReport) -> Vec<Value> {
    report
        .skipped
        .iter()
        .map(|(id, why)| json!({"source_id": id, "reason": why}))
        .collect()
}

fn section(report: &ImportReport) -> Value {
    json!({
        "outcomes": report.outcomes,
        "skipped": skipped(report),
    })
}

impl MigrationReport {
    /// The report as `keygate import` prints it.
    pub fn to_json(&self) -> Value {
        let seconds = self.seconds;
        let mut answer = json!({
            "source": self.source,
            "dry_run": self.dry_run,
            "accounts": self.accounts,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "per_second": if seconds > 0.0 { (self.accounts as f64 / seconds).round() } else { 0.0 },
            "outcomes": self.users.outcomes,
            "hash_formats": self.users.formats,
            "skipped": skipped(&self.users),
        });
        if self.had_apis {
            answer["apis"] = section(&self.content.apis);
            answer["api_keys"] = section(&self.content.keys);
            answer["records"] = section(&self.content.records);
            answer["renamed_apis"] = self
                .content
                .renamed
                .iter()
                .map(|(from, to)| json!({"from": from, "to": to}))
                .collect();
        }
        if self.had_entries {
            answer["data"] = section(&self.content.data);
        }
        answer
    }
}
