//! How a store answers a [`RecordQuery`]: which index it walks, in which order, from where.
//!
//! The domain decides, so both stores walk the same way and give the same answers; a store
//! only executes. Lists are newest first unless `sort` is given; sorted lists break ties
//! newest first. On an endpoint of more than `records.max_scan` records a query must be served
//! by a ready index, or it is refused (`index_required`): newest first needs an index on a
//! field compared by `=`, `[in]` or `[exists]=false`; `sort=f` needs an index on `f`.

use std::cmp::Ordering;

use super::index_key::{hex_key, unhex_key};
use super::query::{all_keys, KeyRange, RecordQuery, SortOrder};
use crate::apis::Endpoint;
use crate::error::{Error, Result};
use crate::id::Id;

/// A place in a list: a record, and (in a sorted list) its key for the sort field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The key of the record's sort field; `None` in a newest-first list.
    pub key: Option<Vec<u8>>,
    /// The record's id.
    pub id: Id,
}

impl Position {
    /// The position as a cursor's sort key: the id, or `<hex key>.<id>` when sorted.
    pub fn to_cursor_key(&self) -> String {
        match &self.key {
            None => self.id.to_string(),
            Some(key) => format!("{}.{}", hex_key(key), self.id),
        }
    }

    /// Reads a cursor's sort key back for a list in `order`; `None` if it is not one this
    /// order could have issued.
    pub fn from_cursor_key(text: &str, sorted: bool) -> Option<Self> {
        match (sorted, text.split_once('.')) {
            (false, None) => Some(Self {
                key: None,
                id: text.parse().ok()?,
            }),
            (true, Some((key, id))) => Some(Self {
                key: Some(unhex_key(key)?),
                id: id.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// Where `self` comes relative to `other` in a list in `order` (`Less`: earlier).
    pub fn order(&self, other: &Self, descending: bool) -> Ordering {
        let by_key = match (&self.key, &other.key) {
            (Some(a), Some(b)) if descending => b.cmp(a),
            (Some(a), Some(b)) => a.cmp(b),
            _ => Ordering::Equal,
        };
        // Ties, and newest-first lists, go newest (largest id) first.
        by_key.then_with(|| other.id.as_str().cmp(self.id.as_str()))
    }
}

/// The first positions of a sorted list, from positions offered in any order (a small
/// endpoint read whole): holds at most twice what it keeps, so sorting a scan costs the page's
/// memory, not the endpoint's.
#[derive(Debug)]
pub struct FirstPositions {
    keep: usize,
    descending: bool,
    after: Option<Position>,
    held: Vec<Position>,
}

impl FirstPositions {
    /// Keeps the first `keep` positions after `after` in key order (`descending`: largest
    /// first), ties newest first.
    pub fn new(keep: usize, descending: bool, after: Option<Position>) -> Self {
        Self {
            keep: keep.max(1),
            descending,
            after,
            held: Vec::new(),
        }
    }

    /// Offers one position.
    pub fn offer(&mut self, position: Position) {
        if self
            .after
            .as_ref()
            .is_some_and(|after| position.order(after, self.descending) != Ordering::Greater)
        {
            return;
        }
        self.held.push(position);
        if self.held.len() >= self.keep.saturating_mul(2) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let descending = self.descending;
        self.held.sort_by(|a, b| a.order(b, descending));
        self.held.truncate(self.keep);
    }

    /// The positions kept, in order.
    pub fn into_sorted(mut self) -> Vec<Position> {
        self.trim();
        self.held
    }
}

/// What a store reads to answer a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Every record of the endpoint, newest first (only on an endpoint of at most
    /// `records.max_scan` records); a sorted list is sorted after reading.
    Scan,
    /// The index at `slot` (on `field`) at each of `keys`, merged newest first.
    Points {
        /// The index's position in the endpoint's declarations.
        slot: usize,
        /// The field it indexes.
        field: String,
        /// The keys to walk, sorted.
        keys: Vec<Vec<u8>>,
    },
    /// The index at `slot` (on `field`) over `ranges` in key order, ties newest first.
    Ordered {
        /// The index's position in the endpoint's declarations.
        slot: usize,
        /// The field it indexes.
        field: String,
        /// The key ranges to walk, sorted and disjoint.
        ranges: Vec<KeyRange>,
        /// Largest key first.
        descending: bool,
    },
}

/// A query with the way to answer it: the access path, the conditions every record read
/// must still satisfy, and where the page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// What to read.
    pub access: Access,
    /// The query (conditions, sort, projection, count).
    pub query: RecordQuery,
    /// The page starts after this record.
    pub after: Option<Position>,
}

impl QueryPlan {
    /// Plans `query` on `endpoint`; `scannable` says whether the endpoint holds at most
    /// `records.max_scan` records. `after` is the cursor's sort key, if any.
    pub fn new(
        query: RecordQuery,
        endpoint: &Endpoint,
        scannable: bool,
        after: Option<&str>,
    ) -> Result<Self> {
        let after = after
            .map(|text| {
                Position::from_cursor_key(text, query.sort().is_some())
                    .ok_or_else(|| Error::invalid("cursor", "is not a cursor this list issued"))
            })
            .transpose()?;
        let access = match query.sort() {
            Some(SortOrder { field, descending }) => match endpoint.ready_index(field) {
                Some(slot) => Access::Ordered {
                    slot,
                    field: field.clone(),
                    ranges: query
                        .condition_on(field)
                        .map_or_else(all_keys, |c| c.ranges().to_vec()),
                    descending: *descending,
                },
                None if scannable => Access::Scan,
                None => {
                    return Err(Error::IndexRequired {
                        field: field.clone(),
                        message: format!(
                            "this endpoint has too many records to sort without an index: \
                             declare an index on '{field}'"
                        ),
                    })
                }
            },
            None => {
                let served = query.conditions().iter().find_map(|condition| {
                    let slot = endpoint.ready_index(condition.field())?;
                    let keys = condition.point_keys()?;
                    Some(Access::Points {
                        slot,
                        field: condition.field().to_owned(),
                        keys: keys.into_iter().map(<[u8]>::to_vec).collect(),
                    })
                });
                match (served, query.conditions().first()) {
                    (Some(access), _) => access,
                    (None, None) => Access::Scan,
                    (None, Some(_)) if scannable => Access::Scan,
                    (None, Some(first)) => return Err(unserved(&query, endpoint, first.field())),
                }
            }
        };
        Ok(Self {
            access,
            query,
            after,
        })
    }

    /// Whether the list is in key order rather than newest first.
    pub fn sorted(&self) -> Option<&SortOrder> {
        self.query.sort()
    }

    /// Whether every record the access reads satisfies every condition, in the list's order:
    /// no condition is on another field than the walked one, and a scan neither filters nor
    /// sorts. A page then reads no more records than it returns.
    pub fn reads_only_matches(&self) -> bool {
        if self.query.compares_cut_values() {
            // A walk then also reads records that only share the start of a long value.
            return false;
        }
        let walked = match &self.access {
            Access::Scan => {
                return self.query.conditions().is_empty() && self.query.sort().is_none()
            }
            Access::Points { field, .. } | Access::Ordered { field, .. } => field,
        };
        self.query.conditions().iter().all(|c| c.field() == walked)
    }
}

/// Why a newest-first query with conditions cannot be served on a large endpoint.
fn unserved(query: &RecordQuery, endpoint: &Endpoint, first: &str) -> Error {
    // A range on an indexed field is served in that field's order: say so.
    if let Some(ranged) = query
        .conditions()
        .iter()
        .find(|c| endpoint.ready_index(c.field()).is_some())
    {
        let field = ranged.field().to_owned();
        return Error::IndexRequired {
            message: format!(
                "the index on '{field}' serves this comparison in key order: add sort={field} \
                 (or sort=-{field}), or compare with = or [in]"
            ),
            field,
        };
    }
    Error::IndexRequired {
        field: first.to_owned(),
        message: format!(
            "this endpoint has too many records to filter without an index: declare an index \
             on '{first}'"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apis::{EndpointName, FieldIndex, IndexState};

    fn endpoint(indexes: &[(&str, IndexState)]) -> Endpoint {
        Endpoint {
            name: EndpointName::new("orders", "").expect("name"),
            schema: serde_json::json!({}),
            indexes: indexes
                .iter()
                .map(|(field, state)| FieldIndex {
                    field: (*field).to_owned(),
                    state: *state,
                })
                .collect(),
        }
    }

    fn query(pairs: &[(&str, &str)]) -> RecordQuery {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        RecordQuery::parse(&pairs).expect("a query")
    }

    fn plan(
        pairs: &[(&str, &str)],
        indexes: &[(&str, IndexState)],
        scannable: bool,
    ) -> Result<Access> {
        QueryPlan::new(query(pairs), &endpoint(indexes), scannable, None).map(|p| p.access)
    }

    #[test]
    fn small_endpoints_scan_and_large_ones_need_a_ready_index() {
        assert!(matches!(plan(&[("tag", "a")], &[], true), Ok(Access::Scan)));
        assert!(matches!(plan(&[], &[], false), Ok(Access::Scan)));
        assert!(matches!(
            plan(&[("tag", "a")], &[], false),
            Err(Error::IndexRequired { field, .. }) if field == "tag"
        ));
        assert!(matches!(
            plan(&[("tag", "a")], &[("tag", IndexState::Building)], false),
            Err(Error::IndexRequired { .. })
        ));
        assert!(matches!(
            plan(
                &[("tag", "a")],
                &[("n", IndexState::Ready), ("tag", IndexState::Ready)],
                false
            ),
            Ok(Access::Points { slot: 1, .. })
        ));
        assert!(matches!(
            plan(&[("sort", "-n")], &[], false),
            Err(Error::IndexRequired { field, .. }) if field == "n"
        ));
    }

    #[test]
    fn only_walks_that_every_condition_rides_read_nothing_but_matches() {
        let reads_only_matches = |pairs: &[(&str, &str)]| {
            let indexes = [("n", IndexState::Ready), ("tag", IndexState::Ready)];
            QueryPlan::new(query(pairs), &endpoint(&indexes), true, None)
                .expect("a plan")
                .reads_only_matches()
        };
        assert!(reads_only_matches(&[]));
        assert!(reads_only_matches(&[("tag", "a")]));
        assert!(reads_only_matches(&[("n[gte]", "5"), ("sort", "n")]));
        assert!(reads_only_matches(&[
            ("n[gte]", "5"),
            ("n[lt]", "9"),
            ("sort", "-n")
        ]));
        // A condition the walk does not ride, a filtered or sorted scan: candidates turned away.
        assert!(!reads_only_matches(&[("tag", "a"), ("pad", "x")]));
        assert!(!reads_only_matches(&[("tag", "a"), ("sort", "n")]));
        assert!(!reads_only_matches(&[("pad", "x")]));
        assert!(!reads_only_matches(&[("sort", "pad")]));
    }

    #[test]
    fn ranges_are_served_in_key_order_only() {
        let ready = [("n", IndexState::Ready)];
        assert!(matches!(
            plan(&[("n[gt]", "5")], &ready, false),
            Err(Error::IndexRequired { message, .. }) if message.contains("sort=n")
        ));
        match plan(&[("n[gt]", "5"), ("sort", "-n")], &ready, false) {
            Ok(Access::Ordered {
                ranges,
                descending: true,
                ..
            }) => assert_eq!(ranges.len(), 2),
            other => panic!("{other:?}"),
        }
        // `?n=5` reads as the number and the string: two keys, merged newest first.
        match plan(&[("n", "5")], &ready, false) {
            Ok(Access::Points { keys, .. }) => assert_eq!(keys.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn first_positions_keep_the_page_after_the_cursor_in_bounded_memory() {
        let at = |key: u8, id: &str| Position {
            key: Some(vec![key]),
            id: format!("6553f10000000000000000{id}").parse().expect("id"),
        };
        let mut first = FirstPositions::new(3, false, Some(at(2, "05")));
        for (key, id) in [
            (9, "01"),
            (1, "02"),
            (2, "06"),
            (2, "04"),
            (3, "03"),
            (2, "05"),
            (4, "07"),
            (3, "08"),
        ] {
            first.offer(at(key, id));
            assert!(first.held.len() < 6);
        }
        // After (2, …05): key 2 with older ids, then 3 (newest first), then 4.
        assert_eq!(
            first.into_sorted(),
            vec![at(2, "04"), at(3, "08"), at(3, "03")]
        );
    }

    #[test]
    fn cursors_round_trip_and_ties_go_newest_first() {
        let id: Id = "6553f1000000000000000001".parse().expect("id");
        let sorted = Position {
            key: Some(vec![3, 0, 255]),
            id: id.clone(),
        };
        let text = sorted.to_cursor_key();
        assert_eq!(Position::from_cursor_key(&text, true), Some(sorted.clone()));
        assert_eq!(Position::from_cursor_key(&text, false), None);
        assert_eq!(Position::from_cursor_key(id.as_str(), true), None);
        let older = Position {
            key: Some(vec![3, 0, 255]),
            id: "6553f1000000000000000000".parse().expect("id"),
        };
        assert_eq!(sorted.order(&older, false), Ordering::Less);
        assert_eq!(sorted.order(&older, true), Ordering::Less);
    }
}
