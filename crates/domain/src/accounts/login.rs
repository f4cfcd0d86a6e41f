//! What a login leads to, whichever first factor it used (a password, an emailed code): tokens,
//! or the second step when the account has TOTP on.

use super::model::{LoginOutcome, LoginStep, User};
use super::ports::SecondStep;
use super::throttle::{Attempt, LoginThrottle};
use crate::audit::{Action, Actor, AuditTrail};
use crate::error::Result;
use crate::sessions::SessionLifecycle;

/// After a right first factor: the second step if `second_step` asks for one, else a new
/// session. The `attempt` is handed back to `throttle` only when no second step follows, so a
/// right password alone never clears the failures counted against an account whose TOTP is
/// still to come. Records `mfa.challenged` or `login.succeeded` (with the session, in its
/// transaction), naming the first factor's `method`.
pub async fn finish_first_factor(
    (second_step, sessions, audit): (&dyn SecondStep, &dyn SessionLifecycle, &AuditTrail),
    (user, method): (User, &'static str),
    (throttle, attempt): (&LoginThrottle, Attempt),
) -> Result<LoginStep> {
    if let Some(pending) = second_step.after_first_factor(&user).await? {
        audit
            .record(
                audit
                    .event(Action::MfaChallenged, Actor::user(&user.id))
                    .account(&user.id)
                    .target("user", &user.id)
                    .detail("method", method),
            )
            .await?;
        return Ok(LoginStep::SecondFactor(pending));
    }
    throttle.succeeded(attempt).await;
    let event = audit
        .event(Action::LoginSucceeded, Actor::user(&user.id))
        .account(&user.id)
        .target("user", &user.id)
        .detail("method", method);
    let tokens = audit.around(event, sessions.start(&user.id)).await?;
    Ok(LoginStep::Done(Box::new(LoginOutcome { user, tokens })))
}
