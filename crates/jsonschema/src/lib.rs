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
//! - `pattern` uses the `regex` engine, whose matching time is linear in the input: a pattern
//!   with lookaround or a backreference (which only a backtracking engine can run, in time
//!   exponential in the input) is refused when an API is created or changed. Schemas stored
//!   before that rule still compile, their patterns run by `fancy-regex` with a low
//!   backtracking limit;
//! - documents are validated on the blocking pool, at most [`ValidationLimits::concurrency`]
//!   at once and each within [`ValidationLimits::budget`], so no record can hold a request
//!   worker, and past the budget its writer gets a clear 400.
//!
//! Depends on `keygate-domain` only.
#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, PatternOptions, ValidationError, ValidationOptions, Validator};
use keygate_domain::error::MAX_VIOLATIONS;
use keygate_domain::schema::{CompiledSchema, SchemaValidator};
use keygate_domain::{Error, FieldViolation};
use serde_json::Value;
use tokio::sync::Semaphore;

/// Documents up to this size are validated on the caller's thread: their cost, bounded by
/// their size times the (bounded) schema, is a fraction of a thread hop's.
const INLINE_DOCUMENT_BYTES: usize = 1024;
/// Bound on one compiled `pattern` (bytes of compiled program).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// Bound on the backtracking of one match of a stored schema's backtracking pattern.
const LEGACY_BACKTRACK_LIMIT: usize = 10_000;

/// How much validation may run at once, and for how long one document may take
/// (`records.validation_concurrency` and `records.validation_budget_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ValidationLimits {
    /// Documents validated at once; more wait for a slot (within their budget).
    #[serde(
        rename = "validation_concurrency",
        deserialize_with = "keygate_domain::units::at_least_one"
    )]
    pub concurrency: usize,
    /// The longest one document may take, waiting for a slot included.
    #[serde(
        rename = "validation_budget_ms",
        deserialize_with = "keygate_domain::units::std_millis",
        serialize_with = "keygate_domain::units::write_std_millis"
    )]
    pub budget: Duration,
}

impl Default for ValidationLimits {
    /// One validation per core but one, so that validation never takes every core from the
    /// request workers; a 2 s budget.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            concurrency: cores.saturating_sub(1).max(1),
            budget: Duration::from_secs(2),
        }
    }
}

/// The `jsonschema` adapter of the [`SchemaValidator`] port.
#[derive(Debug, Clone)]
pub struct JsonSchemaValidator {
    slots: Arc<Semaphore>,
    budget: Duration,
}

impl Default for JsonSchemaValidator {
    fn default() -> Self {
        Self::new(ValidationLimits::default())
    }
}

impl JsonSchemaValidator {
    /// A validator whose documents are checked within `limits`.
    pub fn new(limits: ValidationLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            budget: limits.budget,
        }
    }
}

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

/// A violation in words that never quote the offending value: a message that printed it
/// would be as large as the document, once per violation.
fn violation(error: &ValidationError<'_>) -> FieldViolation {
    FieldViolation::new(error.instance_path().as_str(), error.masked().to_string())
}

/// Which pattern engine a schema's `pattern`s get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Patterns {
    /// Linear-time matching; backtracking constructs are refused.
    Linear,
    /// Backtracking allowed, under [`LEGACY_BACKTRACK_LIMIT`]: schemas stored before the rule.
    Legacy,
}

fn with_patterns(options: ValidationOptions, patterns: Patterns) -> ValidationOptions {
    match patterns {
        Patterns::Linear => options.with_pattern_options(
            PatternOptions::regex()
                .size_limit(PATTERN_SIZE_LIMIT)
                .dfa_size_limit(PATTERN_SIZE_LIMIT),
        ),
        Patterns::Legacy => options.with_pattern_options(
            PatternOptions::fancy_regex()
                .size_limit(PATTERN_SIZE_LIMIT)
                .dfa_size_limit(PATTERN_SIZE_LIMIT)
                .backtrack_limit(LEGACY_BACKTRACK_LIMIT),
        ),
    }
}

/// Compiles `schema`, or says why it cannot be: runs on the caller's thread.
pub fn compile(schema: &Value) -> Result<Validator, Vec<FieldViolation>> {
    compile_with(schema, Patterns::Linear)
}

