//! The API definitions and API keys tables' rows (a key's digest; never the key).

use chrono::{DateTime, Utc};
use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiName, DisplayName, Endpoint, EndpointName, FieldIndex, IndexState,
    Scopes,
};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::Id;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stored::Stored;

/// One endpoint inside an API row.
#[derive(Serialize, Deserialize)]
pub(crate) struct EndpointRow {
    name: EndpointName,
    schema: Value,
    /// Absent in rows written before indexes existed, and when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<IndexRow>,
}

/// A declared index of an endpoint.
#[derive(Serialize, Deserialize)]
pub(crate) struct IndexRow {
    field: String,
    /// `building` or `ready`.
    state: String,
}

/// An API definition.
#[derive(Serialize, Deserialize)]
pub(crate) struct ApiRow {
    id: Id,
    owner_id: Id,
    name: ApiName,
    display_name: DisplayName,
    endpoints: Vec<EndpointRow>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: u64,
}

impl Stored for ApiDefinition {
    type Row = ApiRow;
    fn to_row(&self) -> ApiRow {
        ApiRow {
            id: self.id.clone(),
            owner_id: self.owner_id.clone(),
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            endpoints: self
                .endpoints
                .iter()
                .map(|endpoint| EndpointRow {
                    name: endpoint.name.clone(),
                    schema: endpoint.schema.clone(),
                    indexes: endpoint
                        .indexes
                        .iter()
                        .map(|index| IndexRow {
                            field: index.field.clone(),
                            state: index.state.as_str().to_owned(),
                        })
                        .collect(),
                })
                .collect(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
        }
    }
    fn from_row(row: ApiRow) -> Self {
        Self {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name,
            display_name: row.display_name,
            endpoints: row
                .endpoints
                .into_iter()
                .map(|endpoint| Endpoint {
                    name: endpoint.name,
                    schema: endpoint.schema,
                    indexes: endpoint
                        .indexes
                        .into_iter()
                        .map(|index| FieldIndex {
                            field: index.field,
                            state: IndexState::parse(&index.state),
                        })
                        .collect(),
                })
                .collect(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            revision: row.revision,
        }
    }
}

/// An API key (its digest; never the key).
#[derive(Serialize, Deserialize)]
pub(crate) struct ApiKeyRow {
    id: Id,
    api_id: Id,
    owner_id: Id,
    public_id: String,
    digest: SecretDigest,
    scopes: Scopes,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Stored for ApiKey {
    type Row = ApiKeyRow;
    fn to_row(&self) -> ApiKeyRow {
        ApiKeyRow {
            id: self.id.clone(),
            api_id: self.api_id.clone(),
            owner_id: self.owner_id.clone(),
            public_id: self.public_id.clone(),
            digest: self.digest.clone(),
            scopes: self.scopes,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
    fn from_row(row: ApiKeyRow) -> Self {
        Self {
            id: row.id,
            api_id: row.api_id,
            owner_id: row.owner_id,
            public_id: row.public_id,
            digest: row.digest,
            scopes: row.scopes,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}
