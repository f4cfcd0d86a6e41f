//! Conformance cases of the one-time secret store and the outbox.

use chrono::Duration;
use keygate_domain::accounts::Email;
use keygate_domain::crypto::SecretDigest;
use keygate_domain::mail::{MailMessage, QueuedMail};
use keygate_domain::one_time::{OneTimeSecret, SecretPurpose, UseOutcome};
use keygate_domain::Id;

use crate::fixtures::now;
use crate::{case, Case, Repositories};

fn secret(key: &str, user: &Id, purpose: SecretPurpose, tries: u32) -> OneTimeSecret {
    OneTimeSecret {
        key: key.to_owned(),
        purpose,
        user_id: user.clone(),
        email: Some(Email::new("owner@example.com").unwrap()),
        digest: SecretDigest(format!("digest-of-{key}")),
        expires_at: now() + Duration::minutes(10),
        tries_left: tries,
        payload: None,
    }
}

/// A secret is found without being used while it is live; one never mailed keeps no address,
/// and a ceremony's payload comes back byte for byte.
async fn a_live_secret_is_found_without_being_used(stores: Repositories) {
    let store = &stores.one_time;
    let user = Id::generate(4);
    let payload: String = (1..=0x7f_u8)
        .map(char::from)
        .chain(['é', '\u{1F511}'])
        .collect();
    let token = OneTimeSecret {
        email: None,
        payload: Some(payload),
        ..secret("mfa/1", &user, SecretPurpose::SecondFactor, 5)
    };
    store.put_secret(&token).await.unwrap();
    let found = store
        .find_secret("mfa/1", SecretPurpose::SecondFactor, now())
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&token));
    assert_eq!(
        store
            .find_secret("mfa/1", SecretPurpose::PasskeyLogin, now())
            .await
            .unwrap(),
        None,
        "another purpose"
    );
    assert_eq!(
        store
            .find_secret("mfa/1", SecretPurpose::SecondFactor, token.expires_at)
            .await
            .unwrap(),
        None,
        "expired"
    );
    // Finding used nothing: a wrong code takes a try, the right one uses it once.
    let wrong = SecretDigest("nope".into());
    assert_eq!(
        store
            .use_secret("mfa/1", SecretPurpose::SecondFactor, &wrong, now())
            .await
            .unwrap(),
        UseOutcome::Wrong
    );
    let left = store
        .find_secret("mfa/1", SecretPurpose::SecondFactor, now())
        .await
        .unwrap()
        .map(|s| s.tries_left);
    assert_eq!(left, Some(4));
    assert!(matches!(
        store
            .use_secret("mfa/1", SecretPurpose::SecondFactor, &right("mfa/1"), now())
            .await
            .unwrap(),
        UseOutcome::Used(_)
    ));
    assert_eq!(
        store
            .find_secret("mfa/1", SecretPurpose::SecondFactor, now())
            .await
            .unwrap(),
        None,
        "used"
    );
}

fn right(key: &str) -> SecretDigest {
    SecretDigest(format!("digest-of-{key}"))
}

/// A secret is used once; wrong digests take its tries; the wrong purpose finds nothing.
async fn a_one_time_secret_is_used_once_and_tries_run_out(stores: Repositories) {
    let store = &stores.one_time;
    let user = Id::generate(1);
    let link = secret("aaaa", &user, SecretPurpose::PasswordReset, 1);
    store.put_secret(&link).await.unwrap();
    assert_eq!(
        store
            .use_secret(
                "aaaa",
                SecretPurpose::EmailVerification,
                &right("aaaa"),
                now()
            )
            .await
            .unwrap(),
        UseOutcome::Unknown,
        "another purpose"
    );
    assert_eq!(
        store
            .use_secret("aaaa", SecretPurpose::PasswordReset, &right("aaaa"), now())
            .await
            .unwrap(),
        UseOutcome::Used(link)
    );
    assert_eq!(
        store
            .use_secret("aaaa", SecretPurpose::PasswordReset, &right("aaaa"), now())
            .await
            .unwrap(),
        UseOutcome::Unknown,
        "spent"
    );

    let code = secret("code/u", &user, SecretPurpose::LoginCode, 2);
    store.put_secret(&code).await.unwrap();
    let wrong = SecretDigest("nope".into());
    for expected in [UseOutcome::Wrong, UseOutcome::Wrong, UseOutcome::Unknown] {
        assert_eq!(
            store
                .use_secret("code/u", SecretPurpose::LoginCode, &wrong, now())
                .await
                .unwrap(),
            expected
        );
    }
    // Out of tries: even the right code is gone.
    assert_eq!(
        store
            .use_secret("code/u", SecretPurpose::LoginCode, &right("code/u"), now())
            .await
            .unwrap(),
        UseOutcome::Unknown
    );
}

