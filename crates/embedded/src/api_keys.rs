//! API keys on redb: by public id (unique), with a per-API index.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::apis::{ApiKey, ApiKeyRepository};
use keygate_domain::{ConflictKind, Error, Id, Result};
use redb::ReadableTable;

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::{child_key, children_of, API_KEYS, API_KEYS_BY_API};
use crate::unavailable::OrUnavailable;

#[async_trait]
impl ApiKeyRepository for EmbeddedStore {
    async fn insert(&self, key: &ApiKey) -> Result<()> {
        let key = key.clone();
        self.write(move |txn| {
            let mut keys = txn.open_table(API_KEYS).or_unavailable()?;
            if keys.get(key.public_id.as_str()).or_unavailable()?.is_some() {
                return Err(Error::Conflict(ConflictKind::Other("API key id".into())));
            }
            keys.insert(key.public_id.as_str(), encode(&key)?.as_slice())
                .or_unavailable()?;
            txn.open_table(API_KEYS_BY_API)
                .or_unavailable()?
                .insert(
                    child_key(key.api_id.as_str(), key.id.as_str()).as_str(),
                    key.public_id.as_str(),
                )
                .or_unavailable()?;
            Ok(())
        })
        .await
    }

    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<ApiKey>> {
        let public_id = public_id.to_owned();
        self.read_now(move |txn| {
            match txn
                .open_table(API_KEYS)
                .or_unavailable()?
                .get(public_id.as_str())
                .or_unavailable()?
            {
                Some(bytes) => decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn list_for_api(&self, api_id: &Id) -> Result<Vec<ApiKey>> {
        let api = api_id.as_str().to_owned();
        self.read(move |txn| {
            let index = txn.open_table(API_KEYS_BY_API).or_unavailable()?;
            let keys = txn.open_table(API_KEYS).or_unavailable()?;
            let (start, end) = children_of(&api);
            let mut found = Vec::new();
            for row in index
                .range::<&str>(start.as_str()..end.as_str())
                .or_unavailable()?
            {
                let (_, public_id) = row.or_unavailable()?;
                if let Some(bytes) = keys.get(public_id.value()).or_unavailable()? {
                    found.push(decode(bytes.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn revoke(&self, api_id: &Id, key_id: &Id, now: DateTime<Utc>) -> Result<Option<ApiKey>> {
        let row = child_key(api_id.as_str(), key_id.as_str());
        self.write(move |txn| {
            let public_id = txn
                .open_table(API_KEYS_BY_API)
                .or_unavailable()?
                .get(row.as_str())
                .or_unavailable()?
                .map(|p| p.value().to_owned());
            let Some(public_id) = public_id else {
                return Ok(None);
            };
            let mut keys = txn.open_table(API_KEYS).or_unavailable()?;
            let stored = keys
                .get(public_id.as_str())
                .or_unavailable()?
                .map(|b| b.value().to_vec());
            let Some(bytes) = stored else {
                return Ok(None);
            };
            let mut key: ApiKey = decode(&bytes)?;
            if key.revoked_at.is_none() {
                key.revoked_at = Some(now);
                keys.insert(public_id.as_str(), encode(&key)?.as_slice())
                    .or_unavailable()?;
            }
            Ok(Some(key))
        })
        .await
    }

    async fn delete_for_api(&self, api_id: &Id) -> Result<u64> {
        let api = api_id.as_str().to_owned();
        self.write(move |txn| {
            let mut index = txn.open_table(API_KEYS_BY_API).or_unavailable()?;
            let mut keys = txn.open_table(API_KEYS).or_unavailable()?;
            let (start, end) = children_of(&api);
            let mut public_ids = Vec::new();
            for row in index
                .range::<&str>(start.as_str()..end.as_str())
                .or_unavailable()?
            {
                let (_, public_id) = row.or_unavailable()?;
                public_ids.push(public_id.value().to_owned());
            }
            for public_id in &public_ids {
                keys.remove(public_id.as_str()).or_unavailable()?;
            }
            index
                .retain_in::<&str, _>(start.as_str()..end.as_str(), |_, _| false)
                .or_unavailable()?;
            Ok(public_ids.len() as u64)
        })
        .await
    }

    async fn delete(&self, api_id: &Id, key_id: &Id) -> Result<bool> {
        let row = child_key(api_id.as_str(), key_id.as_str());
        self.write(move |txn| {
            let public_id = txn
                .open_table(API_KEYS_BY_API)
                .or_unavailable()?
                .remove(row.as_str())
                .or_unavailable()?
                .map(|p| p.value().to_owned());
            let Some(public_id) = public_id else {
                return Ok(false);
            };
            txn.open_table(API_KEYS)
                .or_unavailable()?
                .remove(public_id.as_str())
                .or_unavailable()?;
            Ok(true)
        })
        .await
    }
}
