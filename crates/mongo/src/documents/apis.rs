//! The stored shape of API definitions and API keys. Schemas are kept as JSON text, like data
//! values: BSON cannot hold every JSON value exactly, and schemas are full of `$`-names.

use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiName, DisplayName, Endpoint, EndpointName, FieldIndex, IndexState,
    Scopes,
};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::{Error, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_id, domain_time, object_id};

fn invalid(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("stored {what} is invalid: {error}"))
}

/// One endpoint inside an API document.
#[derive(Debug, Serialize, Deserialize)]
pub struct EndpointDocument {
    name: String,
    /// The schema as JSON text.
    schema: String,
    /// Declared indexes; absent in documents written before §11 and when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<IndexDocument>,
}

/// A declared index of an endpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexDocument {
    field: String,
    /// `building` or `ready`.
    state: String,
}

/// An API as stored in `apis`; `name` is uniquely indexed, `(owner_id, _id)` indexed.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    owner_id: ObjectId,
    name: String,
    display_name: String,
    endpoints: Vec<EndpointDocument>,
    /// Present (true) while an index is being built, for the index builder's query.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    building: bool,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
    revision: i64,
}

impl ApiDocument {
    /// The document of `api`.
    pub fn from_api(api: &ApiDefinition) -> Result<Self> {
        let endpoints = api
            .endpoints
            .iter()
            .map(|e| {
                Ok(EndpointDocument {
                    name: e.name.as_str().to_owned(),
                    schema: serde_json::to_string(&e.schema)
                        .map_err(|e| Error::Internal(format!("cannot encode schema: {e}")))?,
                    indexes: e
                        .indexes
                        .iter()
                        .map(|i| IndexDocument {
                            field: i.field.clone(),
                            state: i.state.as_str().to_owned(),
                        })
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            id: object_id(&api.id)?,
            owner_id: object_id(&api.owner_id)?,
            name: api.name.as_str().to_owned(),
            display_name: api.display_name.as_str().to_owned(),
            endpoints,
            building: api.has_building_index(),
            created_at: bson_time(api.created_at),
            updated_at: bson_time(api.updated_at),
            revision: i64::try_from(api.revision).map_err(|e| invalid("revision", e))?,
        })
    }

    /// The API this document holds, validated.
    pub fn into_api(self) -> Result<ApiDefinition> {
        let endpoints = self
            .endpoints
            .into_iter()
            .map(|e| {
                Ok(Endpoint {
                    name: EndpointName::new(&e.name, "endpoint")
                        .map_err(|v| invalid("endpoint", v))?,
                    schema: serde_json::from_str(&e.schema).map_err(|e| invalid("schema", e))?,
                    indexes: e
                        .indexes
                        .into_iter()
                        .map(|i| FieldIndex {
                            field: i.field,
                            state: IndexState::parse(&i.state),
                        })
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ApiDefinition {
            id: domain_id(self.id)?,
            owner_id: domain_id(self.owner_id)?,
            name: ApiName::parse(&self.name).map_err(|v| invalid("API name", v))?,
            display_name: DisplayName::new(&self.display_name, "display_name")
                .map_err(|v| invalid("display name", v))?,
            endpoints,
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
            revision: u64::try_from(self.revision).map_err(|e| invalid("revision", e))?,
        })
    }
}

/// An API key as stored in `api_keys`: `public_id` and `digest` uniquely indexed, `api_id`
/// indexed. Never the key itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiKeyDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    api_id: ObjectId,
    owner_id: ObjectId,
    public_id: String,
    digest: String,
    scopes: Scopes,
    created_at: BsonDateTime,
    expires_at: Option<BsonDateTime>,
    revoked_at: Option<BsonDateTime>,
}

impl ApiKeyDocument {
    /// The document of `key`.
    pub fn from_key(key: &ApiKey) -> Result<Self> {
        Ok(Self {
            id: object_id(&key.id)?,
            api_id: object_id(&key.api_id)?,
            owner_id: object_id(&key.owner_id)?,
            public_id: key.public_id.clone(),
            digest: key.digest.as_str().to_owned(),
            scopes: key.scopes,
            created_at: bson_time(key.created_at),
            expires_at: key.expires_at.map(bson_time),
            revoked_at: key.revoked_at.map(bson_time),
        })
    }

    /// The key this document holds.
    pub fn into_key(self) -> Result<ApiKey> {
        Ok(ApiKey {
            id: domain_id(self.id)?,
            api_id: domain_id(self.api_id)?,
            owner_id: domain_id(self.owner_id)?,
            public_id: self.public_id,
            digest: SecretDigest(self.digest),
            scopes: self.scopes,
            created_at: domain_time(self.created_at)?,
            expires_at: self.expires_at.map(domain_time).transpose()?,
            revoked_at: self.revoked_at.map(domain_time).transpose()?,
        })
    }
}
