//! The second-factor ports: where factors are kept, and the TOTP arithmetic.

use async_trait::async_trait;

use super::model::{SecondFactors, TotpSecret};
use crate::error::Result;
use crate::id::Id;

/// Keeps each account's [`SecondFactors`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SecondFactorRepository: Send + Sync {
    /// The account's factors, if any were ever stored.
    async fn find_factors(&self, user_id: &Id) -> Result<Option<SecondFactors>>;
    /// Stores `factors` (whose revision is the new one) if the stored revision is still
    /// `expected` (0: nothing stored yet); false, storing nothing, if another write came first.
    async fn put_factors(&self, factors: &SecondFactors, expected: u64) -> Result<bool>;
    /// Removes the account's factors (account deletion).
    async fn delete_factors(&self, user_id: &Id) -> Result<()>;
}

/// TOTP secrets, codes and recovery codes (`keygate-crypto` implements it).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait OtpGenerator: Send + Sync {
    /// A new 160-bit secret from the OS random generator.
    fn new_totp_secret(&self) -> Result<TotpSecret>;
    /// RFC 6238's HMAC-SHA-1, 6-digit code of `secret` for time step `step`.
    fn totp_code(&self, secret: &TotpSecret, step: u64) -> String;
    /// A new recovery code: 16 random base32 characters in groups of four (80 bits).
    fn new_recovery_code(&self) -> Result<String>;
}
