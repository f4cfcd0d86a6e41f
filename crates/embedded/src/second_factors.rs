//! Second factors on redb: one row per account; a write compares the stored revision inside
//! its transaction, so of two racing writes (two uses of one TOTP step, of one recovery code)
//! only the first lands.

use async_trait::async_trait;
use keygate_domain::mfa::{SecondFactorRepository, SecondFactors};
use keygate_domain::{Id, Result};
use redb::ReadableTable;

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::SECOND_FACTORS;
use crate::unavailable::OrUnavailable;

#[async_trait]
impl SecondFactorRepository for EmbeddedStore {
    async fn find_factors(&self, user_id: &Id) -> Result<Option<SecondFactors>> {
        self.read_now(|txn| {
            txn.open_table(SECOND_FACTORS)
                .or_unavailable()?
                .get(user_id.as_str())
                .or_unavailable()?
                .map(|row| decode::<SecondFactors>(row.value()))
                .transpose()
        })
    }

    async fn put_factors(&self, factors: &SecondFactors, expected: u64) -> Result<bool> {
        let row = encode(factors)?;
        let user_id = factors.user_id.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(SECOND_FACTORS).or_unavailable()?;
            let stored = table
                .get(user_id.as_str())
                .or_unavailable()?
                .map(|row| decode::<SecondFactors>(row.value()))
                .transpose()?
                .map_or(0, |f| f.revision);
            if stored != expected {
                return Ok(false);
            }
            table
                .insert(user_id.as_str(), row.as_slice())
                .or_unavailable()?;
            Ok(true)
        })
        .await
    }

    async fn delete_factors(&self, user_id: &Id) -> Result<()> {
        let user_id = user_id.clone();
        self.write(move |txn| {
            txn.open_table(SECOND_FACTORS)
                .or_unavailable()?
                .remove(user_id.as_str())
                .or_unavailable()?;
            Ok(())
        })
        .await
    }
}
