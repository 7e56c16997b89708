//! Pages of newest-first lists (alerts, systemic problems): how large a page may be and where
//! the next one continues.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};

/// Largest page of a newest-first list.
pub const MAX_PAGE: u32 = 200;

/// The page size a newest-first list was asked for: 50 by default, refused outside 1–200.
pub fn page_limit(limit: Option<u32>) -> Result<u32> {
    within("limit", limit, 50, 1..=MAX_PAGE)
}

/// A number a caller gave in `field`, or `default`; one outside `range` is refused, never
/// quietly moved into it (the API document states each range).
pub fn within(field: &str, value: Option<u32>, default: u32, range: std::ops::RangeInclusive<u32>) -> Result<u32> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(AppError::field(field, ErrorCode::OutOfRange, format!("must be {} to {}", range.start(), range.end())))
    }
}

/// Where a newest-first list continues (`before` of the next page): the last item's id when
/// the page is full, none on the last page.
pub fn next_before<T, I>(page: &[T], limit: u32, id: impl Fn(&T) -> I) -> Option<I> {
    (page.len() == limit as usize).then(|| page.last().map(id)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_pages_are_bounded_and_continue_only_when_full() {
        assert_eq!(page_limit(None).unwrap(), 50);
        assert_eq!(page_limit(Some(200)).unwrap(), 200);
        assert!(page_limit(Some(0)).is_err() && page_limit(Some(201)).is_err());
        let ids = [9_i64, 7, 4];
        assert_eq!(next_before(&ids, 3, |i| *i), Some(4));
        assert_eq!(next_before(&ids, 5, |i| *i), None);
        assert_eq!(next_before(&[] as &[i64], 3, |i| *i), None);
    }
}
