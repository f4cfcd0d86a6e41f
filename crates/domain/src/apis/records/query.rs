//! The record query language of §11, as one value both stores execute.
//!
//! Every condition becomes a set of ranges of [`index_key`](super::index_key) keys, so all
//! operators are one comparison: a record satisfies `f[gt]=5` when the key of its field `f`
//! lies in one of the condition's ranges. A query string only carries text, so a value is read
//! every way it can be meant, as equality always has been (§5): `5` is the string `"5"` and,
//! being a number, the number 5; `true` is also `true`, `null` also `null`. Range operators
//! compare numbers with numbers and strings with strings, never across kinds.

use std::cmp::Ordering;
use std::ops::Bound;

use super::index_key::{
    exact_number_key, exact_string_key, kinds, missing_key, number_key, string_key,
};
use crate::error::{Error, FieldViolation, Result};

/// The most conditions one query may carry.
pub const MAX_CONDITIONS: usize = 16;
/// The most values of one `[in]` list: each is up to two index walks merged (its number and
/// its string reading), so this bounds the walks one list opens.
pub const MAX_IN_VALUES: usize = 30;
/// The most fields `?fields=` may name.
pub const MAX_PROJECTED_FIELDS: usize = 64;
/// Query parameters that are not conditions.
pub const RESERVED_PARAMETERS: &[&str] = &["limit", "cursor", "sort", "fields", "count"];

/// A range of keys; both ends may be open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Where it starts.
    pub start: Bound<Vec<u8>>,
    /// Where it ends.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    fn point(key: Vec<u8>) -> Self {
        Self {
            start: Bound::Included(key.clone()),
            end: Bound::Included(key),
        }
    }

    fn everything() -> Self {
        Self {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// Whether `key` lies inside.
    pub fn contains(&self, key: &[u8]) -> bool {
        let after_start = match &self.start {
            Bound::Included(start) => key >= start.as_slice(),
            Bound::Excluded(start) => key > start.as_slice(),
            Bound::Unbounded => true,
        };
        after_start
            && match &self.end {
                Bound::Included(end) => key <= end.as_slice(),
                Bound::Excluded(end) => key < end.as_slice(),
                Bound::Unbounded => true,
            }
    }

    /// Whether it holds exactly one key.
    pub fn as_point(&self) -> Option<&[u8]> {
        match (&self.start, &self.end) {
            (Bound::Included(a), Bound::Included(b)) if a == b => Some(a),
            _ => None,
        }
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
            | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
            _ => false,
        }
    }

    /// The keys in both.
    pub fn intersect(&self, other: &Self) -> Self {
        Self {
            start: later_start(&self.start, &other.start),
            end: earlier_end(&self.end, &other.end),
        }
    }
}

fn later_start(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (a, b) {
        (Bound::Unbounded, other) | (other, Bound::Unbounded) => other.clone(),
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.cmp(y) {
                Ordering::Greater => a.clone(),
                Ordering::Less => b.clone(),
                Ordering::Equal if matches!(a, Bound::Excluded(_)) => a.clone(),
                Ordering::Equal => b.clone(),
            }
        }
    }
}

fn earlier_end(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (a, b) {
        (Bound::Unbounded, other) | (other, Bound::Unbounded) => other.clone(),
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.cmp(y) {
                Ordering::Less => a.clone(),
                Ordering::Greater => b.clone(),
                Ordering::Equal if matches!(a, Bound::Excluded(_)) => a.clone(),
                Ordering::Equal => b.clone(),
            }
        }
    }
}

/// The comparison operators of §11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `f=v`
    Eq,
    /// `f[ne]=v`: also matches records without `f`.
    Ne,
    /// `f[gt]=v`
    Gt,
    /// `f[gte]=v`
    Gte,
    /// `f[lt]=v`
    Lt,
    /// `f[lte]=v`
    Lte,
    /// `f[in]=a,b,c`
    In,
    /// `f[exists]=true|false`
    Exists,
}

impl Operator {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "in" => Self::In,
            "exists" => Self::Exists,
            _ => return None,
        })
    }
}

/// How keys are made: as indexes hold them (long values cut), or whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// Cut at `MAX_KEY_VALUE_BYTES`, as stored.
    Stored,
    /// Nothing cut.
    Exact,
}

impl Keys {
    fn string(self, text: &str) -> Vec<u8> {
        match self {
            Self::Stored => string_key(text),
            Self::Exact => exact_string_key(text),
        }
    }

    fn number(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Self::Stored => number_key(text),
            Self::Exact => exact_number_key(text),
        }
    }
}

