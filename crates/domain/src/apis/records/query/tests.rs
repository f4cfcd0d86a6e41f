use serde_json::{json, Value};

use super::*;
use crate::apis::records::{missing_key, value_key};

fn query(pairs: &[(&str, &str)]) -> Result<RecordQuery> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    RecordQuery::parse(&pairs)
}

/// Whether the document satisfies the query given as pairs.
fn matches(pairs: &[(&str, &str)], document: Value) -> bool {
    let query = query(pairs).expect("a query");
    query.matches(|field| document.get(field).map_or_else(missing_key, value_key))
}

#[test]
fn equality_reads_the_text_every_way_it_can_be_meant() {
    assert!(matches(&[("qty", "5")], json!({"qty": 5})));
    assert!(matches(&[("qty", "5")], json!({"qty": 5.0})));
    assert!(matches(&[("qty", "5")], json!({"qty": "5"})));
    assert!(matches(&[("qty", "5.0")], json!({"qty": 5})));
    assert!(!matches(&[("qty", "5")], json!({"qty": [5]})));
    assert!(!matches(&[("qty", "5")], json!({"other": 5})));
    assert!(matches(&[("done", "true")], json!({"done": true})));
    assert!(matches(&[("done", "true")], json!({"done": "true"})));
    assert!(matches(&[("gone", "null")], json!({"gone": null})));
    assert!(matches(&[("qty[eq]", "5")], json!({"qty": 5})));
    // Exact big integers: 2^64 + 1 is not 2^64.
    assert!(matches(
        &[("big", "18446744073709551617")],
        json!({"big": 18446744073709551617_u128})
    ));
    assert!(!matches(
        &[("big", "18446744073709551616")],
        json!({"big": 18446744073709551617_u128})
    ));
    // Not JSON numbers: only the string.
    assert!(!matches(&[("n", "+5")], json!({"n": 5})));
    assert!(!matches(&[("n", "05")], json!({"n": 5})));
}

#[test]
fn ranges_compare_numbers_with_numbers_and_strings_with_strings() {
    assert!(matches(&[("n[gt]", "5")], json!({"n": 6})));
    assert!(!matches(&[("n[gt]", "5")], json!({"n": 5})));
    assert!(matches(&[("n[gte]", "5")], json!({"n": 5.0})));
    assert!(matches(&[("n[lt]", "10")], json!({"n": 9.99})));
    assert!(matches(&[("n[lte]", "-1")], json!({"n": -1e0})));
    // 10 > 9 as numbers, "10" < "9" as strings: each kind compares as itself.
    assert!(matches(&[("n[gt]", "9")], json!({"n": 10})));
    assert!(!matches(&[("n[gt]", "9")], json!({"n": "10"})));
    assert!(matches(&[("s[gt]", "apple")], json!({"s": "banana"})));
    assert!(!matches(&[("s[gt]", "apple")], json!({"s": 7})));
    assert!(matches(&[("s[lt]", "é")], json!({"s": "z"})));
    // Booleans, null, objects and missing fields are never in a range.
    for other in [json!(true), json!(null), json!({"a": 1}), json!([1])] {
        assert!(
            !matches(&[("n[gte]", "0")], json!({ "n": other })),
            "{other}"
        );
        assert!(
            !matches(&[("n[lte]", "zzz")], json!({ "n": other })),
            "{other}"
        );
    }
    assert!(!matches(&[("n[gte]", "0")], json!({})));
    // Two bounds on one field intersect.
    assert!(matches(&[("n[gt]", "1"), ("n[lt]", "3")], json!({"n": 2})));
    assert!(!matches(&[("n[gt]", "1"), ("n[lt]", "3")], json!({"n": 3})));
    assert!(!matches(&[("n[gt]", "3"), ("n[lt]", "1")], json!({"n": 2})));
}

#[test]
fn ne_in_and_exists() {
    assert!(matches(&[("n[ne]", "5")], json!({"n": 6})));
    assert!(!matches(&[("n[ne]", "5")], json!({"n": 5})));
    assert!(!matches(&[("n[ne]", "5")], json!({"n": "5"})));
    assert!(
        matches(&[("n[ne]", "5")], json!({})),
        "ne matches a missing field"
    );
    assert!(matches(&[("n[ne]", "5")], json!({"n": [5]})));
    assert!(matches(&[("c[in]", "red,blue")], json!({"c": "blue"})));
    assert!(matches(&[("c[in]", "1,2")], json!({"c": 2})));
    assert!(!matches(&[("c[in]", "red,blue")], json!({"c": "green"})));
    assert!(matches(&[("c[exists]", "true")], json!({"c": null})));
    assert!(matches(&[("c[exists]", "true")], json!({"c": {"x": 1}})));
    assert!(!matches(&[("c[exists]", "true")], json!({})));
    assert!(matches(&[("c[exists]", "false")], json!({})));
    assert!(!matches(&[("c[exists]", "false")], json!({"c": 0})));
    assert!(matches(
        &[("a", "1"), ("b[exists]", "false")],
        json!({"a": 1})
    ));
    assert!(!matches(
        &[("a", "1"), ("b[exists]", "false")],
        json!({"a": 1, "b": 2})
    ));
}

#[test]
fn sort_projection_and_count_are_read() {
    let q = query(&[
        ("sort", "-n"),
        ("fields", "a,b"),
        ("count", "true"),
        ("limit", "5"),
    ])
    .expect("a query");
    assert_eq!(
        q.sort(),
        Some(&SortOrder {
            field: "n".into(),
            descending: true
        })
    );
    assert_eq!(q.fields(), Some(&["a".to_owned(), "b".to_owned()][..]));
    assert!(q.wants_count());
    assert!(q.conditions().is_empty());
}

#[test]
fn bad_queries_are_refused_with_every_reason() {
    let Err(Error::Validation(violations)) = query(&[
        ("n[like]", "5"),
        ("$where", "1"),
        ("x[exists]", "maybe"),
        ("sort", "-"),
        ("count", "yes"),
        ("fields", "a,,b"),
    ]) else {
        panic!("refused")
    };
    assert_eq!(violations.len(), 6, "{violations:?}");
    let many: Vec<(String, String)> = (0..=MAX_CONDITIONS)
        .map(|i| (format!("f{i}"), "1".to_owned()))
        .collect();
    assert!(RecordQuery::parse(&many).is_err());
    let list = vec!["v"; MAX_IN_VALUES + 1].join(",");
    assert!(query(&[("c[in]", &list)]).is_err());
}
