//! Rules every record document keeps whatever its schema says, and JSON Merge Patch.

use serde_json::{Map, Value};

use crate::error::{FieldViolation, MAX_FIELD_BYTES, MAX_VIOLATIONS};
use crate::json::{json_pointer, MAX_DOCUMENT_DEPTH};

/// The largest record, as compact JSON text (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The most top-level fields a record may have: each top-level scalar is an entry of the
/// filter index on MongoDB, which makes a record of tens of thousands slow to insert.
pub const MAX_TOP_LEVEL_FIELDS: usize = 1_000;

/// One step of the path from a document's root to a value.
enum Step<'a> {
    Member(&'a str),
    Item(usize),
}

/// The JSON pointer of `path`, built only for a violation, and cut short once it is longer
/// than any violation may carry.
fn pointer(path: &[Step<'_>]) -> String {
    let mut text = String::new();
    for step in path {
        if text.len() > MAX_FIELD_BYTES {
            break;
        }
        text = match step {
            Step::Member(name) => json_pointer(&text, name),
            Step::Item(index) => format!("{text}/{index}"),
        };
    }
    text
}

/// The rules every stored document keeps whatever its schema says: no member name, at any
/// depth, starts with `$` or holds NUL (they are operators or terminators to many stores and
/// tools), and nothing nests deeper than [`MAX_DOCUMENT_DEPTH`]. Returns at most
/// [`MAX_VIOLATIONS`] violations. One walk over the document with one path stack: the work is
/// linear in its size, and a pointer is built only for a violation.
pub fn check_document(document: &Value) -> Vec<FieldViolation> {
    fn walk<'a>(
        value: &'a Value,
        path: &mut Vec<Step<'a>>,
        depth: usize,
        found: &mut Vec<FieldViolation>,
    ) {
        if found.len() >= MAX_VIOLATIONS {
            return;
        }
        let nested = matches!(value, Value::Object(_) | Value::Array(_));
        if nested && depth >= MAX_DOCUMENT_DEPTH {
            found.push(FieldViolation::new(
                pointer(path),
                format!("nests deeper than {MAX_DOCUMENT_DEPTH} levels of arrays and objects"),
            ));
            return;
        }
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    if found.len() >= MAX_VIOLATIONS {
                        return;
                    }
                    path.push(Step::Member(name));
                    if name.starts_with('$') {
                        found.push(FieldViolation::new(
                            pointer(path),
                            "field names must not start with '$'",
                        ));
                    } else if name.contains('\0') {
                        found.push(FieldViolation::new(
                            pointer(path),
                            "field names must not contain NUL",
                        ));
                    }
                    walk(member, path, depth + 1, found);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(Step::Item(index));
                    walk(item, path, depth + 1, found);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(document, &mut Vec::new(), 0, &mut found);
    found
}

/// Applies an RFC 7396 JSON Merge Patch to `target`: members of an object patch are merged
/// recursively, `null` removes a member, anything else replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(members) = target {
        for (name, change) in patch {
            if change.is_null() {
                members.shift_remove(name);
            } else {
                merge_patch(members.entry(name.clone()).or_insert(Value::Null), change);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forbidden_names_are_found_at_any_depth() {
        let document = json!({
            "ok": 1,
            "$set": 1,
            "a": {"b": [{"$where": 1}], "c\u{0}d": 2, "x$": 3},
            "p/q": {"~$": 1}
        });
        let fields: Vec<String> = check_document(&document)
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, vec!["/$set", "/a/b/0/$where", "/a/c\u{0}d"]);
        assert!(check_document(&json!({"price$": 1, "a": ["$x"]})).is_empty());
        assert_eq!(json_pointer("", "p/q~"), "/p~1q~0");
    }

    #[test]
    fn violations_are_capped_and_pointers_cut_short() {
        let parent = "p".repeat(20_000);
        let children: serde_json::Map<String, Value> =
            (0..5_000).map(|i| (format!("${i}"), json!(1))).collect();
        let found = check_document(&json!({ parent.clone(): children }));
        assert_eq!(found.len(), MAX_VIOLATIONS);
        assert!(found.iter().all(|v| v.field.len() <= MAX_FIELD_BYTES));
        assert!(found[0].field.starts_with("/ppp"), "{}", found[0].field);
    }

    #[test]
    fn documents_deeper_than_the_limit_are_refused_once() {
        let at_limit = serde_json::from_str::<Value>(&format!(
            "{}{}",
            "[".repeat(MAX_DOCUMENT_DEPTH),
            "]".repeat(MAX_DOCUMENT_DEPTH)
        ))
        .expect("json");
        assert!(check_document(&at_limit).is_empty());
        let deeper = json!({ "a": at_limit });
        let found = check_document(&deeper);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("deeper"), "{found:?}");
    }

    #[test]
    fn a_huge_valid_document_is_walked_in_linear_time() {
        // A 500 KB name over 260 000 items: a pointer per item would copy 130 GB.
        let name = "n".repeat(500_000);
        assert!(check_document(&json!({ name: vec![0; 260_000] })).is_empty());
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The examples of RFC 7396, appendix A (a selection).
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn merge_patch_keeps_member_order() {
        let mut target = json!({"a": 1, "b": 2, "c": 3});
        merge_patch(&mut target, &json!({"a": null, "b": 5}));
        assert_eq!(target.to_string(), r#"{"b":5,"c":3}"#);
    }
}
