//! Signing keys on redb: one row per generation, so that of two writers adding the same
//! generation (two instances rotating at once) only the first wins, inside its transaction.

use async_trait::async_trait;
use keygate_domain::signing::{SigningKey, SigningKeyRepository};
use keygate_domain::Result;
use redb::ReadableTable;

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::SIGNING_KEYS;
use crate::unavailable::OrUnavailable;

#[async_trait]
impl SigningKeyRepository for EmbeddedStore {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        self.read(|txn| {
            let table = txn.open_table(SIGNING_KEYS).or_unavailable()?;
            let mut keys = Vec::new();
            for row in table.iter().or_unavailable()? {
                let (_, value) = row.or_unavailable()?;
                keys.push(decode::<SigningKey>(value.value())?);
            }
            Ok(keys)
        })
        .await
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<bool> {
        let generation = key.generation;
        let row = encode(key)?;
        self.write(move |txn| {
            let mut table = txn.open_table(SIGNING_KEYS).or_unavailable()?;
            if table.get(generation).or_unavailable()?.is_some() {
                return Ok(false);
            }
            table.insert(generation, row.as_slice()).or_unavailable()?;
            Ok(true)
        })
        .await
    }

    async fn delete_signing_key(&self, generation: u64) -> Result<()> {
        self.write(move |txn| {
            let mut table = txn.open_table(SIGNING_KEYS).or_unavailable()?;
            table.remove(generation).or_unavailable()?;
            Ok(())
        })
        .await
    }
}
