//! How the use cases record: [`AuditTrail`], shared by every service that decides an action.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::context::{current_request, with_attached};
use super::model::{Action, Actor, AuditEvent};
use super::ports::AuditRepository;
use crate::clock::Clock;
use crate::error::Result;
use crate::id::Id;

/// Records security events where they are decided (§13).
pub struct AuditTrail {
    events: Arc<dyn AuditRepository>,
    clock: Arc<dyn Clock>,
    unknown_login_failures: AtomicU64,
    /// The `login.throttled` windows this instance has stored this minute (and the minute):
    /// a throttled request costs no hash, so each one must not cost a durable write either.
    throttled_windows: std::sync::Mutex<(i64, std::collections::HashSet<String>)>,
}

/// The most throttled windows remembered per minute; past it, further ones are not stored
/// this minute (the throttle's own metric still counts them).
const MAX_THROTTLED_WINDOWS: usize = 10_000;

impl AuditTrail {
    /// A trail that keeps its events in `events`.
    pub fn new(events: Arc<dyn AuditRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            events,
            clock,
            unknown_login_failures: AtomicU64::new(0),
            throttled_windows: std::sync::Mutex::default(),
        }
    }

    /// A successful `action` by `actor`, now, with the address, user agent and request id of
    /// the request being served (none at the command line).
    pub fn event(&self, action: Action, actor: Actor) -> AuditEvent {
        let event = AuditEvent::new(action, actor, self.clock.now());
        match current_request() {
            Some(context) => event.seen_in(&context),
            None => event,
        }
    }

    /// Stores `event` now, durably, before the caller answers.
    pub async fn record(&self, event: AuditEvent) -> Result<()> {
        self.events.append_event(&event).await
    }

    /// Makes `change` and, if it succeeds, has `event` stored: in the change's own transaction
    /// by a store that takes it ([`super::take_attached_event`]), else right after it, before
    /// the answer. A change that fails leaves no event.
    pub async fn around<T>(
        &self,
        event: AuditEvent,
        change: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let (outcome, left) = with_attached(event, change).await;
        let value = outcome?;
        if let Some(event) = left {
            self.events.append_event(&event).await?;
        }
        Ok(value)
    }

    /// A refused login of the account `account_id` (`login.failed`, `login.throttled`,
    /// `mfa.failed`): at most one event per action, account, address and minute, its
    /// `details.count` the attempts it stands for, so failures cannot flood the log. A
    /// `login.throttled` is stored once per window by each instance, without a count of the
    /// refusals after it: those cost the attacker nothing, and must not cost a store write.
    pub async fn refused_login(&self, action: Action, account_id: &Id, reason: &str) -> Result<()> {
        let event = self
            .event(action, Actor::user(account_id))
            .failed()
            .account(account_id)
            .target("user", account_id)
            .detail("reason", reason)
            .detail("count", 1);
        let window = format!(
            "{:010x}|{action}|{account_id}|{}",
            event.at.timestamp().div_euclid(60),
            event.address.as_deref().unwrap_or("")
        );
        if action == Action::LoginThrottled && !self.first_throttled(&window, &event) {
            return Ok(());
        }
        self.events.count_in_window(&window, &event).await
    }

    /// Whether `window` is the first of its kind this instance sees this minute.
    fn first_throttled(&self, window: &str, event: &AuditEvent) -> bool {
        let minute = event.at.timestamp().div_euclid(60);
        let mut seen = self
            .throttled_windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.0 != minute {
            *seen = (minute, std::collections::HashSet::new());
        }
        seen.1.len() < MAX_THROTTLED_WINDOWS && seen.1.insert(window.to_owned())
    }

    /// A failed login for an identifier that names no account: counted, never stored (an
    /// attacker's typed strings stay out of the log).
    pub fn unknown_login_failed(&self) {
        self.unknown_login_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// How many failed logins named no account since start (for `/metrics`).
    pub fn unknown_login_failures(&self) -> u64 {
        self.unknown_login_failures.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{serve_request, take_attached_event, MockAuditRepository, RequestContext};
    use crate::clock::MockClock;
    use crate::error::Error;

    fn trail(events: MockAuditRepository) -> AuditTrail {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default());
        AuditTrail::new(Arc::new(events), Arc::new(clock))
    }

    fn user() -> Id {
        "6553f1000000000000000001".parse().expect("an id")
    }

    #[tokio::test]
    async fn an_event_taken_by_the_changes_write_is_not_stored_twice() {
        let trail = trail(MockAuditRepository::new()); // append must not be called
        let event = trail.event(Action::ApiCreated, Actor::user(&user()));
        let id = event.event_id.clone();
        let taken = trail
            .around(event, async { Ok(take_attached_event()) })
            .await
            .expect("succeeds");
        assert_eq!(taken.map(|e| e.event_id), Some(id));
    }

    #[tokio::test]
    async fn an_event_no_write_took_is_stored_after_the_change() {
        let mut events = MockAuditRepository::new();
        events
            .expect_append_event()
            .withf(|e| e.action == Action::ApiDeleted)
            .times(1)
            .returning(|_| Ok(()));
        let trail = trail(events);
        let event = trail.event(Action::ApiDeleted, Actor::user(&user()));
        trail.around(event, async { Ok(()) }).await.expect("stored");
    }

    #[tokio::test]
    async fn a_failed_change_leaves_no_event() {
        let trail = trail(MockAuditRepository::new());
        let event = trail.event(Action::ApiDeleted, Actor::user(&user()));
        let outcome: Result<()> = trail
            .around(event, async { Err(Error::NotFound("api")) })
            .await;
        assert!(matches!(outcome, Err(Error::NotFound(_))));
        assert!(
            take_attached_event().is_none(),
            "nothing outside the change"
        );
    }

    #[tokio::test]
    async fn events_carry_the_request_they_happened_in() {
        let trail = trail(MockAuditRepository::new());
        let context = RequestContext {
            address: "192.0.2.7".into(),
            user_agent: Some("x".repeat(300)),
            request_id: Some("req-1".into()),
        };
        let event = serve_request(context, async {
            trail.event(Action::LoginSucceeded, Actor::user(&user()))
        })
        .await;
        assert_eq!(event.address.as_deref(), Some("192.0.2.7"));
        assert_eq!(event.user_agent.map(|a| a.len()), Some(256));
        assert_eq!(event.request_id.as_deref(), Some("req-1"));
        let outside = trail.event(Action::SigningKeyRotated, Actor::operator());
        assert_eq!(outside.address, None);
    }

    #[tokio::test]
    async fn failed_logins_share_one_window_per_account_address_and_minute() {
        let mut events = MockAuditRepository::new();
        events
            .expect_count_in_window()
            .withf(|window, e| {
                *window
                    == format!(
                        "{:010x}|login.failed|6553f1000000000000000001|",
                        1_800_000_000 / 60
                    )
                    && e.details["count"] == 1
                    && e.outcome == crate::audit::Outcome::Failure
            })
            .times(2)
            .returning(|_, _| Ok(()));
        let trail = trail(events);
        for _ in 0..2 {
            trail
                .refused_login(Action::LoginFailed, &user(), "password")
                .await
                .expect("counted");
        }
        trail.unknown_login_failed();
        assert_eq!(trail.unknown_login_failures(), 1);
    }

    #[tokio::test]
    async fn throttled_refusals_cost_one_write_per_window() {
        let mut events = MockAuditRepository::new();
        events
            .expect_count_in_window()
            .withf(|_, e| e.action == Action::LoginThrottled)
            .times(2)
            .returning(|_, _| Ok(()));
        let trail = trail(events);
        let other: Id = "6553f1000000000000000002".parse().expect("an id");
        for account in [user(), user(), user(), other.clone(), other] {
            trail
                .refused_login(Action::LoginThrottled, &account, "password")
                .await
                .expect("recorded or skipped");
        }
    }
}