/// The stored keys of `value` that were cut: a record whose key is one of them may hold the
/// value or another with the same start, so its whole value decides.
fn cut_keys(value: &str) -> Vec<Vec<u8>> {
    let mut cut = Vec::new();
    let string = string_key(value);
    if string != exact_string_key(value) {
        cut.push(string);
    }
    if serde_json::from_str::<serde_json::Number>(value).is_ok() {
        if let (Some(stored), Some(exact)) = (number_key(value), exact_number_key(value)) {
            if stored != exact {
                cut.push(stored);
            }
        }
    }
    cut
}

/// `ranges` (sorted, disjoint) with each of `keys` added as a point where no range holds it.
fn with_points(mut ranges: Vec<KeyRange>, keys: &[Vec<u8>]) -> Vec<KeyRange> {
    for key in keys {
        if !ranges.iter().any(|range| range.contains(key)) {
            ranges.push(KeyRange::point(key.clone()));
        }
    }
    ranges.sort_by(|x, y| start_order(&x.start, &y.start));
    ranges
}

/// The keys a query value stands for when compared for equality.
fn equal_keys(value: &str, keys_made: Keys) -> Vec<Vec<u8>> {
    let mut keys = vec![keys_made.string(value)];
    match value {
        "true" => keys.push(super::index_key::value_key(&serde_json::Value::Bool(true))),
        "false" => keys.push(super::index_key::value_key(&serde_json::Value::Bool(false))),
        "null" => keys.push(super::index_key::value_key(&serde_json::Value::Null)),
        _ => {
            // Only what JSON itself would read as a number (no `+1`, `.5`, `01`).
            if serde_json::from_str::<serde_json::Number>(value).is_ok() {
                if let Some(key) = keys_made.number(value) {
                    keys.push(key);
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// `keys` as sorted, disjoint point ranges.
fn points(mut keys: Vec<Vec<u8>>) -> Vec<KeyRange> {
    keys.sort();
    keys.dedup();
    keys.into_iter().map(KeyRange::point).collect()
}

/// Everything but the given points.
fn complement_of_points(keys: Vec<Vec<u8>>) -> Vec<KeyRange> {
    let mut ranges = Vec::new();
    let mut start = Bound::Unbounded;
    for key in points(keys) {
        let Bound::Included(key) = key.start else {
            continue;
        };
        ranges.push(KeyRange {
            start,
            end: Bound::Excluded(key.clone()),
        });
        start = Bound::Excluded(key);
    }
    ranges.push(KeyRange {
        start,
        end: Bound::Unbounded,
    });
    ranges.retain(|range| !range.is_empty());
    ranges
}

/// The ranges of a range operator against `value`: among strings, and among numbers too when
/// the value is one.
fn comparison_ranges(operator: Operator, value: &str, keys_made: Keys) -> Vec<KeyRange> {
    let mut ranges = Vec::new();
    let number = serde_json::from_str::<serde_json::Number>(value)
        .ok()
        .and_then(|_| keys_made.number(value));
    let kinds = [
        (number, kinds::NUMBERS),
        (Some(keys_made.string(value)), kinds::STRINGS),
    ];
    for (key, (first, past_end)) in kinds {
        let Some(key) = key else { continue };
        let (first, past_end) = (vec![first], vec![past_end]);
        let range = match operator {
            Operator::Gt => KeyRange {
                start: Bound::Excluded(key),
                end: Bound::Excluded(past_end),
            },
            Operator::Gte => KeyRange {
                start: Bound::Included(key),
                end: Bound::Excluded(past_end),
            },
            Operator::Lt => KeyRange {
                start: Bound::Included(first),
                end: Bound::Excluded(key),
            },
            _ => KeyRange {
                start: Bound::Included(first),
                end: Bound::Included(key),
            },
        };
        if !range.is_empty() {
            ranges.push(range);
        }
    }
    ranges
}

/// The intersection of two sorted, disjoint range lists.
fn intersect_all(a: &[KeyRange], b: &[KeyRange]) -> Vec<KeyRange> {
    let mut out: Vec<KeyRange> = Vec::new();
    for x in a {
        for y in b {
            let both = x.intersect(y);
            if !both.is_empty() {
                out.push(both);
            }
        }
    }
    out.sort_by(|x, y| start_order(&x.start, &y.start));
    out
}

fn start_order(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Ordering {
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Ordering::Equal,
        (Bound::Unbounded, _) => Ordering::Less,
        (_, Bound::Unbounded) => Ordering::Greater,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => x
            .cmp(y)
            .then_with(|| matches!(a, Bound::Excluded(_)).cmp(&matches!(b, Bound::Excluded(_)))),
    }
}

fn refused(field: &str, message: impl Into<String>) -> FieldViolation {
    FieldViolation::new(field, message)
}

fn check_field_name(field: &str, parameter: &str) -> std::result::Result<(), FieldViolation> {
    if field.is_empty() || field.len() > 256 || field.starts_with('$') || field.contains('\0') {
        return Err(refused(
            "query",
            format!("'{parameter}' cannot be queried: not a field name a record may have"),
        ));
    }
    Ok(())
}

/// Every condition on one top-level field, combined: the record's key for the field must lie
/// in one of `ranges`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    field: String,
    /// What a walk reads: the stored keys a match may have (a superset where a value was cut).
    ranges: Vec<KeyRange>,
    /// Whether an operator compared order (`gt`, `gte`, `lt`, `lte`, `ne`) rather than keys.
    ordered: bool,
    /// The stored keys of the condition's values that were cut (empty nearly always): a
    /// record whose key is one of them is judged by its whole value against `exact`.
    cut: Vec<Vec<u8>>,
    /// The same ranges with nothing cut.
    exact: Vec<KeyRange>,
}

impl Condition {
    /// The field it is on.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The key ranges a value must lie in, sorted and disjoint.
    pub fn ranges(&self) -> &[KeyRange] {
        &self.ranges
    }

    /// Whether a record whose key for the field is `key` may satisfy it; certainly so unless
    /// [`Self::needs_whole_value`] says the whole value decides.
    pub fn matches(&self, key: &[u8]) -> bool {
        self.ranges.iter().any(|range| range.contains(key))
    }

    /// Whether a record whose stored key for the field is `key` is judged by its whole value
    /// ([`Self::matches_whole`]): its key is a cut one of the condition's values, which any
    /// value with the same start shares.
    pub fn needs_whole_value(&self, key: &[u8]) -> bool {
        self.cut.iter().any(|cut| cut.as_slice() == key)
    }

    /// Whether a record whose field's whole-value key (see
    /// [`exact_raw_key`](super::index_key::exact_raw_key)) is `exact_key` satisfies it.
    pub fn matches_whole(&self, exact_key: &[u8]) -> bool {
        self.exact.iter().any(|range| range.contains(exact_key))
    }

    /// The keys it accepts, when it accepts only single keys (`=`, `[in]`,
    /// `[exists]=false`): an index serves it newest first by merging one walk per key.
    pub fn point_keys(&self) -> Option<Vec<&[u8]>> {
        if self.ordered {
            return None;
        }
        self.ranges.iter().map(KeyRange::as_point).collect()
    }
}

/// `?sort=f` or `?sort=-f`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortOrder {
    /// The field sorted by.
    pub field: String,
    /// `-f`: largest first.
    pub descending: bool,
}

/// A parsed list request of §11: conditions (all ANDed), order, projection and count.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordQuery {
    conditions: Vec<Condition>,
    sort: Option<SortOrder>,
    fields: Option<Vec<String>>,
    count: bool,
}

impl RecordQuery {
    /// Reads the query parameters of a list request (`limit` and `cursor` are the pager's);
    /// every violation at once.
    pub fn parse(parameters: &[(String, String)]) -> Result<Self> {
        let mut query = Self::default();
        let mut violations = Vec::new();
        let mut conditions = 0;
        for (name, value) in parameters {
            match name.as_str() {
                "limit" | "cursor" => {}
                "sort" => match parse_sort(value) {
                    Ok(sort) => query.sort = Some(sort),
                    Err(violation) => violations.push(violation),
                },
                "fields" => match parse_fields(value) {
                    Ok(fields) => query.fields = Some(fields),
                    Err(violation) => violations.push(violation),
                },
                "count" => match value.as_str() {
                    "true" => query.count = true,
                    "false" => query.count = false,
                    _ => violations.push(refused("count", "must be true or false")),
                },
                _ => {
                    conditions += 1;
                    match parse_condition(name, value) {
                        Ok(condition) => query.add(condition),
                        Err(violation) => violations.push(violation),
                    }
                }
            }
        }
        if conditions > MAX_CONDITIONS {
            violations.push(refused(
                "query",
                format!("at most {MAX_CONDITIONS} conditions may be given"),
            ));
        }
        if violations.is_empty() {
            Ok(query)
        } else {
            Err(Error::Validation(violations))
        }
    }

    fn add(&mut self, condition: Condition) {
        match self
            .conditions
            .iter_mut()
            .find(|c| c.field == condition.field)
        {
            Some(existing) => {
                existing.exact = intersect_all(&existing.exact, &condition.exact);
                existing.cut.extend(condition.cut);
                existing.ranges = with_points(
                    intersect_all(&existing.ranges, &condition.ranges),
                    &existing.cut,
                );
                existing.ordered |= condition.ordered;
            }
            None => self.conditions.push(condition),
        }
    }

    /// The conditions, one per field.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The condition on `field`, if any.
    pub fn condition_on(&self, field: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.field == field)
    }

    /// The order asked for; `None` is newest first.
    pub fn sort(&self) -> Option<&SortOrder> {
        self.sort.as_ref()
    }

    /// The fields `data` is cut down to, if asked.
    pub fn fields(&self) -> Option<&[String]> {
        self.fields.as_deref()
    }

    /// Whether the total number of matches is wanted.
    pub fn wants_count(&self) -> bool {
        self.count
    }

    /// Every top-level field the query compares.
    pub fn compared_fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = self.conditions.iter().map(|c| c.field.as_str()).collect();
        if let Some(sort) = &self.sort {
            if !fields.contains(&sort.field.as_str()) {
                fields.push(&sort.field);
            }
        }
        fields
    }

    /// Whether some condition compares a value longer than a key holds, so that candidates
    /// may need their whole value read ([`Condition::needs_whole_value`]).
    pub fn compares_cut_values(&self) -> bool {
        self.conditions.iter().any(|c| !c.cut.is_empty())
    }

    /// Whether a record may satisfy every condition (see [`Condition::matches`]); `key_of`
    /// gives the key of one of its top-level fields ([`missing_key`] when it has none).
    pub fn matches(&self, mut key_of: impl FnMut(&str) -> Vec<u8>) -> bool {
        self.conditions
            .iter()
            .all(|condition| condition.matches(&key_of(&condition.field)))
    }
}

