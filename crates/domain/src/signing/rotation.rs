//! The rotation rules of §7 as pure functions of the stored keys and the time.
//!
//! Keys are ordered by generation. A key signs from its `signs_from` until the next key's; it
//! is published from when it is made until the last token it can have signed has expired (the
//! next key's `signs_from` plus the access-token lifetime), and is gone after.

use chrono::{DateTime, Duration, Utc};

use super::model::{SigningAlgorithm, SigningKey};

/// Slack past a retired key's last token's expiry before the key goes: covers clocks of
/// instances that disagree a little (never more than one token lifetime).
const RETIREMENT_SLACK_SECS: i64 = 60;

/// A key as the token adapter holds it: the key and when it stops verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledKey {
    /// The key.
    pub key: SigningKey,
    /// When the next key takes over signing, if one is stored.
    pub retires_at: Option<DateTime<Utc>>,
    /// When it stops verifying and leaves the JWKS, if it is retiring.
    pub gone_at: Option<DateTime<Utc>>,
}

impl InstalledKey {
    /// Whether the key may still verify tokens (and be published) at `now`.
    pub fn is_published_at(&self, now: DateTime<Utc>) -> bool {
        self.gone_at.is_none_or(|gone| now < gone)
    }

    /// Whether it is the key that signs at `now`.
    pub fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.key.signs_from <= now && self.retires_at.is_none_or(|retired| now < retired)
    }
}

/// A key that should be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedKey {
    /// Its generation: one more than the newest stored.
    pub generation: u64,
    /// When it starts signing.
    pub signs_from: DateTime<Utc>,
}

/// The rotation settings the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySchedule {
    /// What new keys are made for.
    pub algorithm: SigningAlgorithm,
    /// How long a key signs before the next one is due; `None`: never by schedule.
    pub rotation: Option<Duration>,
    /// How long a new key is published before it signs.
    pub publish_ahead: Duration,
    /// The longest an access token lives.
    pub token_lifetime: Duration,
}

impl KeySchedule {
    /// Every key in `keys` (sorted by generation) that is still published at `now`, with its
    /// retirement times.
    pub fn installed(&self, keys: &[SigningKey], now: DateTime<Utc>) -> Vec<InstalledKey> {
        self.with_times(keys)
            .filter(|key| key.is_published_at(now))
            .collect()
    }

    /// The generations of keys in `keys` whose last token expired more than a day before
    /// `now`: nothing needs them, so the store may drop their private halves.
    pub fn disposable(&self, keys: &[SigningKey], now: DateTime<Utc>) -> Vec<u64> {
        self.with_times(keys)
            .filter(|key| {
                key.gone_at
                    .is_some_and(|gone| gone + Duration::days(1) <= now)
            })
            .map(|key| key.key.generation)
            .collect()
    }

    fn with_times<'a>(&self, keys: &'a [SigningKey]) -> impl Iterator<Item = InstalledKey> + 'a {
        let slack = Duration::seconds(RETIREMENT_SLACK_SECS).min(self.token_lifetime);
        let lifetime = self.token_lifetime + slack;
        keys.iter().enumerate().map(move |(i, key)| {
            let retires_at = keys.get(i + 1).map(|next| next.signs_from);
            InstalledKey {
                key: key.clone(),
                retires_at,
                gone_at: retires_at.map(|retired| retired + lifetime),
            }
        })
    }

    /// The key to make at `now` by the rules, if any: the first one (signing at once), one of
    /// the configured algorithm when the newest is of another, or the next by schedule. A
    /// key made while another signs is published `publish_ahead` before it signs.
    pub fn due(&self, keys: &[SigningKey], now: DateTime<Utc>) -> Option<PlannedKey> {
        if !self.algorithm.is_asymmetric() {
            return None;
        }
        let Some(newest) = keys.last() else {
            return Some(PlannedKey {
                generation: 1,
                signs_from: now,
            });
        };
        let ahead = self.next_after(keys, now);
        if newest.algorithm != self.algorithm {
            return Some(ahead);
        }
        if newest.signs_from > now {
            return None;
        }
        let rotation = self.rotation?;
        let due_at = newest.signs_from + rotation;
        (now + self.publish_ahead >= due_at).then_some(PlannedKey {
            generation: ahead.generation,
            signs_from: ahead.signs_from.max(due_at),
        })
    }

    /// The key `keygate keys rotate` makes at `now`; `None` when a next key is already
    /// published and waiting to sign (rotating again would only push it back).
    pub fn rotate(&self, keys: &[SigningKey], now: DateTime<Utc>) -> Option<PlannedKey> {
        if !self.algorithm.is_asymmetric() {
            return None;
        }
        match keys.last() {
            Some(newest) if newest.signs_from > now && newest.algorithm == self.algorithm => None,
            _ => Some(self.next_after(keys, now)),
        }
    }

    /// The next generation, signing at once if no stored key signs at `now` (nothing could
    /// have cached a JWKS with a key that matters), else `publish_ahead` from now.
    fn next_after(&self, keys: &[SigningKey], now: DateTime<Utc>) -> PlannedKey {
        let generation = keys.last().map_or(1, |newest| newest.generation + 1);
        let anything_signs = self
            .with_times(keys)
            .any(|key| key.signs_at(now) && key.key.algorithm.is_asymmetric());
        PlannedKey {
            generation,
            signs_from: if anything_signs {
                now + self.publish_ahead
            } else {
                now
            },
        }
    }
}

#[cfg(test)]
mod tests;
