//! Per-account storage totals on redb: one row per account, changed inside one write
//! transaction together with its limit check. A growth is answered once committed (its own
//! write's flush makes it durable), a shrink once durable.

use async_trait::async_trait;
use keygate_domain::usage::{UsageChange, UsageLimits, UsageRepository};
use keygate_domain::{Id, Result};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::rows::{decode, encode, Stored};
use crate::store::EmbeddedStore;
use crate::tables::USAGE;
use crate::unavailable::OrUnavailable;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Totals {
    entries: u64,
    bytes: u64,
    /// Absent in rows written before APIs were counted: none were, then.
    #[serde(default)]
    apis: u64,
}

impl Stored for Totals {
    type Row = Self;
    fn to_row(&self) -> Self {
        self.clone()
    }
    fn from_row(row: Self) -> Self {
        row
    }
}

fn apply(total: u64, delta: i64) -> u64 {
    if delta >= 0 {
        total.saturating_add(delta.unsigned_abs())
    } else {
        total.saturating_sub(delta.unsigned_abs())
    }
}

#[async_trait]
impl UsageRepository for EmbeddedStore {
    async fn try_change(
        &self,
        user_id: &Id,
        change: UsageChange,
        limits: UsageLimits,
    ) -> Result<bool> {
        let user = user_id.as_str().to_owned();
        let work = move |txn: &redb::WriteTransaction| {
            let mut table = txn.open_table(USAGE).or_unavailable()?;
            let current: Totals = match table.get(user.as_str()).or_unavailable()? {
                Some(bytes) => decode(bytes.value())?,
                None => Totals::default(),
            };
            let next = Totals {
                entries: apply(current.entries, change.entries),
                bytes: apply(current.bytes, change.bytes),
                apis: apply(current.apis, change.apis),
            };
            let grows = !change.only_shrinks();
            if grows
                && (next.entries > limits.max_entries
                    || next.bytes > limits.max_bytes
                    || next.apis > limits.max_apis)
            {
                return Ok(false);
            }
            table
                .insert(user.as_str(), encode(&next)?.as_slice())
                .or_unavailable()?;
            Ok(true)
        };
        if change.only_shrinks() {
            // Room given back after a deletion: durable like the deletion itself.
            self.write(work).await
        } else {
            // A reservation precedes its write, whose flush makes both durable; lost in a
            // crash before it, the write never landed either. So the writer does not wait
            // for one fsync more per write.
            self.write_answered_on_commit(work).await
        }
    }

    async fn forget(&self, user_id: &Id) -> Result<()> {
        let user = user_id.as_str().to_owned();
        self.write(move |txn| {
            txn.open_table(USAGE)
                .or_unavailable()?
                .remove(user.as_str())
                .or_unavailable()?;
            Ok(())
        })
        .await
    }
}
