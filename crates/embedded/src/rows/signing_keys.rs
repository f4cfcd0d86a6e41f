//! The signing keys table's row: the private half as hex.

use chrono::{DateTime, Utc};
use keygate_domain::signing::{PrivateKeyDer, PublicJwk, SigningAlgorithm, SigningKey};
use serde::{Deserialize, Serialize};

use super::stored::Stored;

/// A signing key, private half as hex.
#[derive(Serialize, Deserialize)]
pub(crate) struct SigningKeyRow {
    kid: String,
    algorithm: SigningAlgorithm,
    generation: u64,
    created_at: DateTime<Utc>,
    signs_from: DateTime<Utc>,
    public: PublicJwk,
    #[serde(with = "hex_bytes")]
    private_key: Vec<u8>,
}

/// Bytes as lower-case hex text; a row whose text is not hex is unreadable.
mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(text).map_err(D::Error::custom)
    }
}

impl Stored for SigningKey {
    type Row = SigningKeyRow;
    fn to_row(&self) -> SigningKeyRow {
        SigningKeyRow {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            generation: self.generation,
            created_at: self.created_at,
            signs_from: self.signs_from,
            public: self.public.clone(),
            private_key: self.private_key.expose().to_vec(),
        }
    }
    fn from_row(row: SigningKeyRow) -> Self {
        Self {
            kid: row.kid,
            algorithm: row.algorithm,
            generation: row.generation,
            created_at: row.created_at,
            signs_from: row.signs_from,
            public: row.public,
            private_key: PrivateKeyDer(row.private_key),
        }
    }
}
