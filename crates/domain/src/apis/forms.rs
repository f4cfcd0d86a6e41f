//! Request bodies of the API routes, turned into commands of value objects: names, endpoint
//! lists, each schema (its shape, its bounds, and its compilation by the schema port), key
//! scopes and expiry times are checked here, every violation at once. An [`ApiDraft`] or an
//! [`ApiChangeSet`] is proof that its schemas compile: only `parse` makes one. The service
//! checks what needs the stored API (endpoints it has already, how many it may have, expiry
//! in the future).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::keys::Scopes;
use super::model::{
    DisplayName, Endpoint, EndpointName, FieldIndex, IndexState, MAX_INDEXES_PER_ENDPOINT,
};
use crate::error::{Error, FieldViolation, Result, Violations};
use crate::json::json_pointer;
use crate::schema::{check_bounds, SchemaValidator};

/// The most endpoints one API may have.
pub const MAX_ENDPOINTS: usize = 64;

/// A field counts as given when it is neither absent, `null` nor an empty string.
fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null() && v.as_str() != Some(""))
}

fn display_name(value: &Value, field: &str) -> std::result::Result<DisplayName, FieldViolation> {
    match value {
        Value::String(text) => DisplayName::new(text, field),
        _ => Err(FieldViolation::new(field, "must be a string")),
    }
}

fn schema_object(value: Value) -> std::result::Result<Map<String, Value>, FieldViolation> {
    match value {
        Value::Object(schemas) => Ok(schemas),
        _ => Err(FieldViolation::new(
            "/json_schema",
            "must be an object with one schema per endpoint",
        )),
    }
}

/// The violation of an API with more than [`MAX_ENDPOINTS`] endpoints.
pub(super) fn too_many_endpoints() -> FieldViolation {
    FieldViolation::new(
        "/endpoints",
        format!("an API has at most {MAX_ENDPOINTS} endpoints"),
    )
}

/// The valid, distinct endpoint names of an `endpoints` array; notes every bad one.
fn endpoint_names(value: &Value, violations: &mut Violations) -> Vec<EndpointName> {
    let Value::Array(items) = value else {
        violations.push(FieldViolation::new(
            "/endpoints",
            "must be an array of endpoint names",
        ));
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/endpoints/{i}");
        let Some(text) = item.as_str() else {
            violations.push(FieldViolation::new(at, "must be a string"));
            continue;
        };
        if !seen.insert(text) {
            violations.push(FieldViolation::new(at, "is listed twice"));
            continue;
        }
        if let Some(name) = violations.keep(EndpointName::new(text, &at)) {
            names.push(name);
        }
    }
    names
}

/// Index declarations by endpoint name, in the order given.
pub(crate) type IndexDeclarations = Vec<(String, Vec<String>)>;

/// Whether `field` could be a record's top-level field (what records and queries accept).
fn indexable(field: &str) -> bool {
    !field.is_empty() && field.len() <= 256 && !field.starts_with('$') && !field.contains('\0')
}

/// The `indexes` object, `{"endpoint": ["field", ...]}`: each list 1 to
/// [`MAX_INDEXES_PER_ENDPOINT`] distinct top-level field names. Notes every bad entry.
fn index_declarations(value: Option<Value>, violations: &mut Violations) -> IndexDeclarations {
    let Some(value) = present(value) else {
        return Vec::new();
    };
    let Value::Object(entries) = value else {
        violations.push(FieldViolation::new(
            "/indexes",
            "must be an object of field lists by endpoint",
        ));
        return Vec::new();
    };
    let mut declared = Vec::new();
    for (endpoint, fields) in entries {
        let at = json_pointer("/indexes", &endpoint);
        let Value::Array(fields) = fields else {
            violations.push(FieldViolation::new(at, "must be an array of field names"));
            continue;
        };
        if fields.len() > MAX_INDEXES_PER_ENDPOINT {
            violations.push(FieldViolation::new(
                at,
                format!("an endpoint has at most {MAX_INDEXES_PER_ENDPOINT} indexes"),
            ));
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            match field.as_str() {
                Some(name) if indexable(name) && !names.iter().any(|n| n == name) => {
                    names.push(name.to_owned());
                }
                Some(name) if indexable(name) => {
                    violations.push(FieldViolation::new(format!("{at}/{i}"), "is listed twice"))
                }
                _ => violations.push(FieldViolation::new(
                    format!("{at}/{i}"),
                    "must be a top-level field name (not empty, not starting with '$')",
                )),
            }
        }
        declared.push((endpoint, names));
    }
    declared
}

