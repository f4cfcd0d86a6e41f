//! Unit tests of a whole migration against a mocked source and in-memory accounts.

use std::hash::{Hash, Hasher};

use super::*;
use crate::crypto::{MockSecretGenerator, SecretDigest};
use crate::data::MockDataRepository;
use crate::error::Error;
use crate::import::{HashVerdict, LegacyDatabase, MockHashInspector, MockLegacySource};
use crate::test_support::{fixed_clock, MemoryUsers, Mocks};

/// A deterministic 64-hex digest, as SHA-256 hex looks.
fn hex_digest(text: &str) -> String {
    (0..4u8)
        .map(|i| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (text, i).hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

fn migration(users: Arc<MemoryUsers>) -> Migration {
    let mut hashes = MockHashInspector::new();
    hashes.expect_inspect().returning(|hash| {
        if hash.starts_with("$2b$") {
            HashVerdict::Usable("bcrypt")
        } else {
            HashVerdict::Unknown
        }
    });
    let mut secrets = MockSecretGenerator::new();
    secrets
        .expect_digest()
        .returning(|text| SecretDigest(hex_digest(text)));
    let clock = Arc::new(fixed_clock());
    Migration::new(
        ImportService::new(
            users.clone(),
            Arc::new(hashes),
            clock,
            crate::test_support::audit_trail().0,
        ),
        ContentImportService::new(
            Mocks::new().ports(),
            Arc::new(MockDataRepository::new()),
            users,
        ),
        Arc::new(secrets),
    )
}

fn user(source_id: &str, username: Option<&str>, email: Option<&str>) -> LegacyUser {
    LegacyUser {
        source_id: source_id.into(),
        username: username.map(str::to_owned),
        email: email.map(str::to_owned),
        password_hash: Some("$2b$12$abcdefghijklmnopqrstuv".into()),
        ..LegacyUser::default()
    }
}

fn source(identity: &str, table: Option<&str>, users: Vec<LegacyUser>) -> MockLegacySource {
    let mut source = MockLegacySource::new();
    let identity = identity.to_owned();
    source.expect_identity().returning(move || identity.clone());
    let database = LegacyDatabase {
        users,
        table: table.map(str::to_owned),
        ..LegacyDatabase::default()
    };
    source.expect_read().returning(move || Ok(database.clone()));
    source
}

fn outcome(report: &MigrationReport, name: &str) -> u64 {
    report.users.outcomes.get(name).copied().unwrap_or(0)
}

#[tokio::test]
async fn an_export_without_ids_imports_every_account_and_a_second_run_none() {
    let users = Arc::new(MemoryUsers::default());
    let run = migration(users.clone());
    let export = source(
        "users.jsonl",
        None,
        vec![
            user("", Some("alice"), Some("alice@example.com")),
            user("", Some("bob"), None),
            user("", None, Some("carol@example.com")),
        ],
    );
    let first = run.run(&export, false).await.expect("ran");
    assert_eq!(outcome(&first, "imported"), 3, "{:?}", first.users);
    assert_eq!(users.0.lock().expect("users").len(), 3);
    let second = run.run(&export, false).await.expect("ran");
    assert_eq!(
        outcome(&second, "already_imported"),
        3,
        "{:?}",
        second.users
    );
    assert_eq!(outcome(&second, "imported"), 0);
    assert_eq!(users.0.lock().expect("users").len(), 3);
}

#[tokio::test]
async fn two_rows_with_one_id_are_a_collision_not_a_re_import() {
    let users = Arc::new(MemoryUsers::default());
    let run = migration(users.clone());
    let export = source(
        "users.csv",
        None,
        vec![
            user("7", Some("alice"), None),
            user("7", Some("mallory"), None),
        ],
    );
    let report = run.run(&export, false).await.expect("ran");
    assert_eq!(outcome(&report, "imported"), 1);
    assert_eq!(outcome(&report, "skipped_duplicate_id"), 1);
    assert_eq!(
        report.users.skipped,
        vec![(
            "7".to_owned(),
            "another account of the source has the same id".to_owned()
        )]
    );
}

#[tokio::test]
async fn ids_as_object_ids_are_kept_and_numbers_are_derived_per_source_and_table() {
    let users = Arc::new(MemoryUsers::default());
    let run = migration(users.clone());
    let kept: Id = "6553f1000000000000000042".parse().expect("id");
    let report = run
        .run(
            &source(
                "postgresql://db.internal/app",
                Some("users"),
                vec![
                    user(kept.as_str(), Some("alice"), None),
                    user("1", Some("bob"), None),
                ],
            ),
            false,
        )
        .await
        .expect("ran");
    assert_eq!(report.source, "postgresql://db.internal/app#users");
    assert_eq!(report.accounts, 2);
    assert!(users.get(&kept).is_some());
    let bob = ImportService::account_id(
        "postgresql://db.internal/app#users",
        &user("1", Some("bob"), None),
        &|t: &str| hex_digest(t),
    );
    assert_ne!(bob, kept);
    assert_eq!(
        users
            .get(&bob)
            .and_then(|u| u.username)
            .map(|u| u.as_str().to_owned()),
        Some("bob".to_owned())
    );
    // The same number in another table is another account.
    let other = ImportService::account_id(
        "postgresql://db.internal/app#user",
        &user("1", Some("bob"), None),
        &|t: &str| hex_digest(t),
    );
    assert_ne!(bob, other);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_an_unreadable_source_says_why() {
    let users = Arc::new(MemoryUsers::default());
    let run = migration(users.clone());
    let report = run
        .run(
            &source("users.jsonl", None, vec![user("1", Some("alice"), None)]),
            true,
        )
        .await
        .expect("ran");
    assert!(report.dry_run);
    assert_eq!(outcome(&report, "imported"), 1);
    assert_eq!(report.users.formats.get("bcrypt"), Some(&1));
    assert!(users.0.lock().expect("users").is_empty());
    let json = report.to_json();
    assert_eq!(json["outcomes"]["imported"], 1);
    assert!(json.get("apis").is_none() && json.get("data").is_none());

    let mut broken = MockLegacySource::new();
    broken.expect_identity().returning(|| "users.csv".into());
    broken
        .expect_read()
        .returning(|| Err(Error::Unavailable("line 3: not CSV".into())));
    assert!(matches!(
        run.run(&broken, false).await,
        Err(Error::Unavailable(why)) if why == "line 3: not CSV"
    ));
}
