//! Conformance cases of the session store.

use chrono::Duration;
use keygate_domain::crypto::SecretDigest;
use keygate_domain::Id;

use crate::fixtures::{now, refresh_token, session};
use crate::{case, Case, Repositories};

/// A created session and its first refresh token can be read back.
async fn created_session_and_token_can_be_found(stores: Repositories) {
    let s = session(&Id::generate(1));
    let t = refresh_token(&s, "digest-1");
    stores.sessions.create(&s, &t).await.unwrap();
    assert_eq!(stores.sessions.find(&s.id).await.unwrap(), Some(s.clone()));
    let found = stores.sessions.find_refresh_token(&t.digest).await.unwrap();
    assert_eq!(found, Some(t));
    let unknown = SecretDigest("unknown".into());
    assert_eq!(
        stores.sessions.find_refresh_token(&unknown).await.unwrap(),
        None
    );
    assert_eq!(stores.sessions.find(&Id::generate(0)).await.unwrap(), None);
}

/// A token can be rotated once; the second rotation of it fails and stores nothing.
async fn rotation_spends_a_token_exactly_once(stores: Repositories) {
    let s = session(&Id::generate(1));
    let first = refresh_token(&s, "digest-1");
    stores.sessions.create(&s, &first).await.unwrap();
    let second = refresh_token(&s, "digest-2");
    let at = now();
    assert!(stores
        .sessions
        .rotate_refresh_token(&first.digest, &second, at)
        .await
        .unwrap());
    let spent = stores
        .sessions
        .find_refresh_token(&first.digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spent.used_at, Some(at));
    assert!(stores
        .sessions
        .find_refresh_token(&second.digest)
        .await
        .unwrap()
        .is_some());

    let third = refresh_token(&s, "digest-3");
    assert!(!stores
        .sessions
        .rotate_refresh_token(&first.digest, &third, at)
        .await
        .unwrap());
    assert_eq!(
        stores
            .sessions
            .find_refresh_token(&third.digest)
            .await
            .unwrap(),
        None
    );
    let unknown = SecretDigest("never-issued".into());
    assert!(!stores
        .sessions
        .rotate_refresh_token(&unknown, &third, at)
        .await
        .unwrap());
}