/// An expired secret is unknown; a new one under the same key replaces the old; racing uses
/// of one secret succeed once; an account's secrets go with it.
async fn one_time_secrets_expire_are_replaced_race_once_and_go_with_their_account(
    stores: Repositories,
) {
    let store = &stores.one_time;
    let user = Id::generate(2);
    let expired = OneTimeSecret {
        expires_at: now() - Duration::seconds(1),
        ..secret("old", &user, SecretPurpose::EmailVerification, 1)
    };
    store.put_secret(&expired).await.unwrap();
    assert_eq!(
        store
            .use_secret(
                "old",
                SecretPurpose::EmailVerification,
                &right("old"),
                now()
            )
            .await
            .unwrap(),
        UseOutcome::Unknown
    );

    let first = secret("code/x", &user, SecretPurpose::LoginCode, 5);
    store.put_secret(&first).await.unwrap();
    let second = OneTimeSecret {
        digest: SecretDigest("second".into()),
        ..first.clone()
    };
    store.put_secret(&second).await.unwrap();
    assert_eq!(
        store
            .use_secret("code/x", SecretPurpose::LoginCode, &right("code/x"), now())
            .await
            .unwrap(),
        UseOutcome::Wrong,
        "the first code was replaced"
    );

    let link = secret("race", &user, SecretPurpose::PasswordReset, 1);
    store.put_secret(&link).await.unwrap();
    let presented = right("race");
    let (a, b) = tokio::join!(
        store.use_secret("race", SecretPurpose::PasswordReset, &presented, now()),
        store.use_secret("race", SecretPurpose::PasswordReset, &presented, now()),
    );
    let used = [a.unwrap(), b.unwrap()]
        .into_iter()
        .filter(|o| matches!(o, UseOutcome::Used(_)))
        .count();
    assert_eq!(used, 1);

    let other = Id::generate(3);
    store
        .put_secret(&secret("mine", &user, SecretPurpose::PasswordReset, 1))
        .await
        .unwrap();
    store
        .put_secret(&secret("theirs", &other, SecretPurpose::PasswordReset, 1))
        .await
        .unwrap();
    store.delete_secrets_of(&user).await.unwrap();
    assert_eq!(
        store
            .use_secret("mine", SecretPurpose::PasswordReset, &right("mine"), now())
            .await
            .unwrap(),
        UseOutcome::Unknown
    );
    assert!(matches!(
        store
            .use_secret(
                "theirs",
                SecretPurpose::PasswordReset,
                &right("theirs"),
                now()
            )
            .await
            .unwrap(),
        UseOutcome::Used(_)
    ));
}

fn queued(subject: &str, due_in: i64) -> QueuedMail {
    QueuedMail {
        id: Id::generate(now().timestamp()),
        message: MailMessage {
            to: "someone@example.com".into(),
            subject: subject.into(),
            text: "text — with ünïcode".into(),
            html: "<p>html</p>".into(),
        },
        created_at: now(),
        attempts: 0,
        next_attempt_at: now() + Duration::seconds(due_in),
        lease_until: None,
    }
}

