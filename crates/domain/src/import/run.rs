//! A whole migration: accounts first (their ids decide who owns the rest), then APIs with
//! their keys, their records, and key-value entries; each kind written 64 at a time so that
//! the durable writes share commits.

use std::sync::Arc;

use futures_util::future::join_all;

use super::accounts::{ImportReport, ImportService, LegacyUser};
use super::content::{ContentImportService, ContentReport};
use super::owners::OwnerIndex;
use super::ports::LegacySource;
use super::report::MigrationReport;
use crate::crypto::SecretGenerator;
use crate::error::Result;
use crate::id::Id;

/// How many items are written at once.
const CONCURRENCY: usize = 64;

/// Moves everything a [`LegacySource`] holds into Keygate's stores.
pub struct Migration {
    accounts: ImportService,
    content: ContentImportService,
    secrets: Arc<dyn SecretGenerator>,
}

/// Runs `work` over `items` in [`CONCURRENCY`] parts at once, merging their reports.
async fn in_parts<'a, T, F, Fut>(items: &'a [T], work: F) -> Result<ImportReport>
where
    F: Fn(&'a [T]) -> Fut,
    Fut: std::future::Future<Output = Result<ImportReport>>,
{
    let size = items.len().div_ceil(CONCURRENCY).max(1);
    let mut report = ImportReport::default();
    for part in join_all(items.chunks(size).map(work)).await {
        report.merge(part?);
    }
    Ok(report)
}

impl Migration {
    /// Over the account and content import services; ids are derived with `secrets`'s
    /// digest.
    pub fn new(
        accounts: ImportService,
        content: ContentImportService,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            accounts,
            content,
            secrets,
        }
    }

    /// `source_id` if it is 24-hex, else an id derived from `seed` and it: the same on every
    /// run.
    fn id_for(&self, seed: &str, source_id: &str) -> Id {
        let digest = |text: &str| self.secrets.digest(text).as_str().to_owned();
        ImportService::kept_or_derived_id(seed, source_id, &digest)
    }

    /// Reads `source` and imports what it holds; with `dry_run`, only says what it would do.
    pub async fn run(&self, source: &dyn LegacySource, dry_run: bool) -> Result<MigrationReport> {
        let started = std::time::Instant::now();
        let found = source.read().await?;
        let identity = match &found.table {
            Some(table) => format!("{}#{table}", source.identity()),
            None => source.identity(),
        };
        let users: Vec<(Id, LegacyUser)> = found
            .users
            .iter()
            .map(|user| {
                let digest = |text: &str| self.secrets.digest(text).as_str().to_owned();
                (
                    ImportService::account_id(&identity, user, &digest),
                    user.clone(),
                )
            })
            .collect();
        let owners = OwnerIndex::new(&users);
        let accounts = in_parts(&users, |part| self.accounts.import(part, dry_run)).await?;

        let mut content = ContentReport::default();
        let apis: Vec<_> = found
            .apis
            .iter()
            .map(|owned| {
                let mut api = owned.item.clone();
                api.owner_id = owners.resolve(&owned.owner);
                let id = self.id_for(&format!("{identity}#apis"), &api.source_id);
                (id, api)
            })
            .collect();
        let imported_apis = self
            .content
            .import_apis(&apis, dry_run, &mut content)
            .await?;
        let records: Vec<_> = found
            .records
            .iter()
            .map(|record| {
                let seed = format!(
                    "{identity}#records#{}#{}",
                    record.api_source_id, record.endpoint
                );
                (self.id_for(&seed, &record.source_id), record.clone())
            })
            .collect();
        content.records = in_parts(&records, |part| {
            self.content.import_records(&imported_apis, part, dry_run)
        })
        .await?;
        let entries: Vec<_> = found
            .entries
            .iter()
            .map(|owned| {
                let mut entry = owned.item.clone();
                entry.owner_id = owners.resolve(&owned.owner);
                entry
            })
            .collect();
        content.data =
            in_parts(&entries, |part| self.content.import_entries(part, dry_run)).await?;

        Ok(MigrationReport {
            source: identity,
            dry_run,
            accounts: users.len(),
            seconds: started.elapsed().as_secs_f64(),
            users: accounts,
            content,
            had_apis: !found.apis.is_empty() || !found.records.is_empty(),
            had_entries: !found.entries.is_empty(),
        })
    }
}

#[cfg(test)]
mod tests;
