//! Conformance cases of the audit log (§13).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use keygate_domain::audit::{Action, Actor, AuditEvent, AuditQuery, AuditTrail};
use keygate_domain::{Clock, Id};

use crate::fixtures::{now, user};
use crate::{case, Case, Repositories};

fn event(action: Action, account: &Id, at: DateTime<Utc>) -> AuditEvent {
    let mut event = AuditEvent::new(action, Actor::user(account), at)
        .account(account)
        .target("user", account)
        .detail("method", "password");
    event.address = Some("192.0.2.1".into());
    event.user_agent = Some("curl/8".into());
    event.request_id = Some("req".into());
    event
}

fn ids(events: &[AuditEvent]) -> Vec<Id> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

/// Events come back whole, newest first; an account's, an action's, a time range's, and
/// the page after an event are each exactly what was asked.
async fn events_list_newest_first_by_every_filter(stores: Repositories) {
    let store = &stores.audit;
    let (alice, bob) = (Id::generate(1), Id::generate(2));
    let start = now() - Duration::hours(1);
    let mut written = Vec::new();
    for i in 0..6 {
        let (action, account) = match i % 3 {
            0 => (Action::LoginSucceeded, &alice),
            1 => (Action::LoginFailed, &alice),
            _ => (Action::ApiCreated, &bob),
        };
        let e = event(action, account, start + Duration::minutes(i));
        store.append_event(&e).await.unwrap();
        written.push(e);
    }
    let all = store
        .list_events(&AuditQuery::default(), None, 10)
        .await
        .unwrap();
    let mut newest_first = written.clone();
    newest_first.reverse();
    assert_eq!(all.events, newest_first, "whole events, newest first");
    assert_eq!(all.stopped_after, None);

    let of_alice = AuditQuery {
        account_id: Some(alice.clone()),
        ..AuditQuery::default()
    };
    let page = store.list_events(&of_alice, None, 2).await.unwrap();
    assert_eq!(
        ids(&page.events),
        ids(&[written[4].clone(), written[3].clone(), written[1].clone()])
    );
    let after = store
        .list_events(&of_alice, Some(written[3].event_id.clone()), 2)
        .await
        .unwrap();
    assert_eq!(
        ids(&after.events),
        ids(&[written[1].clone(), written[0].clone()])
    );

    let failures = AuditQuery {
        actions: Some(vec![Action::LoginFailed, Action::ApiCreated]),
        since: Some(start + Duration::minutes(2)),
        until: Some(start + Duration::minutes(4)),
        ..AuditQuery::default()
    };
    let found = store.list_events(&failures, None, 10).await.unwrap();
    assert_eq!(
        ids(&found.events),
        ids(&[written[4].clone(), written[2].clone()])
    );
}

/// Twenty failures of one window at once become one event counting twenty; another window
/// is another event.
async fn refused_logins_of_a_window_count_into_one_event(stores: Repositories) {
    let store = stores.audit.clone();
    let account = Id::generate(3);
    let at = now();
    let mut racing = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        let e = event(Action::LoginFailed, &account, at)
            .failed()
            .detail("count", 1);
        let account = account.clone();
        racing.push(tokio::spawn(async move {
            store
                .count_in_window(&format!("w1|{account}"), &e)
                .await
                .unwrap();
        }));
    }
    for task in racing {
        task.await.unwrap();
    }
    store
        .count_in_window(
            "w2",
            &event(Action::LoginFailed, &account, at).detail("count", 1),
        )
        .await
        .unwrap();
    let listed = store
        .list_events(&AuditQuery::default(), None, 10)
        .await
        .unwrap();
    let mut counts: Vec<u64> = listed
        .events
        .iter()
        .map(|e| e.details["count"].as_u64().unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 20]);
}

/// The purge removes only events older than its cutoff, at most `max` a call.
async fn the_purge_removes_old_events_in_batches(stores: Repositories) {
    let store = &stores.audit;
    let account = Id::generate(4);
    let cutoff = now() - Duration::days(30);
    for i in 0..5 {
        store
            .append_event(&event(
                Action::LoginSucceeded,
                &account,
                cutoff - Duration::hours(i + 1),
            ))
            .await
            .unwrap();
    }
    let kept = event(
        Action::LoginSucceeded,
        &account,
        cutoff + Duration::hours(1),
    );
    store.append_event(&kept).await.unwrap();
    assert_eq!(store.purge_older_than(cutoff, 3).await.unwrap(), 3);
    assert_eq!(store.purge_older_than(cutoff, 3).await.unwrap(), 2);
    assert_eq!(store.purge_older_than(cutoff, 3).await.unwrap(), 0);
    let left = store
        .list_events(
            &AuditQuery {
                account_id: Some(account),
                ..AuditQuery::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(ids(&left.events), vec![kept.event_id.clone()]);
    let by_action = store
        .list_events(
            &AuditQuery {
                actions: Some(vec![Action::LoginSucceeded]),
                ..AuditQuery::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(ids(&by_action.events), vec![kept.event_id], "by action too");
}

/// Blanking an account empties the address and user agent of each of its events, a batch at
/// a time, and of no other account's; the rest of each event stays.
async fn blanking_an_account_keeps_all_but_its_addresses(stores: Repositories) {
    let store = &stores.audit;
    let (gone, other) = (Id::generate(5), Id::generate(6));
    let start = now() - Duration::hours(1);
    for i in 0..5 {
        store
            .append_event(&event(
                Action::LoginSucceeded,
                &gone,
                start + Duration::minutes(i),
            ))
            .await
            .unwrap();
    }
    store
        .append_event(&event(Action::LoginSucceeded, &other, start))
        .await
        .unwrap();
    let mut after = None;
    let mut calls = 0;
    while let Some(last) = store.blank_account(&gone, after.take(), 2).await.unwrap() {
        after = Some(last);
        calls += 1;
        assert!(calls < 10, "the blanking goes on");
    }
    let all = store
        .list_events(&AuditQuery::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(all.events.len(), 6);
    for e in &all.events {
        let blank = e.account_id.as_ref() == Some(&gone);
        assert_eq!(e.address.is_none(), blank, "{e:?}");
        assert_eq!(e.user_agent.is_none(), blank, "{e:?}");
        assert_eq!(e.request_id.as_deref(), Some("req"));
        assert_eq!(e.details["method"], "password");
    }
}

struct Now;
impl Clock for Now {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A change's event is stored with it; a change the store refuses leaves none.
async fn an_event_lands_with_its_change_or_not_at_all(stores: Repositories) {
    let trail = AuditTrail::new(stores.audit.clone(), Arc::new(Now));
    let first = user("auditee", "auditee@example.com");
    let registered = trail
        .event(Action::AccountRegistered, Actor::user(&first.id))
        .account(&first.id);
    trail
        .around(registered.clone(), stores.users.insert(&first))
        .await
        .unwrap();
    let taken = user("auditee", "other@example.com");
    let refused = trail
        .event(Action::AccountRegistered, Actor::user(&taken.id))
        .account(&taken.id);
    assert!(trail
        .around(refused, stores.users.insert(&taken))
        .await
        .is_err());
    let all = stores
        .audit
        .list_events(&AuditQuery::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(all.events, vec![registered]);
}

/// Every case of this module.
pub const CASES: &[Case] = &[
    case!(events_list_newest_first_by_every_filter),
    case!(refused_logins_of_a_window_count_into_one_event),
    case!(the_purge_removes_old_events_in_batches),
    case!(blanking_an_account_keeps_all_but_its_addresses),
    case!(an_event_lands_with_its_change_or_not_at_all),
];