/// Due messages are claimed once while leased, come back after the lease or a retry, and
/// leave when removed.
async fn the_outbox_leases_retries_and_removes(stores: Repositories) {
    let outbox = &stores.outbox;
    let due = queued("due", 0);
    let later = queued("later", 3600);
    outbox.enqueue(&due).await.unwrap();
    outbox.enqueue(&later).await.unwrap();
    assert_eq!(outbox.queued().await.unwrap(), 2);
    let lease = now() + Duration::seconds(60);
    let (a, b) = tokio::join!(
        outbox.claim_due(now(), lease, 10),
        outbox.claim_due(now(), lease, 10)
    );
    let claimed: Vec<QueuedMail> = [a.unwrap(), b.unwrap()].concat();
    assert_eq!(claimed.len(), 1, "one worker takes it, once");
    assert_eq!(claimed[0].message, due.message);
    assert_eq!(claimed[0].lease_until, Some(lease));
    // After the lease the message is taken again (a crashed worker's mail is not lost).
    let after = outbox
        .claim_due(lease, lease + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    let second = after[0].lease_until.unwrap();
    let first = claimed[0].lease_until.unwrap();
    assert_ne!(first, second);
    // The first worker's lapsed claim can neither remove nor release it (issue 31).
    assert!(!outbox.remove(&due.id, first).await.unwrap());
    assert!(!outbox.retry_later(&due.id, first, 9, now()).await.unwrap());
    assert_eq!(outbox.queued().await.unwrap(), 2);
    assert!(outbox
        .retry_later(&due.id, second, 3, now() + Duration::seconds(30))
        .await
        .unwrap());
    assert!(outbox.claim_due(now(), lease, 10).await.unwrap().is_empty());
    let retried = outbox
        .claim_due(
            now() + Duration::seconds(30),
            lease + Duration::seconds(60),
            10,
        )
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 3);
    assert!(outbox
        .remove(&due.id, retried[0].lease_until.unwrap())
        .await
        .unwrap());
    assert_eq!(outbox.queued().await.unwrap(), 1);
}

/// Every case of this module.
/// Purging removes exactly the secrets that expired at or before the instant given, says how
/// many went, and leaves the live ones usable.
async fn expired_one_time_secrets_are_purged_and_live_ones_stay(stores: Repositories) {
    let store = &stores.one_time;
    let user = Id::generate(7);
    let live = secret("link/live", &user, SecretPurpose::PasswordReset, 1);
    let expired = OneTimeSecret {
        expires_at: now() - Duration::minutes(1),
        ..secret("link/old", &user, SecretPurpose::PasswordReset, 1)
    };
    let at_the_instant = OneTimeSecret {
        expires_at: now(),
        ..secret("link/now", &user, SecretPurpose::EmailVerification, 1)
    };
    for secret in [&live, &expired, &at_the_instant] {
        store.put_secret(secret).await.unwrap();
    }
    assert_eq!(store.purge_expired_secrets(now()).await.unwrap(), 2);
    assert_eq!(
        store.purge_expired_secrets(now()).await.unwrap(),
        0,
        "already gone"
    );
    for gone in [&expired, &at_the_instant] {
        assert_eq!(
            store
                .find_secret(
                    &gone.key,
                    gone.purpose,
                    gone.expires_at - Duration::seconds(1)
                )
                .await
                .unwrap(),
            None,
            "{} was purged",
            gone.key
        );
    }
    assert_eq!(
        store
            .use_secret(&live.key, live.purpose, &live.digest, now())
            .await
            .unwrap(),
        UseOutcome::Used(live.clone())
    );
}

pub(crate) const CASES: &[Case] = &[
    case!(expired_one_time_secrets_are_purged_and_live_ones_stay),
    case!(a_one_time_secret_is_used_once_and_tries_run_out),
    case!(one_time_secrets_expire_are_replaced_race_once_and_go_with_their_account),
    case!(a_live_secret_is_found_without_being_used),
    case!(the_outbox_leases_retries_and_removes),
];
