//! An account's factors go with it.

use std::sync::Arc;

use async_trait::async_trait;

use super::ports::SecondFactorRepository;
use crate::accounts::UserDataEraser;
use crate::error::Result;
use crate::id::Id;

/// Erases a deleted account's second factors.
pub struct FactorEraser(pub Arc<dyn SecondFactorRepository>);

#[async_trait]
impl UserDataEraser for FactorEraser {
    async fn erase_user_data(&self, user_id: &Id) -> Result<()> {
        self.0.delete_factors(user_id).await
    }
}