fn parse_sort(value: &str) -> std::result::Result<SortOrder, FieldViolation> {
    let (descending, field) = match value.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, value),
    };
    check_field_name(field, "sort").map_err(|_| {
        refused(
            "sort",
            "must be a top-level field name, with '-' in front for largest first",
        )
    })?;
    Ok(SortOrder {
        field: field.to_owned(),
        descending,
    })
}

fn parse_fields(value: &str) -> std::result::Result<Vec<String>, FieldViolation> {
    let fields: Vec<String> = value.split(',').map(str::to_owned).collect();
    if fields.len() > MAX_PROJECTED_FIELDS {
        return Err(refused(
            "fields",
            format!("may name at most {MAX_PROJECTED_FIELDS} fields"),
        ));
    }
    for field in &fields {
        check_field_name(field, "fields")
            .map_err(|_| refused("fields", "must be top-level field names, comma-separated"))?;
    }
    Ok(fields)
}

fn parse_condition(name: &str, value: &str) -> std::result::Result<Condition, FieldViolation> {
    let (field, operator) = match name.strip_suffix(']').and_then(|n| n.split_once('[')) {
        Some((field, operator)) => (
            field,
            Operator::parse(operator).ok_or_else(|| {
                refused(
                    "query",
                    format!(
                        "'{name}': unknown operator '{operator}' (eq, ne, gt, gte, lt, lte, in, \
                         exists)"
                    ),
                )
            })?,
        ),
        None => (name, Operator::Eq),
    };
    check_field_name(field, name)?;
    let values: Vec<&str> = match operator {
        Operator::In => value.split(',').collect(),
        Operator::Exists => Vec::new(),
        _ => vec![value],
    };
    if values.len() > MAX_IN_VALUES {
        return Err(refused(
            name,
            format!("may list at most {MAX_IN_VALUES} values"),
        ));
    }
    let (ranges, ordered) = condition_ranges(name, operator, value, Keys::Stored)?;
    let cut: Vec<Vec<u8>> = values.iter().flat_map(|v| cut_keys(v)).collect();
    let exact = if cut.is_empty() {
        ranges.clone()
    } else {
        condition_ranges(name, operator, value, Keys::Exact)?.0
    };
    Ok(Condition {
        field: field.to_owned(),
        ranges: with_points(ranges, &cut),
        ordered,
        cut,
        exact,
    })
}

/// The ranges of one condition, with keys made as `keys_made` says, and whether it compares
/// order.
fn condition_ranges(
    name: &str,
    operator: Operator,
    value: &str,
    keys_made: Keys,
) -> std::result::Result<(Vec<KeyRange>, bool), FieldViolation> {
    Ok(match operator {
        Operator::Eq => (points(equal_keys(value, keys_made)), false),
        Operator::Ne => (complement_of_points(equal_keys(value, keys_made)), true),
        Operator::In => (
            points(
                value
                    .split(',')
                    .flat_map(|v| equal_keys(v, keys_made))
                    .collect(),
            ),
            false,
        ),
        Operator::Exists => match value {
            "true" => (
                vec![KeyRange {
                    start: Bound::Excluded(missing_key()),
                    end: Bound::Unbounded,
                }],
                true,
            ),
            "false" => (vec![KeyRange::point(missing_key())], false),
            _ => return Err(refused(name, "must be true or false")),
        },
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
            (comparison_ranges(operator, value, keys_made), true)
        }
    })
}

/// Every key: what a sort walks when no condition bounds its field.
pub fn all_keys() -> Vec<KeyRange> {
    vec![KeyRange::everything()]
}

#[cfg(test)]
mod tests;
