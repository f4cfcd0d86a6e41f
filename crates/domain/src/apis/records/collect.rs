//! What every store does with the candidates its walk produces: keep the matches up to the
//! page's bounds, and stop early (with a cursor) when the conditions turn too many away.

use std::borrow::Cow;

use super::model::{ListBounds, ListedRecords, Record};
use super::plan::{Position, QueryPlan};
use crate::error::{Error, Result};

/// Collects one page (or a count) from candidates offered in the plan's order.
pub struct PageCollector<'p> {
    plan: &'p QueryPlan,
    bounds: ListBounds,
    listed: ListedRecords,
    bytes: usize,
    turned_away: usize,
    turned_away_bytes: usize,
    last_kept: Option<Position>,
    counted: Option<u64>,
}

impl<'p> PageCollector<'p> {
    /// A collector of one page of `plan` within `bounds`.
    pub fn page(plan: &'p QueryPlan, bounds: ListBounds) -> Self {
        Self {
            plan,
            bounds,
            listed: ListedRecords::default(),
            bytes: 0,
            turned_away: 0,
            turned_away_bytes: 0,
            last_kept: None,
            counted: None,
        }
    }

    /// A collector that counts every match, without bounds.
    pub fn count(plan: &'p QueryPlan) -> Self {
        Self {
            counted: Some(0),
            ..Self::page(
                plan,
                ListBounds {
                    limit: usize::MAX,
                    max_bytes: usize::MAX,
                    max_examined: usize::MAX,
                    max_examined_bytes: usize::MAX,
                },
            )
        }
    }

    /// The plan being answered.
    pub fn plan(&self) -> &'p QueryPlan {
        self.plan
    }

    /// Offers the next candidate, `stored_bytes` long, whose top-level field keys `key_of`
    /// gives; `position` says where it is and `record` reads it, each only if needed (a scan
    /// turns most candidates away, and pays for neither). False once the page is complete.
    pub fn offer<'k>(
        &mut self,
        position: impl FnOnce() -> Result<Position>,
        stored_bytes: usize,
        key_of: impl FnMut(&str) -> Result<Cow<'k, [u8]>>,
        record: impl FnOnce() -> Result<Record>,
    ) -> Result<bool> {
        let query = &self.plan.query;
        let mut unread = Some(record);
        let (matching, read) = matches_candidate(query, key_of, || match unread.take() {
            Some(reader) => reader(),
            None => Err(read_twice()),
        })?;
        let record = move || match (read, unread) {
            (Some(record), _) => Ok(record),
            (None, Some(reader)) => reader(),
            (None, None) => Err(read_twice()),
        };
        if !matching {
            // Conditions that turn most candidates away would read without bound: past
            // `max_examined` turned away (or as many bytes), stop, and let the cursor go on
            // from this record.
            self.turned_away += 1;
            self.turned_away_bytes += stored_bytes;
            if self.counted.is_none()
                && (self.turned_away >= self.bounds.max_examined
                    || self.turned_away_bytes >= self.bounds.max_examined_bytes)
            {
                self.listed.stopped_at = Some(position()?);
                return Ok(false);
            }
            return Ok(true);
        }
        if let Some(counted) = &mut self.counted {
            *counted += 1;
            return Ok(true);
        }
        let record = record()?;
        if !self.listed.records.is_empty() && self.bytes + record.size() > self.bounds.max_bytes {
            // The next page starts after the last record kept (re-reading what this one
            // turned away since, which is bounded).
            self.listed.stopped_at = self.last_kept.take();
            return Ok(false);
        }
        self.bytes += record.size();
        self.listed.records.push(record);
        self.last_kept = Some(position()?);
        Ok(self.listed.records.len() < self.bounds.limit)
    }

    /// Whether it counts rather than collects (so the order of candidates does not matter).
    pub fn is_counting(&self) -> bool {
        self.counted.is_some()
    }

    /// How many records the walk still wants at most.
    pub fn wanted(&self) -> usize {
        self.bounds.limit.saturating_sub(self.listed.records.len())
    }

    /// The page collected.
    pub fn into_page(self) -> ListedRecords {
        self.listed
    }

    /// The matches counted.
    pub fn counted(&self) -> u64 {
        self.counted.unwrap_or(0)
    }
}

/// A candidate's record asked for twice: a bug, answered as an internal error.
fn read_twice() -> Error {
    Error::Internal("a candidate's record was read twice".into())
}

/// Whether a candidate satisfies every condition, judged by its stored keys (`key_of`) and,
/// only where one is a cut key of a condition's value, by its record (`record`, then given
/// back so it is not read again).
pub fn matches_candidate<'k>(
    query: &super::query::RecordQuery,
    mut key_of: impl FnMut(&str) -> Result<Cow<'k, [u8]>>,
    record: impl FnOnce() -> Result<Record>,
) -> Result<(bool, Option<Record>)> {
    Ok(match judge(query, &mut key_of)? {
        Judgement::No => (false, None),
        Judgement::Yes => (true, None),
        Judgement::ByWholeValue => {
            let whole = record()?;
            (matches_whole(query, &whole, &mut key_of)?, Some(whole))
        }
    })
}

/// What the stored keys say of a candidate.
enum Judgement {
    /// Some condition refuses it.
    No,
    /// Every condition holds.
    Yes,
    /// No condition refuses it, but some key is a cut one of a condition's values.
    ByWholeValue,
}

/// Judges a candidate by its stored keys, which `key_of` reads.
fn judge<'k>(
    query: &super::query::RecordQuery,
    key_of: &mut impl FnMut(&str) -> Result<Cow<'k, [u8]>>,
) -> Result<Judgement> {
    let mut whole = false;
    for condition in query.conditions() {
        let key = key_of(condition.field())?;
        if !condition.matches(&key) {
            return Ok(Judgement::No);
        }
        whole |= condition.needs_whole_value(&key);
    }
    Ok(if whole {
        Judgement::ByWholeValue
    } else {
        Judgement::Yes
    })
}

/// Whether `record` satisfies every condition, comparing whole values where its stored key
/// is a cut one.
fn matches_whole<'k>(
    query: &super::query::RecordQuery,
    record: &Record,
    key_of: &mut impl FnMut(&str) -> Result<Cow<'k, [u8]>>,
) -> Result<bool> {
    for condition in query.conditions() {
        let key = key_of(condition.field())?;
        let holds = if condition.needs_whole_value(&key) {
            condition.matches_whole(&record.data.exact_field_key(condition.field())?)
        } else {
            condition.matches(&key)
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}
