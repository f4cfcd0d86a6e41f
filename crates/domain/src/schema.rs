//! The JSON Schema port: compile a schema for its draft, validate documents against it, and
//! report every violation as a JSON pointer. The adapter (`keygate-jsonschema`) never fetches
//! anything: a `$ref` can only point inside the schema it belongs to.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{FieldViolation, Result};

/// The largest schema Keygate compiles, as compact JSON text. Bounds the work one request can
/// ask of the compiler (10 000 properties do not fit).
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// The deepest nesting of arrays and objects a schema may have.
pub const MAX_SCHEMA_DEPTH: usize = 32;

/// A compiled schema, ready to validate documents. Cheap to share between threads.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CompiledSchema: Send + Sync {
    /// Every rule `document` breaks, each named by the JSON pointer of the offending value
    /// inside `document` (`""` for the document itself); empty when it is valid. Runs on the
    /// caller's thread, unbounded: for trusted documents and tests.
    fn violations(&self, document: &Value) -> Vec<FieldViolation>;

    /// The same check for a request's document of `size` bytes of JSON text, away from the
    /// threads that serve requests (but for documents too small to cost anything), with a
    /// bounded number running at once and a time budget: past the budget the answer is a
    /// `Validation` error saying so; `Overloaded` if no slot frees up within it.
    async fn check(&self, document: Arc<Value>, size: usize) -> Result<Vec<FieldViolation>>;
}

/// Compiles JSON Schemas (drafts 4, 6, 7, 2019-09 and 2020-12, picked by `$schema`; 2020-12
/// when absent).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SchemaValidator: Send + Sync {
    /// The compiled `schema`, or every reason it is not a schema Keygate accepts (invalid for
    /// its meta-schema, an unknown `$schema`, a reference outside itself, a pattern too large
    /// …), each named by the JSON pointer of the offending part inside `schema`.
    async fn compile(&self, schema: &Value)
        -> Result<Arc<dyn CompiledSchema>, Vec<FieldViolation>>;

    /// Compiles a schema that was accepted when its API was stored. Schemas accepted before
    /// Keygate refused backtracking patterns (lookaround, backreferences) still compile,
    /// their patterns matched with a low backtracking limit.
    async fn compile_stored(
        &self,
        schema: &Value,
    ) -> Result<Arc<dyn CompiledSchema>, Vec<FieldViolation>>;
}

/// Checks the size and nesting bounds every schema must keep before it is compiled.
pub fn check_bounds(schema: &Value) -> Result<(), FieldViolation> {
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let size = serde_json::to_vec(schema).map_or(usize::MAX, |text| text.len());
    if size > MAX_SCHEMA_BYTES {
        return Err(FieldViolation::new(
            "",
            format!("schema is {size} bytes; at most {MAX_SCHEMA_BYTES} are accepted"),
        ));
    }
    if depth(schema) > MAX_SCHEMA_DEPTH {
        return Err(FieldViolation::new(
            "",
            format!("schema nests deeper than {MAX_SCHEMA_DEPTH} levels"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounds_refuse_huge_and_deep_schemas() {
        assert!(check_bounds(&json!({"type": "object"})).is_ok());
        let mut properties = serde_json::Map::new();
        for i in 0..10_000 {
            properties.insert(format!("p{i}"), json!({"type": "string"}));
        }
        assert!(check_bounds(&json!({ "properties": properties })).is_err());
        let mut deep = json!({});
        for _ in 0..40 {
            deep = json!({ "not": deep });
        }
        assert!(check_bounds(&deep).is_err());
    }
}
