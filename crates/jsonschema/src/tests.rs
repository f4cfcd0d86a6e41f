//! The adapter's own rules: drafts, meta-schema errors, no I/O, formats, bounded patterns.

use super::*;
use serde_json::json;

fn fields(result: Result<Validator, Vec<FieldViolation>>) -> Vec<String> {
    result
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.field)
        .collect()
}

#[test]
fn drafts_are_picked_by_schema_uri() {
    assert!(matches!(
        draft_of("http://json-schema.org/draft-04/schema#"),
        Some(Draft::Draft4)
    ));
    assert!(matches!(
        draft_of("https://json-schema.org/draft/2019-09/schema"),
        Some(Draft::Draft201909)
    ));
    assert!(draft_of("https://example.com/my-meta").is_none());
    assert_eq!(
        fields(compile(&json!({"$schema": "https://example.com/meta"}))),
        vec!["/$schema"]
    );
    // Draft 4's exclusiveMaximum is a boolean, 2020-12's a number.
    let draft4 = json!({"$schema": "http://json-schema.org/draft-04/schema#",
                        "maximum": 5, "exclusiveMaximum": true});
    assert!(compile(&draft4).is_ok());
    assert!(compile(&json!({"maximum": 5, "exclusiveMaximum": true})).is_err());
}

#[test]
fn meta_schema_violations_name_the_offending_part() {
    let schema = json!({"type": "object",
                        "properties": {"qty": {"type": "integr"}, "name": {"minLength": -1}}});
    let found = fields(compile(&schema));
    assert!(
        found.contains(&"/properties/qty/type".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"/properties/name/minLength".to_owned()),
        "{found:?}"
    );
}

