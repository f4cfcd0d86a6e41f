//! An account's factors as the second factor's use cases read and change them.

use std::sync::Arc;

use super::model::SecondFactors;
use super::ports::SecondFactorRepository;
use crate::accounts::USER_WRITE_ATTEMPTS;
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;

/// The factor repository with its compare-and-set change.
#[derive(Clone)]
pub struct FactorStore(Arc<dyn SecondFactorRepository>);

impl FactorStore {
    /// Over `factors`.
    pub fn new(factors: Arc<dyn SecondFactorRepository>) -> Self {
        Self(factors)
    }

    /// The account's factors (none stored: none).
    pub async fn of(&self, user_id: &Id) -> Result<SecondFactors> {
        Ok(self
            .0
            .find_factors(user_id)
            .await?
            .unwrap_or_else(|| SecondFactors::none(user_id.clone())))
    }

    /// Changes the account's factors by compare-and-set, retrying a lost race; `change`
    /// returns what the caller gets, or refuses.
    pub async fn change<T>(
        &self,
        user_id: &Id,
        change: impl Fn(&mut SecondFactors) -> Result<T>,
    ) -> Result<T> {
        for _ in 0..USER_WRITE_ATTEMPTS {
            let mut factors = self.of(user_id).await?;
            let read = factors.revision;
            let answer = change(&mut factors)?;
            factors.revision = read + 1;
            if self.0.put_factors(&factors, read).await? {
                return Ok(answer);
            }
        }
        Err(Error::Conflict(ConflictKind::Other(
            "a concurrent change to this account's second factors".into(),
        )))
    }
}
