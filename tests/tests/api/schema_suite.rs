//! The official JSON-Schema-Test-Suite (`../shared/conformance/JSON-Schema-Test-Suite`) run
//! through the product: each group's schema becomes an endpoint via `POST /create_api`, and
//! each case whose instance is an object is sent as a record. A valid instance must get 201,
//! an invalid one 400. Validation does not depend on the store, so this runs on the embedded
//! store only. The agreement per draft is recorded in docs/api.md; every disagreement must
//! be one the docs explain, so a regression fails here.

use std::path::PathBuf;

use keygate_tests::{Store, TestApp};
use serde_json::{json, Value};

fn suite_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/JSON-Schema-Test-Suite/tests");
    assert!(
        dir.is_dir(),
        "{} is missing: the shared conformance data must sit beside the repository",
        dir.display()
    );
    dir
}

/// Why a case may disagree, by design (see docs/api.md): the group or case description holds
/// one of these words.
fn explained(file: &str, group: &Value, case: &Value) -> Option<&'static str> {
    let schema_text = group["schema"].to_string();
    let data_text = case["data"].to_string();
    if std::env::var("SUITE_ALL").is_err()
        && (schema_text.contains("localhost:1234") || file == "refRemote.json")
    {
        return Some("remote reference: Keygate never fetches");
    }
    if data_text.contains("\"$") || data_text.contains("\\u0000") {
        return Some("field names starting with $ or holding NUL are refused");
    }
    None
}

struct Tally {
    agreed: usize,
    explained: usize,
    by_reason: std::collections::BTreeMap<&'static str, usize>,
    unexplained: Vec<String>,
}

fn run_draft(app: &TestApp, token: &str, draft: &str, schema_uri: &str) -> Tally {
    let mut tally = Tally {
        agreed: 0,
        explained: 0,
        by_reason: std::collections::BTreeMap::new(),
        unexplained: Vec::new(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite_dir().join(draft))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let groups: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for group in groups {
            let cases: Vec<&Value> = group["tests"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|case| case["data"].is_object())
                .collect();
            if cases.is_empty() {
                continue;
            }
            let mut schema = group["schema"].clone();
            if let Some(object) = schema.as_object_mut() {
                object
                    .entry("$schema")
                    .or_insert_with(|| Value::from(schema_uri));
            }
            let created = app.json(
                "POST",
                "/create_api",
                Some(token),
                &json!({"api_name": "suite", "endpoints": ["case"],
                        "json_schema": {"case": schema}}),
            );
            let api = (created.status == 201).then(|| created.str("api_name").to_owned());
            for case in cases {
                let expected = case["valid"].as_bool().unwrap();
                let got = match &api {
                    Some(api) => {
                        let reply = app.json(
                            "POST",
                            &format!("/api/{api}/case"),
                            Some(token),
                            &case["data"],
                        );
                        assert!(
                            reply.status == 201 || reply.status == 400,
                            "{file} / {}: {}",
                            group["description"],
                            reply.text
                        );
                        Some(reply.status == 201)
                    }
                    None => None,
                };
                if got == Some(expected) {
                    tally.agreed += 1;
                } else if let Some(reason) = explained(&file, &group, case) {
                    tally.explained += 1;
                    *tally.by_reason.entry(reason).or_default() += 1;
                } else {
                    tally.unexplained.push(format!(
                        "{draft}/{file}: {} / {} (valid: {expected}, created: {}, got: {got:?})",
                        group["description"], case["description"], created.status
                    ));
                }
            }
        }
    }
    tally
}

#[test]
fn the_official_suite_agrees_through_create_api_and_record_posts() {
    // One API per group of the suite, all of one account: far more than an account's default.
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__LIMITS__MAX_APIS_PER_ACCOUNT", "100000")],
    );
    let (_, token, _) = app.signed_up_user();
    let mut unexplained = Vec::new();
    for (draft, uri) in [
        (
            "draft2020-12",
            "https://json-schema.org/draft/2020-12/schema",
        ),
        ("draft7", "http://json-schema.org/draft-07/schema#"),
    ] {
        let tally = run_draft(&app, &token, draft, uri);
        let total = tally.agreed + tally.explained + tally.unexplained.len();
        println!(
            "JSON-Schema-Test-Suite {draft}: {} of {total} object cases agree ({:.1} %), \
             {} differ by design, {} unexplained",
            tally.agreed,
            100.0 * tally.agreed as f64 / total as f64,
            tally.explained,
            tally.unexplained.len()
        );
        for (reason, count) in &tally.by_reason {
            println!("  {count} × {reason}");
        }
        assert!(total > 250, "{draft}: only {total} cases found");
        unexplained.extend(tally.unexplained);
    }
    assert!(
        unexplained.is_empty(),
        "{} cases disagree without a documented reason:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}