#[test]
fn references_resolve_inside_the_schema_only() {
    let local = json!({"$defs": {"n": {"type": "integer"}},
                       "properties": {"a": {"$ref": "#/$defs/n"}}});
    let validator = compile(&local).expect("a local $ref compiles");
    assert!(!validator.is_valid(&json!({"a": "x"})));
    for outside in [
        json!({"$ref": "http://127.0.0.1:9/schema.json"}),
        json!({"$ref": "file:///etc/passwd"}),
        json!({"properties": {"a": {"$ref": "other.json#/x"}}}),
        json!({"$ref": "urn:unknown:thing"}),
    ] {
        let started = std::time::Instant::now();
        let errors = compile(&outside).expect_err("an outside $ref is refused");
        assert!(errors[0].message.contains("never fetches"), "{errors:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}

#[test]
fn format_asserts() {
    let validator = compile(&json!({"properties": {"email": {"format": "email"},
                                                   "when": {"format": "date-time"},
                                                   "x": {"format": "no-such-format"}}}))
    .expect("compiles");
    assert!(validator.is_valid(&json!({"email": "a@example.com", "when": "2026-01-01T00:00:00Z"})));
    assert!(!validator.is_valid(&json!({"email": "not an email"})));
    assert!(!validator.is_valid(&json!({"when": "yesterday"})));
    assert!(
        validator.is_valid(&json!({"x": "anything"})),
        "unknown formats only annotate"
    );
}

#[test]
fn patterns_are_bounded() {
    // Short to write, enormous once compiled: refused at creation, not at the first record.
    let explosive = json!({"pattern": "^(?:\\w{500}){500}$"});
    let errors = compile(&explosive).expect_err("refused");
    assert_eq!(errors[0].field, "/pattern", "{errors:?}");
    let evil = compile(&json!({"pattern": "^(a+)+$"})).expect("compiles");
    let started = std::time::Instant::now();
    let _ = evil.is_valid(&json!(format!("{}!", "a".repeat(5_000))));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn violations_are_json_pointers_into_the_document() {
    let schema = json!({"type": "object", "required": ["name"],
                        "properties": {"items": {"type": "array",
                                                 "items": {"type": "integer"}}}});
    let compiled = JsonSchemaValidator::default()
        .compile(&schema)
        .await
        .expect("compiles");
    let found: Vec<String> = compiled
        .violations(&json!({"items": [1, "two", 3.5]}))
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert!(
        found.contains(&String::new()),
        "missing `name` is the root's: {found:?}"
    );
    assert!(found.contains(&"/items/1".to_owned()), "{found:?}");
    assert!(found.contains(&"/items/2".to_owned()), "{found:?}");
    assert!(compiled.violations(&json!({"name": 1})).is_empty());
}

#[test]
fn big_numbers_are_compared_exactly() {
    let validator =
        compile(&json!({"properties": {"n": {"maximum": 18446744073709551616_u128 as f64}}}))
            .expect("compiles");
    let document: Value =
        serde_json::from_str(r#"{"n": 123456789012345678901234567890}"#).expect("json");
    assert!(!validator.is_valid(&document));
    let integer = compile(&json!({"properties": {"n": {"type": "integer"}}})).expect("compiles");
    assert!(integer.is_valid(&document));
}

#[tokio::test]
async fn backtracking_patterns_are_refused_at_creation_but_stored_ones_still_compile() {
    let lookaround = json!({"anyOf": [{"items": {"pattern": "^((?=a)a|a)+$"}}]});
    let validator = JsonSchemaValidator::default();
    let errors = validator
        .compile(&lookaround)
        .await
        .err()
        .expect("a lookaround is refused");
    assert!(
        errors.iter().any(|e| e.message.contains("lookaround")),
        "{errors:?}"
    );
    let backreference = json!({"pattern": "^(a)\\1$"});
    assert!(validator.compile(&backreference).await.is_err());
    // An API stored before the rule keeps working, its pattern under a low backtrack limit.
    let stored = validator
        .compile_stored(&lookaround)
        .await
        .expect("a stored schema compiles");
    assert!(stored.violations(&json!(["aaa"])).is_empty());
    let started = std::time::Instant::now();
    let many: Vec<String> = (0..1_000)
        .map(|i| format!("{}{i}", "a".repeat(30)))
        .collect();
    let _ = stored.violations(&json!(many));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn messages_never_quote_the_document() {
    let all_of: Vec<Value> = (0..100).map(|_| json!({"type": "array"})).collect();
    let compiled = JsonSchemaValidator::default()
        .compile(&json!({ "allOf": all_of }))
        .await
        .expect("compiles");
    let big = json!({ "text": "x".repeat(200_000) });
    let found = compiled
        .check(Arc::new(big), 200_010)
        .await
        .expect("checked");
    assert_eq!(found.len(), 100);
    let total: usize = found.iter().map(|v| v.message.len()).sum();
    assert!(total < 10_000, "{total} bytes of messages");
    assert!(!found[0].message.contains("xxx"), "{}", found[0].message);
}

#[tokio::test]
async fn a_document_past_its_budget_is_refused_with_a_clear_violation() {
    let validator = JsonSchemaValidator::new(ValidationLimits {
        concurrency: 1,
        budget: std::time::Duration::from_millis(1),
    });
    let items: Vec<Value> = (0..50).map(|i| json!({"minimum": i})).collect();
    let compiled = validator
        .compile(&json!({"items": {"allOf": items}}))
        .await
        .expect("compiles");
    let document = Arc::new(json!(vec![1_000; 200_000]));
    match compiled.check(document, 1_000_000).await {
        Err(Error::Validation(found)) => {
            assert!(found[0].message.contains("longer than 1 ms"), "{found:?}")
        }
        other => panic!("expected the budget's violation, got {other:?}"),
    }
}

#[tokio::test]
async fn small_documents_are_checked_inline_and_large_ones_within_the_budget() {
    let validator = JsonSchemaValidator::new(ValidationLimits {
        concurrency: 1,
        budget: std::time::Duration::from_secs(5),
    });
    let compiled = validator
        .compile(&json!({"properties": {"n": {"type": "integer"}}}))
        .await
        .expect("compiles");
    let small = compiled
        .check(Arc::new(json!({"n": "x"})), 9)
        .await
        .expect("checked");
    assert_eq!(small.len(), 1);
    let large = compiled
        .check(Arc::new(json!({"n": 1, "pad": "p".repeat(10_000)})), 10_020)
        .await
        .expect("checked");
    assert!(large.is_empty());
}
