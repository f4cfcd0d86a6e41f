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

/// The meta-schemas Keygate accepts as `$schema` (docs/api.md).
const DRAFTS: &[&str] = &[
    "http://json-schema.org/draft-04/schema",
    "http://json-schema.org/draft-06/schema",
    "http://json-schema.org/draft-07/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
];

/// `reference` resolved against `base` (RFC 3986, as far as the suite's URIs need), without
/// its fragment.
fn resolve(base: &str, reference: &str) -> String {
    let reference = reference.split('#').next().unwrap_or_default();
    let base = base.split('#').next().unwrap_or_default();
    if reference.is_empty() {
        return base.to_owned();
    }
    if reference.contains(':') {
        return reference.to_owned();
    }
    if let Some(path) = reference.strip_prefix('/') {
        // scheme://authority, then the absolute path.
        let authority_end = base
            .find("://")
            .and_then(|at| base[at + 3..].find('/').map(|slash| at + 3 + slash))
            .unwrap_or(base.len());
        return format!("{}/{path}", &base[..authority_end]);
    }
    match base.rfind('/') {
        Some(slash) => format!("{}{reference}", &base[..=slash]),
        None => reference.to_owned(),
    }
}

/// Every document a schema's references need that is not inside it: walks the schema with
/// each subschema's base URI, collects the resources it embeds (`$id`) and the documents its
/// `$ref`, `$dynamicRef` and `$recursiveRef` point at, and keeps those of the latter that are
/// none of the former. A `$schema` other than the five drafts is an outside document too.
fn outside_documents(schema: &Value) -> Vec<String> {
    fn walk(value: &Value, base: &str, ids: &mut Vec<String>, refs: &mut Vec<String>) {
        match value {
            Value::Object(members) => {
                let mut base = base.to_owned();
                if let Some(Value::String(id)) = members.get("$id") {
                    base = resolve(&base, id);
                    ids.push(base.clone());
                }
                for keyword in ["$ref", "$dynamicRef", "$recursiveRef"] {
                    if let Some(Value::String(reference)) = members.get(keyword) {
                        refs.push(resolve(&base, reference));
                    }
                }
                for (name, child) in members {
                    // The values of these keywords are data, not schemas.
                    if !matches!(name.as_str(), "enum" | "const" | "examples" | "default") {
                        walk(child, &base, ids, refs);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, base, ids, refs);
                }
            }
            _ => {}
        }
    }
    let (mut ids, mut refs) = (vec![String::new()], Vec::new());
    walk(schema, "", &mut ids, &mut refs);
    let mut outside: Vec<String> = refs.into_iter().filter(|r| !ids.contains(r)).collect();
    if let Some(Value::String(meta)) = schema.get("$schema") {
        let meta = meta.trim_end_matches('#');
        if !DRAFTS.contains(&meta) {
            outside.push(meta.to_owned());
        }
    }
    outside
}

/// Why a case may disagree, by design (see docs/api.md), decided from the case itself.
fn explained(group: &Value, case: &Value) -> Option<&'static str> {
    let data_text = case["data"].to_string();
    if !outside_documents(&group["schema"]).is_empty() {
        return Some("refers to a document outside the schema: Keygate never fetches");
    }
    if data_text.contains("\"$") || data_text.contains("\\u0000") {
        return Some("field names starting with $ or holding NUL are refused");
    }
    None
}

#[test]
fn embedded_resources_are_inside_and_remote_ones_outside() {
    let embedded = json!({
        "$id": "http://example.com/root.json",
        "$ref": "item.json#/$defs/x",
        "$defs": {"item": {"$id": "item.json", "$defs": {"x": {"$ref": "#/$defs/y"}}}}
    });
    assert!(outside_documents(&embedded).is_empty());
    let nested_base = json!({
        "$id": "http://localhost:1234/draft2020-12/root",
        "$defs": {"a": {"$id": "folder/", "items": {"$ref": "folderInteger.json"}}}
    });
    assert_eq!(
        outside_documents(&nested_base),
        ["http://localhost:1234/draft2020-12/folder/folderInteger.json"]
    );
    let meta =
        json!({"$schema": "http://localhost:1234/draft2020-12/metaschema-no-validation.json"});
    assert_eq!(outside_documents(&meta).len(), 1);
    let plain = json!({"$schema": "http://json-schema.org/draft-07/schema#",
                       "$ref": "#/definitions/a"});
    assert!(outside_documents(&plain).is_empty());
    // A relative reference with no base at all names nothing inside.
    assert_eq!(
        outside_documents(&json!({"$ref": "other.json"})),
        ["other.json"]
    );
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
                } else if let Some(reason) = explained(&group, case) {
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
        let eligible = tally.agreed + tally.unexplained.len();
        println!(
            "  of the cases that need nothing outside their schema and send no $-named field: \
             {} of {eligible} ({:.1} %)",
            tally.agreed,
            100.0 * tally.agreed as f64 / eligible.max(1) as f64
        );
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