/// Applies index declarations to endpoints: new fields are appended in `state`; a field
/// indexed already stays as it is. Notes endpoints that do not exist and endpoints that would
/// pass [`MAX_INDEXES_PER_ENDPOINT`].
pub(crate) fn declare_indexes(
    endpoints: &mut [Endpoint],
    declarations: &IndexDeclarations,
    state_of: impl Fn(&EndpointName) -> IndexState,
    violations: &mut Violations,
) {
    for (name, fields) in declarations {
        let at = json_pointer("/indexes", name);
        let Some(endpoint) = endpoints.iter_mut().find(|e| e.name.as_str() == name) else {
            violations.push(FieldViolation::new(at, "is not one of the endpoints"));
            continue;
        };
        let state = state_of(&endpoint.name);
        for field in fields {
            if !endpoint.indexes.iter().any(|i| &i.field == field) {
                endpoint.indexes.push(FieldIndex {
                    field: field.clone(),
                    state,
                });
            }
        }
        if endpoint.indexes.len() > MAX_INDEXES_PER_ENDPOINT {
            violations.push(FieldViolation::new(
                at,
                format!(
                    "an endpoint has at most {MAX_INDEXES_PER_ENDPOINT} indexes (indexes are \
                     never removed)"
                ),
            ));
        }
    }
}

/// Notes what is wrong with the schema of the endpoint `name`: it must be an object or a
/// boolean, within the size and nesting bounds, and compile; each violation is named by its
/// pointer under `/json_schema/<name>`.
async fn check_schema(
    schemas: &dyn SchemaValidator,
    name: &str,
    schema: &Value,
    violations: &mut Violations,
) {
    let at = json_pointer("/json_schema", name);
    let prefixed = |v: FieldViolation| FieldViolation {
        field: format!("{at}{}", v.field),
        message: v.message,
    };
    if !(schema.is_object() || schema.is_boolean()) {
        violations.push(FieldViolation::new(
            at.clone(),
            "must be a JSON Schema (an object or a boolean)",
        ));
    } else if let Err(violation) = check_bounds(schema) {
        violations.push(prefixed(violation));
    } else if let Err(found) = schemas.compile(schema).await {
        for violation in found {
            violations.push(prefixed(violation));
        }
    }
}

/// `POST /create_api` and `POST /api` as the client sent them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewApi {
    /// The requested name, shown as the display name and slugged into the unique name.
    pub api_name: Option<Value>,
    /// The endpoint names.
    pub endpoints: Option<Value>,
    /// One schema per endpoint.
    pub json_schema: Option<Value>,
    /// Optional single-field indexes by endpoint (§11).
    pub indexes: Option<Value>,
}

/// A new API: its display name and endpoints, each with a schema that compiles.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiDraft {
    /// The name it is shown under (and slugged into its unique name).
    pub(crate) display_name: DisplayName,
    /// Its endpoints, in the order listed.
    pub(crate) endpoints: Vec<Endpoint>,
}

impl NewApi {
    /// All three fields are required; 1 to [`MAX_ENDPOINTS`] distinct valid endpoint names,
    /// exactly one schema for each, every schema compiled by `schemas`.
    pub async fn parse(self, schemas: &dyn SchemaValidator) -> Result<ApiDraft> {
        let (api_name, endpoints, json_schema) = (
            present(self.api_name),
            present(self.endpoints),
            present(self.json_schema),
        );
        let (api_name, endpoints, json_schema) = match (api_name, endpoints, json_schema) {
            (Some(a), Some(e), Some(j)) => (a, e, j),
            (a, e, j) => {
                return Err(Error::missing(&[
                    ("api_name", a.is_none()),
                    ("endpoints", e.is_none()),
                    ("json_schema", j.is_none()),
                ]))
            }
        };
        let mut violations = Violations::default();
        let display_name = violations.keep(display_name(&api_name, "api_name"));
        let names = endpoint_names(&endpoints, &mut violations);
        match &endpoints {
            Value::Array(items) if items.is_empty() => violations.push(FieldViolation::new(
                "/endpoints",
                format!("must list 1 to {MAX_ENDPOINTS} endpoints"),
            )),
            _ if names.len() > MAX_ENDPOINTS => violations.push(too_many_endpoints()),
            _ => {}
        }
        let mut endpoints = Vec::new();
        if let Some(mut schemas) = violations.keep(schema_object(json_schema)) {
            for name in names {
                match schemas.shift_remove(name.as_str()) {
                    Some(schema) => endpoints.push(Endpoint {
                        name,
                        schema,
                        indexes: Vec::new(),
                    }),
                    None => violations.push(FieldViolation::new(
                        json_pointer("/json_schema", name.as_str()),
                        "is missing: every endpoint needs a schema",
                    )),
                }
            }
            for extra in schemas.keys() {
                violations.push(FieldViolation::new(
                    json_pointer("/json_schema", extra),
                    "is not one of the endpoints",
                ));
            }
        }
        let declarations = index_declarations(self.indexes, &mut violations);
        // A new endpoint has no records: its indexes are complete from the start.
        declare_indexes(
            &mut endpoints,
            &declarations,
            |_| IndexState::Ready,
            &mut violations,
        );
        for endpoint in &endpoints {
            check_schema(
                schemas,
                endpoint.name.as_str(),
                &endpoint.schema,
                &mut violations,
            )
            .await;
        }
        violations.finish_with(display_name.map(|display_name| ApiDraft {
            display_name,
            endpoints,
        }))
    }
}

