//! The throttle's windows in a store every instance shares (§12: N instances on one MongoDB
//! allow what one allows). Each rule's window is approximated the way a sliding window over
//! two fixed windows is: the count of the current fixed window, plus the previous one's
//! weighted by how much of it the sliding window still covers. A hit is one atomic increment,
//! so concurrent hits on any instances each see a count of their own and at most the limit
//! pass; a refused hit is taken back at once. Counters are named by a SHA-256 digest of the
//! rule and the subject (never the identifier itself) and expire with their window.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Rule;
use crate::accounts::ThrottleCounters;
use crate::crypto::SecretGenerator;
use crate::error::Result;

/// A hit that was counted: where, to take it back or clear its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SharedHit {
    subject: String,
    counter: String,
    expires_at: DateTime<Utc>,
    bucket: i64,
}

/// The windows, counted in the shared store.
pub(super) struct SharedWindows {
    counters: Arc<dyn ThrottleCounters>,
    digests: Arc<dyn SecretGenerator>,
}

impl SharedWindows {
    /// Windows counted in `counters`, subjects named by `digests`.
    pub(super) fn new(
        counters: Arc<dyn ThrottleCounters>,
        digests: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self { counters, digests }
    }

    fn counter(subject: &str, bucket: i64) -> String {
        format!("{subject}:{bucket}")
    }

    /// Counts one hit of `text` under `rule` (`limit` per `seconds`) at `now`: the hit, or
    /// the seconds to wait when the window is full (and the hit is not counted).
    pub(super) async fn hit(
        &self,
        rule: Rule,
        (limit, seconds): (u32, u64),
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<SharedHit, u64>> {
        let length = i64::try_from(seconds).unwrap_or(i64::MAX / 4).max(1);
        let limit = i64::from(limit);
        let at = now.timestamp();
        let bucket = at.div_euclid(length);
        let elapsed = at - bucket * length;
        let subject = format!("{}:{}", rule.name(), self.digests.digest(text).0);
        let counter = Self::counter(&subject, bucket);
        // Kept while it can still weigh: through the next fixed window.
        let expires_at =
            DateTime::from_timestamp(bucket.saturating_add(2).saturating_mul(length), 0)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let count = self.counters.add(&counter, 1, expires_at).await?;
        // Seconds of the previous fixed window the sliding window still covers.
        let covered = length - elapsed;
        let wait = if count > limit {
            Some(covered)
        } else {
            let previous = self
                .counters
                .get(&Self::counter(&subject, bucket - 1))
                .await?;
            // previous × covered / length + count ≤ limit, in integers.
            let room = (limit - count).saturating_mul(length);
            if previous.saturating_mul(covered) > room {
                // Until enough of the previous window has slid out.
                let still_covered = if previous > 0 {
                    room / previous
                } else {
                    covered
                };
                Some(covered - still_covered)
            } else {
                None
            }
        };
        match wait {
            Some(wait) => {
                self.counters.add(&counter, -1, expires_at).await?;
                Ok(Err(u64::try_from(wait.max(1)).unwrap_or(1)))
            }
            None => Ok(Ok(SharedHit {
                subject,
                counter,
                expires_at,
                bucket,
            })),
        }
    }

    /// Takes back `hit`.
    pub(super) async fn refund(&self, hit: &SharedHit) -> Result<()> {
        self.counters
            .add(&hit.counter, -1, hit.expires_at)
            .await
            .map(|_| ())
    }

    /// Forgets every hit of `hit`'s subject (its current and previous fixed windows, and the
    /// next, should the window have rolled since).
    pub(super) async fn clear(&self, hit: &SharedHit) -> Result<()> {
        let counters: Vec<String> = [hit.bucket - 1, hit.bucket, hit.bucket + 1]
            .iter()
            .map(|&bucket| Self::counter(&hit.subject, bucket))
            .collect();
        self.counters.remove(&counters).await
    }
}