fn compile_with(schema: &Value, patterns: Patterns) -> Result<Validator, Vec<FieldViolation>> {
    let draft = match schema.get("$schema") {
        None => Draft::Draft202012,
        Some(Value::String(uri)) => draft_of(uri).ok_or_else(|| {
            vec![FieldViolation::new(
                "/$schema",
                "must name draft 4, 6, 7, 2019-09 or 2020-12 of JSON Schema",
            )]
        })?,
        Some(_) => return Err(vec![FieldViolation::new("/$schema", "must be a string")]),
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
    let options = jsonschema::options()
        .with_draft(draft)
        .offline()
        .should_validate_formats(true);
    with_patterns(options, patterns)
        .build(schema)
        .map_err(|error| {
            let message = match error.kind() {
                ValidationErrorKind::Referencing(cause) => format!(
                    "refers to a document outside this schema ({cause}); Keygate never fetches \
                     references: inline the definition under $defs instead"
                ),
                ValidationErrorKind::Format { .. } | ValidationErrorKind::Pattern { .. }
                    if patterns == Patterns::Linear =>
                {
                    format!(
                        "cannot be compiled: {error}. Keygate matches patterns in linear time, \
                         so lookaround and backreferences are not accepted"
                    )
                }
                _ => format!("cannot be compiled: {error}"),
            };
            vec![FieldViolation::new(error.instance_path().as_str(), message)]
        })
}

struct Compiled {
    validator: Arc<Validator>,
    slots: Arc<Semaphore>,
    budget: Duration,
}

fn violations_of(validator: &Validator, document: &Value) -> Vec<FieldViolation> {
    validator
        .iter_errors(document)
        .take(MAX_VIOLATIONS)
        .map(|e| violation(&e))
        .collect()
}

#[async_trait]
impl CompiledSchema for Compiled {
    fn violations(&self, document: &Value) -> Vec<FieldViolation> {
        violations_of(&self.validator, document)
    }

    async fn check(
        &self,
        document: Arc<Value>,
        size: usize,
    ) -> keygate_domain::Result<Vec<FieldViolation>> {
        if size <= INLINE_DOCUMENT_BYTES {
            return Ok(violations_of(&self.validator, &document));
        }
        let budget = self.budget;
        let over_budget = || {
            Error::invalid(
                "",
                format!(
                    "the document took longer than {} ms to validate against its schema; \
                     make the schema or the document simpler",
                    budget.as_millis()
                ),
            )
        };
        let started = tokio::time::Instant::now();
        let slot = tokio::time::timeout(budget, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Error::Overloaded {
                retry_after_secs: 1,
            })?
            .map_err(|_| Error::Internal("the validation slots were closed".into()))?;
        let validator = self.validator.clone();
        // The slot goes with the work, so a document still being checked after its budget
        // keeps its slot until it is done: at most `concurrency` run at once, whatever the
        // clients do. The work cannot be stopped, only no longer waited for.
        let work = tokio::task::spawn_blocking(move || {
            let found = violations_of(&validator, &document);
            drop(slot);
            found
        });
        match tokio::time::timeout(budget.saturating_sub(started.elapsed()), work).await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(_)) => Err(Error::Internal("a validation task failed".into())),
            Err(_) => Err(over_budget()),
        }
    }
}

impl JsonSchemaValidator {
    async fn compile_off_thread(
        &self,
        schema: &Value,
        patterns: Patterns,
    ) -> Result<Arc<dyn CompiledSchema>, Vec<FieldViolation>> {
        // Compiling builds regexes and walks the whole schema: keep it off the async workers.
        let schema = schema.clone();
        let validator = tokio::task::spawn_blocking(move || {
            compile_with(&schema, Patterns::Linear).or_else(|refused| {
                if patterns == Patterns::Legacy {
                    compile_with(&schema, Patterns::Legacy)
                } else {
                    Err(refused)
                }
            })
        })
        .await
        .map_err(|_| vec![FieldViolation::new("", "the schema could not be compiled")])??;
        Ok(Arc::new(Compiled {
            validator: Arc::new(validator),
            slots: self.slots.clone(),
            budget: self.budget,
        }))
    }
}

#[async_trait]
impl SchemaValidator for JsonSchemaValidator {
    async fn compile(
        &self,
        schema: &Value,
    ) -> Result<Arc<dyn CompiledSchema>, Vec<FieldViolation>> {
        self.compile_off_thread(schema, Patterns::Linear).await
    }

    async fn compile_stored(
        &self,
        schema: &Value,
    ) -> Result<Arc<dyn CompiledSchema>, Vec<FieldViolation>> {
        self.compile_off_thread(schema, Patterns::Legacy).await
    }
}

#[cfg(test)]
mod tests;
