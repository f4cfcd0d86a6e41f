//! Keygate's JSON Schema adapter: the domain's [`SchemaValidator`] port on the `jsonschema`
//! crate, built without its HTTP and file resolvers and with an offline retriever, so a
//! schema can never make Keygate fetch anything: a `$ref` resolves inside the schema or not
//! at all.
//!
//! Choices it makes for every API:
//! - the draft comes from `$schema` (draft 4, 6, 7, 2019-09, 2020-12), 2020-12 when absent;
//!   any other `$schema` is refused;
//! - every schema is checked against its draft's meta-schema, and every violation reported;
//! - `format` asserts (an `"format": "email"` field must hold an email address) in every
//!   draft; unknown formats are ignored, as the specifications ask;
//! - `pattern` uses an ECMA-262-like engine with bounded compiled size and backtracking, so
//!   no pattern can hang a worker.
//!
//! Depends on `keygate-domain` only.
#![warn(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, PatternOptions, ValidationError, Validator};
use keygate_domain::schema::{CompiledSchema, SchemaValidator};
use keygate_domain::FieldViolation;
use serde_json::Value;

/// The most violations reported for one document: enough to fix it, never a flood.
const MAX_VIOLATIONS: usize = 100;
/// Bound on one compiled `pattern` (bytes of compiled program).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// Bound on the backtracking of one pattern match.
const PATTERN_BACKTRACK_LIMIT: usize = 100_000;

/// The `jsonschema` adapter of the [`SchemaValidator`] port.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonSchemaValidator;

/// The draft a `$schema` URI names; `None` for a URI Keygate does not accept.
pub fn draft_of(uri: &str) -> Option<Draft> {
    let uri = uri.trim_end_matches('#');
    let uri = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    match uri {
        "json-schema.org/draft-04/schema" => Some(Draft::Draft4),
        "json-schema.org/draft-06/schema" => Some(Draft::Draft6),
        "json-schema.org/draft-07/schema" => Some(Draft::Draft7),
        "json-schema.org/draft/2019-09/schema" => Some(Draft::Draft201909),
        "json-schema.org/draft/2020-12/schema" => Some(Draft::Draft202012),
        _ => None,
    }
}

fn violation(error: &ValidationError<'_>) -> FieldViolation {
    FieldViolation {
        field: error.instance_path().as_str().to_owned(),
        message: error.to_string(),
    }
}

/// Compiles `schema`, or says why it cannot be: runs on the caller's thread.
pub fn compile(schema: &Value) -> Result<Validator, Vec<FieldViolation>> {
    let draft = match schema.get("$schema") {
        None => Draft::Draft202012,
        Some(Value::String(uri)) => draft_of(uri).ok_or_else(|| {
            vec![FieldViolation {
                field: "/$schema".into(),
                message: "must name draft 4, 6, 7, 2019-09 or 2020-12 of JSON Schema".into(),
            }]
        })?,
        Some(_) => {
            return Err(vec![FieldViolation {
                field: "/$schema".into(),
                message: "must be a string".into(),
            }])
        }
    };
    let meta = match draft {
        Draft::Draft4 => jsonschema::draft4::meta::validator(),
        Draft::Draft6 => jsonschema::draft6::meta::validator(),
        Draft::Draft7 => jsonschema::draft7::meta::validator(),
        Draft::Draft201909 => jsonschema::draft201909::meta::validator(),
        _ => jsonschema::draft202012::meta::validator(),
    };
    let found: Vec<FieldViolation> = meta
        .iter_errors(schema)
        .take(MAX_VIOLATIONS)
        .map(|e| violation(&e))
        .collect();
    if !found.is_empty() {
        return Err(found);
    }
    jsonschema::options()
        .with_draft(draft)
        .offline()
        .should_validate_formats(true)
        .with_pattern_options(
            PatternOptions::fancy_regex()
                .size_limit(PATTERN_SIZE_LIMIT)
                .dfa_size_limit(PATTERN_SIZE_LIMIT)
                .backtrack_limit(PATTERN_BACKTRACK_LIMIT),
        )
        .build(schema)
        .map_err(|error| {
            let message = match error.kind() {
                ValidationErrorKind::Referencing(cause) => format!(
                    "refers to a document outside this schema ({cause}); Keygate never fetches \
                     references: inline the definition under $defs instead"
                ),
                _ => format!("cannot be compiled: {error}"),
            };
            vec![FieldViolation {
                field: error.instance_path().as_str().to_owned(),
                message,
            }]
        })
}

struct Compiled(Validator);

impl CompiledSchema for Compiled {
    fn violations(&self, document: &Value) -> Vec<FieldViolation> {
        self.0
            .iter_errors(document)
            .take(MAX_VIOLATIONS)
            .map(|e| violation(&e))
            .collect()
    }
}

#[async_trait]
impl SchemaValidator for JsonSchemaValidator {
    async fn compile(
        &self,
        schema: &Value,
    ) -> Result<Arc<dyn CompiledSchema>, Vec<FieldViolation>> {
        // Compiling builds regexes and walks the whole schema: keep it off the async workers.
        let schema = schema.clone();
        let compiled = tokio::task::spawn_blocking(move || compile(&schema))
            .await
            .map_err(|_| {
                vec![FieldViolation {
                    field: String::new(),
                    message: "the schema could not be compiled".into(),
                }]
            })??;
        Ok(Arc::new(Compiled(compiled)))
    }
}

#[cfg(test)]
mod tests;
