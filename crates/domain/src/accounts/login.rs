//! What a login leads to, whichever first factor it used (a password, an emailed code): tokens,
//! or the second step when the account has TOTP on.

use super::model::{LoginOutcome, LoginStep, User};
use super::ports::SecondStep;
use crate::error::Result;
use crate::sessions::SessionLifecycle;

/// After a right first factor: the second step if `second_step` asks for one, else a new
/// session. `clear_attempt` runs only when no second step follows, so a right password alone
/// never clears the failures counted against an account whose TOTP is still to come.
pub async fn finish_first_factor(
    second_step: &dyn SecondStep,
    sessions: &dyn SessionLifecycle,
    user: User,
    clear_attempt: impl FnOnce(),
) -> Result<LoginStep> {
    if let Some(pending) = second_step.after_first_factor(&user).await? {
        return Ok(LoginStep::SecondFactor(pending));
    }
    clear_attempt();
    let tokens = sessions.start(&user.id).await?;
    Ok(LoginStep::Done(Box::new(LoginOutcome { user, tokens })))
}
