//! Cursor paging shared by every list: `?limit=` (default 50, max 500) and an opaque `?cursor=`.

use crate::error::{Error, Result};

/// The default page size of every list.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page size a client may ask for.
pub const MAX_PAGE_SIZE: usize = 500;

/// A validated request for one page: how many items, and after which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    limit: usize,
    after: Option<String>,
}

impl PageRequest {
    /// Validates a client's `limit` and `cursor`; a cursor is the sort key of the last item seen.
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
        let after = cursor.filter(|c| !c.is_empty());
        if after.as_ref().is_some_and(|c| c.len() > 1024) {
            return Err(Error::invalid(
                "cursor",
                "is not a cursor this server issued",
            ));
        }
        Ok(Self { limit, after })
    }

    /// The first page with the default size.
    pub fn first() -> Self {
        Self {
            limit: DEFAULT_PAGE_SIZE,
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
    /// proves there is a next page, whose cursor is the key of the last item kept.
    pub fn from_overfetch(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Self { items, next_cursor }
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
        assert!(matches!(
            PageRequest::new(Some(0), None),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            PageRequest::new(Some(501), None),
            Err(Error::Validation(_))
        ));
    }

    #[test]
    fn overfetch_sets_cursor_only_when_more_exist() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = Page::from_overfetch(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
