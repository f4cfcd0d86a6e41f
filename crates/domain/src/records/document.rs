//! Rules every record document keeps whatever its schema says, and JSON Merge Patch.

use serde_json::{Map, Value};

use crate::error::FieldViolation;

/// The largest record, as compact JSON text (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Appends one reference token to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn json_pointer(parent: &str, token: &str) -> String {
    format!("{parent}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// Every member name, at any depth, that starts with `$` or holds NUL: such names are refused
/// whatever the schema says (they are operators or terminators to many stores and tools).
pub fn check_field_names(document: &Value) -> Vec<FieldViolation> {
    fn walk(value: &Value, at: &str, found: &mut Vec<FieldViolation>) {
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    let pointer = json_pointer(at, name);
                    if name.starts_with('$') {
                        found.push(FieldViolation::new(
                            pointer.clone(),
                            "field names must not start with '$'",
                        ));
                    } else if name.contains('\0') {
                        found.push(FieldViolation::new(
                            pointer.clone(),
                            "field names must not contain NUL",
                        ));
                    }
                    walk(member, &pointer, found);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(document, "", &mut found);
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
        let fields: Vec<String> = check_field_names(&document)
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, vec!["/$set", "/a/b/0/$where", "/a/c\u{0}d"]);
        assert!(check_field_names(&json!({"price$": 1, "a": ["$x"]})).is_empty());
        assert_eq!(json_pointer("", "p/q~"), "/p~1q~0");
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