/// `PATCH /api/{api}` as the client sent it: a JSON object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct ApiChanges(pub Map<String, Value>);

/// Changes to an API: a new display name, endpoints to add (those it has already are left
/// as they are) and schemas by endpoint name, for new endpoints or replacing existing ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiChangeSet {
    /// A new display name; the unique name never changes.
    pub(crate) display_name: Option<DisplayName>,
    /// Valid, distinct endpoint names to add.
    pub(crate) endpoints: Vec<EndpointName>,
    /// Schemas by endpoint name; each compiles where its name could be an endpoint (the
    /// service refuses the others: no such endpoint).
    pub(crate) schemas: Map<String, Value>,
    /// Indexes to add, by endpoint name (the service refuses unknown endpoints).
    pub(crate) indexes: IndexDeclarations,
}

impl ApiChanges {
    /// Reads `display_name` (or `api_name`), `endpoints` and `json_schema`; any other field is
    /// refused; schemas are compiled by `schemas`.
    pub async fn parse(self, schemas: &dyn SchemaValidator) -> Result<ApiChangeSet> {
        let mut body = self.0;
        let new_name = body
            .remove("display_name")
            .or_else(|| body.remove("api_name"));
        let endpoints = body.remove("endpoints");
        let json_schema = body.remove("json_schema");
        let indexes = body.remove("indexes");
        if let Some(unknown) = body.keys().next() {
            return Err(Error::invalid(
                unknown,
                "cannot be changed: give display_name, endpoints, json_schema or indexes",
            ));
        }
        let display_name = present(new_name)
            .map(|name| display_name(&name, "display_name"))
            .transpose()?;
        let given = present(json_schema)
            .map(schema_object)
            .transpose()?
            .unwrap_or_default();
        let mut violations = Violations::default();
        let endpoints = present(endpoints)
            .map(|value| endpoint_names(&value, &mut violations))
            .unwrap_or_default();
        let indexes = index_declarations(indexes, &mut violations);
        for (name, schema) in &given {
            // Names are checked against the API by the service; check whatever could be one.
            if EndpointName::new(name, "").is_ok() {
                check_schema(schemas, name, schema, &mut violations).await;
            }
        }
        violations.finish_with(Some(ApiChangeSet {
            display_name,
            endpoints,
            schemas: given,
            indexes,
        }))
    }
}

/// `POST /api/{api}/keys` as the client sent it (the body is optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyRequest {
    /// `["read"]`, `["write"]` or both (the default).
    pub scopes: Option<Value>,
    /// An RFC 3339 time after which the key stops working; none by default.
    pub expires_at: Option<Value>,
}

/// A key to issue: what it allows and when it stops working (the service checks that this
/// is in the future).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// What it allows.
    pub scopes: Scopes,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An RFC 3339 time, in UTC.
fn time(value: &Value) -> std::result::Result<DateTime<Utc>, FieldViolation> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| {
            FieldViolation::new(
                "/expires_at",
                "must be an RFC 3339 time such as 2030-01-01T00:00:00Z",
            )
        })
}

/// Scopes given as a JSON array of names.
fn scopes(value: Value) -> std::result::Result<Scopes, FieldViolation> {
    let Value::Array(items) = value else {
        return Err(FieldViolation::new(
            "/scopes",
            "must be an array such as [\"read\", \"write\"]",
        ));
    };
    let names: Option<Vec<String>> = items
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect();
    match names {
        Some(names) => Scopes::parse(&names, "/scopes"),
        None => Err(FieldViolation::new("/scopes", "must list scope names")),
    }
}

