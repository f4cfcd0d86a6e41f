//! Rules for any JSON document Keygate stores, whichever aggregate holds it: how deep it may
//! nest, and how a place inside it is named (a JSON pointer).

use serde_json::Value;

/// The deepest nesting of arrays and objects a record or a data value may have. serde_json
/// reads at most 128 levels, and a stored document sits inside a row of its own: a limit well
/// under that keeps every stored document readable, whatever wraps it.
pub const MAX_DOCUMENT_DEPTH: usize = 64;

/// Appends one reference token to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn json_pointer(parent: &str, token: &str) -> String {
    format!("{parent}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// Whether `value` nests deeper than [`MAX_DOCUMENT_DEPTH`] levels of arrays and objects.
pub fn nests_too_deep(value: &Value) -> bool {
    fn deeper_than(value: &Value, allowed: usize) -> bool {
        let mut children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(members) => Box::new(members.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => return false,
        };
        allowed == 0 || children.any(|child| deeper_than(child, allowed - 1))
    }
    deeper_than(value, MAX_DOCUMENT_DEPTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_tilde_and_slash() {
        assert_eq!(json_pointer("", "a/b~c"), "/a~1b~0c");
        assert_eq!(json_pointer("/x", "0"), "/x/0");
    }

    #[test]
    fn depth_is_counted_in_arrays_and_objects() {
        let at_limit: Value = serde_json::from_str(&format!(
            "{}{}",
            "[".repeat(MAX_DOCUMENT_DEPTH),
            "]".repeat(MAX_DOCUMENT_DEPTH)
        ))
        .expect("json");
        assert!(!nests_too_deep(&at_limit));
        assert!(nests_too_deep(&json!({ "a": at_limit })));
        assert!(!nests_too_deep(&json!(1)));
    }
}
