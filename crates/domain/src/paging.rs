//! Cursor paging shared by every list (users, data, APIs, records): `?limit=` (default 50, max
//! 500) and an opaque `?cursor=`.
//!
//! This module is the only place that knows what a cursor looks like: the sort key of the last
//! item of a page, hex-encoded, so that any key (`/`, `&`, spaces, emoji) survives a query
//! string untouched. Every cursor a list hands out decodes here again, whatever the store.

use crate::error::{Error, Result};
use crate::id::Id;

/// The default page size of every list.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page size a client may ask for.
pub const MAX_PAGE_SIZE: usize = 500;
/// The longest sort key a cursor may carry, in bytes. Generous: the longest key any list sorts
/// by is a data key of 256 characters of up to 4 bytes each (1 KiB).
pub const MAX_CURSOR_KEY_BYTES: usize = 4096;

fn invalid_cursor() -> Error {
    Error::invalid("cursor", "is not a cursor this server issued")
}

/// The cursor that points just past the item whose sort key is `key`.
pub fn encode_cursor(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(key.len() * 2);
    for byte in key.bytes() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// The sort key a cursor carries; `validation_failed` on `/cursor` for anything this server
/// could not have issued.
fn decode_cursor(cursor: &str) -> Result<String> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > MAX_CURSOR_KEY_BYTES * 2 {
        return Err(invalid_cursor());
    }
    let digit = |b: u8| char::from(b).to_digit(16).ok_or_else(invalid_cursor);
    let bytes = cursor
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| Ok((digit(pair[0])? << 4 | digit(pair[1])?) as u8))
        .collect::<Result<Vec<u8>>>()?;
    String::from_utf8(bytes).map_err(|_| invalid_cursor())
}

/// A validated request for one page: how many items, and after which sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    limit: usize,
    after: Option<String>,
}

impl PageRequest {
    /// Validates a client's `limit` and decodes its `cursor` (empty counts as absent).
    pub fn new(limit: Option<i64>, cursor: Option<String>) -> Result<Self> {
        let limit = match limit {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => n as usize,
            Some(_) => {
                return Err(Error::invalid(
                    "limit",
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ))
            }
        };
        let after = cursor
            .filter(|c| !c.is_empty())
            .map(|c| decode_cursor(&c))
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// The first page with the default size.
    pub fn first() -> Self {
        Self::first_of(DEFAULT_PAGE_SIZE)
    }

    /// The first page of `limit` items (clamped to 1..=[`MAX_PAGE_SIZE`]).
    pub fn first_of(limit: usize) -> Self {
        Self {
            limit: limit.clamp(1, MAX_PAGE_SIZE),
            after: None,
        }
    }

    /// How many items the page holds at most.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The sort key after which the page starts, if any.
    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    /// The id after which the page starts, for lists sorted by id; a cursor that holds no id
    /// is refused like any cursor this server could not have issued.
    pub fn after_id(&self) -> Result<Option<Id>> {
        self.after
            .as_deref()
            .map(|key| key.parse::<Id>().map_err(|_| invalid_cursor()))
            .transpose()
    }
}

/// One page of a list, and the cursor of the next page (`None` on the last one).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this is the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` items fetched in order: the extra item, if present,
    /// proves there is a next page, whose cursor encodes `sort_key` of the last item kept.
    pub fn from_overfetch(
        mut items: Vec<T>,
        limit: usize,
        sort_key: impl Fn(&T) -> String,
    ) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| encode_cursor(&sort_key(item)))
        } else {
            None
        };
        Self { items, next_cursor }
    }

    /// A page that a bound other than its size ended early: the next one starts after
    /// `last_key`, the sort key of the last item examined (which may not be among `items`).
    pub fn cut_short(items: Vec<T>, last_key: &str) -> Self {
        Self {
            items,
            next_cursor: Some(encode_cursor(last_key)),
        }
    }

    /// Transforms every item, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(
            PageRequest::new(None, None).map(|p| p.limit()).ok(),
            Some(50)
        );
        assert_eq!(
            PageRequest::new(Some(500), None).map(|p| p.limit()).ok(),
            Some(500)
        );
        for bad in [0, 501, -1] {
            assert!(matches!(
                PageRequest::new(Some(bad), None),
                Err(Error::Validation(_))
            ));
        }
    }

    #[test]
    fn overfetch_sets_cursor_only_when_more_exist() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.expect("a next page");
        let next = PageRequest::new(None, Some(cursor)).expect("our own cursor");
        assert_eq!(next.after(), Some("2"));
        let last = Page::from_overfetch(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn every_issued_cursor_is_accepted_back() {
        // The longest data key: 256 four-byte characters, 1 KiB, 2 KiB of cursor.
        let emoji = "🔑".repeat(256);
        for key in [
            "a",
            "a/b &?#=+%",
            "ключ",
            emoji.as_str(),
            "6553f1000000000000000001",
        ] {
            let page = Page::from_overfetch(vec![key, key], 1, |k| (*k).to_owned());
            let cursor = page.next_cursor.expect("a next page");
            assert!(cursor.bytes().all(|b| b.is_ascii_hexdigit()), "{cursor}");
            let request = PageRequest::new(Some(1), Some(cursor)).expect("accepted back");
            assert_eq!(request.after(), Some(key));
        }
    }

    #[test]
    fn foreign_cursors_are_refused() {
        let too_long = "00".repeat(MAX_CURSOR_KEY_BYTES + 1);
        for bad in ["zz", "abc", "ff", "c3", too_long.as_str()] {
            assert!(
                matches!(
                    PageRequest::new(None, Some(bad.to_owned())),
                    Err(Error::Validation(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            PageRequest::new(None, Some(String::new())).ok(),
            Some(PageRequest::first())
        );
    }

    #[test]
    fn id_cursors_must_hold_ids() {
        let id = Id::generate(1_700_000_000);
        let good = PageRequest::new(None, Some(encode_cursor(id.as_str()))).expect("cursor");
        assert_eq!(good.after_id().expect("an id"), Some(id));
        let other = PageRequest::new(None, Some(encode_cursor("not-an-id"))).expect("cursor");
        assert!(matches!(other.after_id(), Err(Error::Validation(_))));
    }
}