impl KeyRequest {
    /// Scopes default to read and write; no expiry by default.
    pub fn parse(self) -> Result<KeySpec> {
        let mut violations = Violations::default();
        let scopes = match present(self.scopes) {
            None => Some(Scopes::ALL),
            Some(value) => violations.keep(scopes(value)),
        };
        let expires_at = match present(self.expires_at) {
            None => Some(None),
            Some(value) => violations.keep(time(&value)).map(Some),
        };
        violations.finish_with(
            scopes
                .zip(expires_at)
                .map(|(scopes, expires_at)| KeySpec { scopes, expires_at }),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::schema::{MockCompiledSchema, MockSchemaValidator};

    /// A validator that compiles every schema, and one that refuses each with one violation.
    fn accepting() -> MockSchemaValidator {
        let mut schemas = MockSchemaValidator::new();
        schemas
            .expect_compile()
            .returning(|_| Ok(Arc::new(MockCompiledSchema::new())));
        schemas
    }

    fn refusing() -> MockSchemaValidator {
        let mut schemas = MockSchemaValidator::new();
        schemas.expect_compile().returning(|_| {
            Err(vec![FieldViolation::new(
                "/properties/qty/type",
                "bad type",
            )])
        });
        schemas
    }

    #[tokio::test]
    async fn a_new_api_needs_all_three_fields() {
        match NewApi::default().parse(&accepting()).await {
            Err(Error::MissingParameters(fields)) => {
                assert_eq!(fields, ["api_name", "endpoints", "json_schema"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn every_broken_rule_of_a_new_api_is_named_at_once() {
        let broken = NewApi {
            api_name: Some(json!("Shop")),
            endpoints: Some(json!(["orders", "orders", "keys", "stock", "Keys"])),
            json_schema: Some(json!({"orders": 5, "stock": {}, "extra": {}})),
            indexes: Some(json!({"orders": ["a", "a", "$x"], "nowhere": ["b"], "stock": 3})),
        };
        let Err(Error::Validation(found)) = broken.clone().parse(&refusing()).await else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "/endpoints/1",
                "/endpoints/2",
                "/endpoints/4",
                "/json_schema/extra",
                "/indexes/orders/1",
                "/indexes/orders/2",
                "/indexes/stock",
                "/indexes/nowhere",
                "/json_schema/orders",
                "/json_schema/stock/properties/qty/type"
            ]
        );
        let empty = NewApi {
            endpoints: Some(json!([])),
            ..broken
        };
        let Err(Error::Validation(found)) = empty.parse(&accepting()).await else {
            panic!("expected a validation error");
        };
        assert_eq!(found[0].field, "/endpoints");
    }

    #[tokio::test]
    async fn changes_refuse_other_fields_and_check_what_could_be_an_endpoint() {
        let body = |value: Value| ApiChanges(value.as_object().cloned().unwrap_or_default());
        let Err(Error::Validation(found)) =
            body(json!({"owner_id": "x"})).parse(&accepting()).await
        else {
            panic!("expected a validation error");
        };
        assert_eq!(found[0].field, "/owner_id");
        let changes = body(json!({"api_name": "New", "endpoints": ["a", "b"],
                                  "json_schema": {"a": {}, "not a name": 5}}))
        .parse(&accepting())
        .await
        .expect("valid");
        assert_eq!(
            changes.display_name.map(|n| n.as_str().to_owned()),
            Some("New".into())
        );
        assert_eq!(changes.endpoints.len(), 2);
        let Err(Error::Validation(found)) = body(json!({"json_schema": {"a": 5}}))
            .parse(&accepting())
            .await
        else {
            panic!("expected a validation error");
        };
        assert_eq!(found[0].field, "/json_schema/a");
        let Err(Error::Validation(found)) = body(json!({"json_schema": {"a": {}}}))
            .parse(&refusing())
            .await
        else {
            panic!("expected a compile error");
        };
        assert_eq!(found[0].field, "/json_schema/a/properties/qty/type");
    }

    #[test]
    fn a_key_request_defaults_to_read_and_write_without_expiry() {
        let spec = KeyRequest::default().parse().expect("valid");
        assert_eq!(
            spec,
            KeySpec {
                scopes: Scopes::ALL,
                expires_at: None
            }
        );
        let bad = KeyRequest {
            scopes: Some(json!("read")),
            expires_at: Some(json!("tomorrow")),
        };
        let Err(Error::Validation(found)) = bad.parse() else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["/scopes", "/expires_at"]);
    }
}
