//! Reading the audit log (§13): an account's own events, every account's for administrators,
//! the export, and keeping it: retention and blanking a deleted account's addresses.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::model::AuditEvent;
use super::ports::{AuditBatch, AuditRepository};
use super::query::AuditQuery;
use crate::accounts::{Role, UserDataEraser, UserRepository};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::paging::{Page, PageRequest};
use crate::sessions::Principal;

/// Events removed or blanked per store write: small, so the purge never holds the writer.
pub const MAINTENANCE_BATCH: usize = 500;

/// What `audit.*` configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct AuditSettings {
    /// How long events are kept, in days (§13: default 400).
    #[serde(deserialize_with = "crate::units::at_least_one")]
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 400,
        }
    }
}

/// The audit log's use cases.
pub struct AuditService {
    events: Arc<dyn AuditRepository>,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    settings: AuditSettings,
}

impl AuditService {
    /// Wires the service.
    pub fn new(
        events: Arc<dyn AuditRepository>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        settings: AuditSettings,
    ) -> Self {
        Self {
            events,
            users,
            clock,
            settings,
        }
    }

    /// `GET /audit`: the caller's own events, newest first (an `account_id` filter is ignored).
    pub async fn own_events(
        &self,
        principal: &Principal,
        mut query: AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        query.account_id = Some(principal.user_id.clone());
        self.page(&query, page).await
    }

    /// `GET /admin/audit`: every account's events; `403 forbidden` unless an administrator.
    pub async fn all_events(
        &self,
        principal: &Principal,
        query: &AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        self.require_admin(principal).await?;
        self.page(query, page).await
    }

    /// `403 forbidden` unless the caller is an administrator.
    pub async fn require_admin(&self, principal: &Principal) -> Result<()> {
        match self.users.find_by_id(&principal.user_id).await? {
            Some(user) if user.role == Role::Admin && !user.deleting => Ok(()),
            Some(_) => Err(Error::Forbidden("administrators only")),
            None => Err(Error::Unauthorized("account no longer exists")),
        }
    }

    /// The export's next batch: up to `limit` events `query` wants, older than `before`,
    /// newest first, with where to go on (`None`: the export is complete). No page is built:
    /// the caller streams them out and asks again.
    pub async fn export_batch(
        &self,
        query: &AuditQuery,
        before: Option<Id>,
        limit: usize,
    ) -> Result<(Vec<AuditEvent>, Option<Id>)> {
        let AuditBatch {
            mut events,
            stopped_after,
        } = self.events.list_events(query, before, limit).await?;
        if events.len() > limit {
            events.truncate(limit);
            let next = events.last().map(|e| e.event_id.clone());
            return Ok((events, next));
        }
        Ok((events, stopped_after))
    }

    async fn page(&self, query: &AuditQuery, page: &PageRequest) -> Result<Page<AuditEvent>> {
        let before = page.after_id()?;
        let AuditBatch {
            events,
            stopped_after,
        } = self.events.list_events(query, before, page.limit()).await?;
        if events.len() <= page.limit() {
            if let Some(stopped) = stopped_after {
                return Ok(Page::cut_short(events, stopped.as_str()));
            }
        }
        Ok(Page::from_overfetch(events, page.limit(), |e| {
            e.event_id.to_string()
        }))
    }