/// Of many concurrent rotations of one token, exactly one succeeds.
async fn racing_rotations_have_one_winner(stores: Repositories) {
    let s = session(&Id::generate(1));
    let first = refresh_token(&s, "digest-0");
    stores.sessions.create(&s, &first).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (sessions, used, next) = (
            stores.sessions.clone(),
            first.digest.clone(),
            refresh_token(&s, &format!("next-{i}")),
        );
        tasks.push(tokio::spawn(async move {
            sessions
                .rotate_refresh_token(&used, &next, now())
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// Revoking marks the session with the time; revoking again changes nothing.
async fn revoke_marks_one_session(stores: Repositories) {
    let user_id = Id::generate(1);
    let (a, b) = (session(&user_id), session(&user_id));
    stores
        .sessions
        .create(&a, &refresh_token(&a, "da"))
        .await
        .unwrap();
    stores
        .sessions
        .create(&b, &refresh_token(&b, "db"))
        .await
        .unwrap();
    let at = now();
    stores.sessions.revoke(&a.id, at).await.unwrap();
    stores
        .sessions
        .revoke(&a.id, at + Duration::seconds(5))
        .await
        .unwrap();
    stores.sessions.revoke(&Id::generate(0), at).await.unwrap();
    assert_eq!(
        stores
            .sessions
            .find(&a.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at)
    );
    assert_eq!(
        stores
            .sessions
            .find(&b.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
}

/// Revoking all of a user's sessions spares the one named and other users' sessions.
async fn revoke_all_keeps_the_named_session(stores: Repositories) {
    let user_id = Id::generate(1);
    let other_user = Id::generate(1);
    let (a, b, c) = (session(&user_id), session(&user_id), session(&user_id));
    let theirs = session(&other_user);
    for (s, d) in [(&a, "da"), (&b, "db"), (&c, "dc"), (&theirs, "dt")] {
        stores
            .sessions
            .create(s, &refresh_token(s, d))
            .await
            .unwrap();
    }
    let at = now();
    stores
        .sessions
        .revoke_all_for_user(&user_id, Some(b.id.clone()), at)
        .await
        .unwrap();
    let revoked = |id: Id| {
        let sessions = stores.sessions.clone();
        async move {
            sessions
                .find(&id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        }
    };
    assert!(revoked(a.id.clone()).await);
    assert!(!revoked(b.id.clone()).await);
    assert!(revoked(c.id.clone()).await);
    assert!(!revoked(theirs.id.clone()).await);
    stores
        .sessions
        .revoke_all_for_user(&user_id, None, at)
        .await
        .unwrap();
    assert!(revoked(b.id).await);
}

/// Deleting a user's sessions removes them and every refresh token they issued.
async fn delete_all_forgets_sessions_and_tokens(stores: Repositories) {
    let user_id = Id::generate(1);
    let other_user = Id::generate(1);
    let s = session(&user_id);
    let first = refresh_token(&s, "d1");
    stores.sessions.create(&s, &first).await.unwrap();
    let second = refresh_token(&s, "d2");
    stores
        .sessions
        .rotate_refresh_token(&first.digest, &second, now())
        .await
        .unwrap();
    let theirs = session(&other_user);
    stores
        .sessions
        .create(&theirs, &refresh_token(&theirs, "dt"))
        .await
        .unwrap();

    stores.sessions.delete_all_for_user(&user_id).await.unwrap();
    assert_eq!(stores.sessions.find(&s.id).await.unwrap(), None);
    assert_eq!(
        stores
            .sessions
            .find_refresh_token(&first.digest)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        stores
            .sessions
            .find_refresh_token(&second.digest)
            .await
            .unwrap(),
        None
    );
    assert!(stores.sessions.find(&theirs.id).await.unwrap().is_some());
}

/// Purging removes ended sessions and tokens, and nothing that is still valid.
async fn purge_removes_only_what_has_expired(stores: Repositories) {
    let user_id = Id::generate(1);
    let mut ended = session(&user_id);
    ended.created_at = now() - Duration::days(31);
    ended.expires_at = now() - Duration::seconds(1);
    let ended_token = refresh_token(&ended, "ended");
    stores.sessions.create(&ended, &ended_token).await.unwrap();
    let live = session(&user_id);
    let live_first = refresh_token(&live, "live-1");
    stores.sessions.create(&live, &live_first).await.unwrap();
    let live_second = refresh_token(&live, "live-2");
    assert!(stores
        .sessions
        .rotate_refresh_token(&live_first.digest, &live_second, now())
        .await
        .unwrap());

    let purged = stores.sessions.purge_expired(now()).await.unwrap();
    assert_eq!(purged, 2, "one ended session and its one token");
    assert_eq!(stores.sessions.find(&ended.id).await.unwrap(), None);
    assert_eq!(
        stores
            .sessions
            .find_refresh_token(&ended_token.digest)
            .await
            .unwrap(),
        None
    );
    assert!(stores.sessions.find(&live.id).await.unwrap().is_some());
    let spent = stores
        .sessions
        .find_refresh_token(&live_first.digest)
        .await
        .unwrap();
    assert!(
        spent.is_some(),
        "spent tokens of live sessions stay, for reuse detection"
    );
    assert!(stores
        .sessions
        .find_refresh_token(&live_second.digest)
        .await
        .unwrap()
        .is_some());
    assert_eq!(stores.sessions.purge_expired(now()).await.unwrap(), 0);
    // Deleting the user later still finds nothing dangling.
    stores.sessions.delete_all_for_user(&user_id).await.unwrap();
    assert_eq!(stores.sessions.find(&live.id).await.unwrap(), None);
}

/// A rotation that cannot store its next token spends nothing: the client may retry with the
/// same token (on MongoDB the old order, spend then insert, burned it).
async fn a_rotation_that_cannot_store_its_next_token_spends_nothing(stores: Repositories) {
    let s = session(&Id::generate(1));
    let current = refresh_token(&s, "digest-current");
    stores.sessions.create(&s, &current).await.unwrap();
    let other = session(&Id::generate(1));
    let taken = refresh_token(&other, "digest-taken");
    stores.sessions.create(&other, &taken).await.unwrap();
    // The next token's digest is already stored: storing it must fail.
    let clash = refresh_token(&s, "digest-taken");
    let result = stores
        .sessions
        .rotate_refresh_token(&current.digest, &clash, now())
        .await;
    assert!(result.is_err(), "{result:?}");
    let still = stores
        .sessions
        .find_refresh_token(&current.digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.used_at, None, "the presented token must stay unspent");
    assert_eq!(
        stores
            .sessions
            .find_refresh_token(&taken.digest)
            .await
            .unwrap(),
        Some(taken),
        "the other session's token is untouched"
    );
    let next = refresh_token(&s, "digest-next");
    assert!(stores
        .sessions
        .rotate_refresh_token(&current.digest, &next, now())
        .await
        .unwrap());
}

/// A session keeps only its current refresh token and the one spent before it (enough to
/// detect reuse of the last token): rotation does not grow the store.
async fn rotation_keeps_only_the_current_token_and_its_predecessor(stores: Repositories) {
    let s = session(&Id::generate(1));
    let digests: Vec<String> = (0..5).map(|i| format!("digest-gen-{i}")).collect();
    stores
        .sessions
        .create(&s, &refresh_token(&s, &digests[0]))
        .await
        .unwrap();
    for pair in digests.windows(2) {
        assert!(stores
            .sessions
            .rotate_refresh_token(
                &SecretDigest(pair[0].clone()),
                &refresh_token(&s, &pair[1]),
                now()
            )
            .await
            .unwrap());
    }
    let find = |i: usize| {
        let stores = stores.clone();
        let digest = SecretDigest(digests[i].clone());
        async move { stores.sessions.find_refresh_token(&digest).await.unwrap() }
    };
    for old in 0..3 {
        assert_eq!(find(old).await, None, "generation {old} should be gone");
    }
    assert!(
        find(3).await.unwrap().used_at.is_some(),
        "the predecessor is kept, spent"
    );
    assert!(
        find(4).await.unwrap().used_at.is_none(),
        "the current token is kept"
    );
}

/// Every case of this module; a case left out of this list fails the build (dead code).
pub(crate) const CASES: &[Case] = &[
    case!(a_rotation_that_cannot_store_its_next_token_spends_nothing),
    case!(rotation_keeps_only_the_current_token_and_its_predecessor),
    case!(created_session_and_token_can_be_found),
    case!(rotation_spends_a_token_exactly_once),
    case!(racing_rotations_have_one_winner),
    case!(revoke_marks_one_session),
    case!(revoke_all_keeps_the_named_session),
    case!(delete_all_forgets_sessions_and_tokens),
    case!(purge_removes_only_what_has_expired),
];
