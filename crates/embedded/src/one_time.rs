//! One-time secrets on redb: each use is one write transaction, so of two racing uses of one
//! secret only the first finds it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::one_time::{OneTimeSecret, OneTimeSecretRepository, SecretPurpose, UseOutcome};
use keygate_domain::{Id, Result};
use redb::{ReadableTable, WriteTransaction};

use crate::rows::{decode, encode};
use crate::sessions::children;
use crate::store::EmbeddedStore;
use crate::tables::{child_key, ONE_TIME_SECRETS, ONE_TIME_SECRETS_BY_USER};
use crate::unavailable::OrUnavailable;

/// Removes the secret under `key` and its per-user index row.
fn remove(txn: &WriteTransaction, secret: &OneTimeSecret) -> Result<()> {
    txn.open_table(ONE_TIME_SECRETS)
        .or_unavailable()?
        .remove(secret.key.as_str())
        .or_unavailable()?;
    txn.open_table(ONE_TIME_SECRETS_BY_USER)
        .or_unavailable()?
        .remove(child_key(secret.user_id.as_str(), &secret.key).as_str())
        .or_unavailable()?;
    Ok(())
}

/// The secret stored under `key` in `table`, whatever its state.
fn stored(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<OneTimeSecret>> {
    table
        .get(key)
        .or_unavailable()?
        .map(|row| decode::<OneTimeSecret>(row.value()))
        .transpose()
}

#[async_trait]
impl OneTimeSecretRepository for EmbeddedStore {
    async fn put_secret(&self, secret: &OneTimeSecret) -> Result<()> {
        let secret = secret.clone();
        self.write(move |txn| {
            let previous = stored(
                &txn.open_table(ONE_TIME_SECRETS).or_unavailable()?,
                secret.key.as_str(),
            )?;
            if let Some(previous) = previous {
                remove(txn, &previous)?;
            }
            txn.open_table(ONE_TIME_SECRETS)
                .or_unavailable()?
                .insert(secret.key.as_str(), encode(&secret)?.as_slice())
                .or_unavailable()?;
            txn.open_table(ONE_TIME_SECRETS_BY_USER)
                .or_unavailable()?
                .insert(child_key(secret.user_id.as_str(), &secret.key).as_str(), ())
                .or_unavailable()?;
            Ok(())
        })
        .await
    }

    async fn use_secret(
        &self,
        key: &str,
        purpose: SecretPurpose,
        presented: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<UseOutcome> {
        let (key, presented) = (key.to_owned(), presented.clone());
        self.write(move |txn| {
            let stored = stored(
                &txn.open_table(ONE_TIME_SECRETS).or_unavailable()?,
                key.as_str(),
            )?;
            let Some(mut secret) = stored.filter(|s| s.purpose == purpose) else {
                return Ok(UseOutcome::Unknown);
            };
            if secret.expires_at <= now || secret.tries_left == 0 {
                remove(txn, &secret)?;
                return Ok(UseOutcome::Unknown);
            }
            if secret.digest == presented {
                remove(txn, &secret)?;
                return Ok(UseOutcome::Used(secret));
            }
            secret.tries_left -= 1;
            if secret.tries_left == 0 {
                remove(txn, &secret)?;
            } else {
                txn.open_table(ONE_TIME_SECRETS)
                    .or_unavailable()?
                    .insert(secret.key.as_str(), encode(&secret)?.as_slice())
                    .or_unavailable()?;
            }
            Ok(UseOutcome::Wrong)
        })
        .await
    }

    async fn find_secret(
        &self,
        key: &str,
        purpose: SecretPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<OneTimeSecret>> {
        let key = key.to_owned();
        self.read_now(move |txn| {
            let stored = stored(
                &txn.open_table(ONE_TIME_SECRETS).or_unavailable()?,
                key.as_str(),
            )?;
            Ok(stored.filter(|s| s.purpose == purpose && s.expires_at > now && s.tries_left > 0))
        })
    }

    async fn delete_secrets_of(&self, user_id: &Id) -> Result<()> {
        let user_id = user_id.clone();
        self.write(move |txn| {
            let prefix = child_key(user_id.as_str(), "");
            for index_key in children(txn, ONE_TIME_SECRETS_BY_USER, user_id.as_str())? {
                let key = index_key.strip_prefix(&prefix).unwrap_or(&index_key);
                txn.open_table(ONE_TIME_SECRETS)
                    .or_unavailable()?
                    .remove(key)
                    .or_unavailable()?;
                txn.open_table(ONE_TIME_SECRETS_BY_USER)
                    .or_unavailable()?
                    .remove(index_key.as_str())
                    .or_unavailable()?;
            }
            Ok(())
        })
        .await
    }

    async fn purge_expired_secrets(&self, now: DateTime<Utc>) -> Result<u64> {
        self.purge_table::<OneTimeSecret>(ONE_TIME_SECRETS, ONE_TIME_SECRETS_BY_USER, now, |s| {
            (
                s.expires_at,
                s.key.clone(),
                child_key(s.user_id.as_str(), &s.key),
            )
        })
        .await
    }
}