    /// Removes every event older than `audit.retention_days`, one small batch per store write,
    /// yielding between batches; answers how many it removed.
    pub async fn purge_expired(&self) -> Result<usize> {
        let cutoff =
            self.clock.now() - chrono::Duration::days(i64::from(self.settings.retention_days));
        let mut removed = 0;
        loop {
            let batch = self
                .events
                .purge_older_than(cutoff, MAINTENANCE_BATCH)
                .await?;
            removed += batch;
            if batch < MAINTENANCE_BATCH {
                return Ok(removed);
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Blanks `address` and `user_agent` in a deleted account's events (§13), keeping the rest
/// until retention ends.
pub struct AuditEraser {
    events: Arc<dyn AuditRepository>,
}

impl AuditEraser {
    /// Blanks in `events`.
    pub fn new(events: Arc<dyn AuditRepository>) -> Self {
        Self { events }
    }
}

#[async_trait]
impl UserDataEraser for AuditEraser {
    async fn erase_user_data(&self, user_id: &Id) -> Result<()> {
        let mut after = None;
        loop {
            match self
                .events
                .blank_account(user_id, after.take(), MAINTENANCE_BATCH)
                .await?
            {
                Some(last) => after = Some(last),
                None => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::MockUserRepository;
    use crate::audit::{Action, Actor, MockAuditRepository};
    use crate::clock::MockClock;

    fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    fn principal() -> Principal {
        Principal {
            user_id: "6553f1000000000000000001".parse().expect("an id"),
            session_id: "6553f1000000000000000002".parse().expect("an id"),
        }
    }

    fn service(events: MockAuditRepository, users: MockUserRepository) -> AuditService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(1_800_000_000));
        AuditService::new(
            Arc::new(events),
            Arc::new(users),
            Arc::new(clock),
            AuditSettings::default(),
        )
    }

    fn events(n: usize) -> Vec<AuditEvent> {
        (0..n)
            .map(|i| {
                AuditEvent::new(
                    Action::LoginSucceeded,
                    Actor::operator(),
                    at(1_700_000_000 - i as i64),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn own_events_are_always_the_callers() {
        let mut store = MockAuditRepository::new();
        store
            .expect_list_events()
            .withf(|q, before, limit| {
                q.account_id == Some(principal().user_id) && before.is_none() && *limit == 2
            })
            .returning(|_, _, _| {
                Ok(AuditBatch {
                    events: events(3),
                    stopped_after: None,
                })
            });
        let svc = service(store, MockUserRepository::new());
        let someone_else = AuditQuery {
            account_id: Some("6553f10000000000000000ff".parse().expect("an id")),
            ..AuditQuery::default()
        };
        let page = svc
            .own_events(&principal(), someone_else, &PageRequest::first_of(2))
            .await
            .expect("a page");
        assert_eq!(page.items.len(), 2);
        assert!(page.next_cursor.is_some());
    }

    #[tokio::test]
    async fn a_scan_that_met_its_bound_hands_out_a_cursor() {
        let mut store = MockAuditRepository::new();
        let stopped: Id = "6553f1000000000000000009".parse().expect("an id");
        let expected = stopped.clone();
        store.expect_list_events().returning(move |_, _, _| {
            Ok(AuditBatch {
                events: events(1),
                stopped_after: Some(expected.clone()),
            })
        });
        let page = service(store, MockUserRepository::new())
            .own_events(&principal(), AuditQuery::default(), &PageRequest::first())
            .await
            .expect("a page");
        let cursor = page.next_cursor.expect("more to look at");
        let next = PageRequest::new(None, Some(cursor)).expect("ours");
        assert_eq!(next.after_id().expect("an id"), Some(stopped));
    }

    #[tokio::test]
    async fn the_admin_view_is_for_administrators_only() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().returning(|_| {
            Ok(Some(crate::accounts::User::new_account(
                principal().user_id,
                crate::accounts::AccountDetails::default(),
                String::new(),
                at(1_700_000_000),
            )))
        });
        let svc = service(MockAuditRepository::new(), users);
        assert!(matches!(
            svc.all_events(&principal(), &AuditQuery::default(), &PageRequest::first())
                .await,
            Err(Error::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn the_purge_goes_on_in_batches_until_one_is_short() {
        let mut store = MockAuditRepository::new();
        let mut rounds = vec![MAINTENANCE_BATCH, MAINTENANCE_BATCH, 7].into_iter();
        store
            .expect_purge_older_than()
            .withf(|cutoff, max| {
                *cutoff == at(1_800_000_000) - chrono::Duration::days(400)
                    && *max == MAINTENANCE_BATCH
            })
            .times(3)
            .returning(move |_, _| Ok(rounds.next().unwrap_or(0)));
        let removed = service(store, MockUserRepository::new())
            .purge_expired()
            .await
            .expect("purged");
        assert_eq!(removed, 2 * MAINTENANCE_BATCH + 7);
    }

    #[tokio::test]
    async fn deleting_an_account_blanks_until_nothing_is_left() {
        let mut store = MockAuditRepository::new();
        let first: Id = "6553f1000000000000000010".parse().expect("an id");
        let second: Id = "6553f1000000000000000020".parse().expect("an id");
        let mut rounds = vec![Some(first.clone()), Some(second.clone()), None].into_iter();
        let mut expected_after = vec![None, Some(first), Some(second)].into_iter();
        store
            .expect_blank_account()
            .times(3)
            .returning(move |_, after, max| {
                assert_eq!(after, expected_after.next().flatten());
                assert_eq!(max, MAINTENANCE_BATCH);
                Ok(rounds.next().flatten())
            });
        AuditEraser::new(Arc::new(store))
            .erase_user_data(&principal().user_id)
            .await
            .expect("blanked");
    }
}
