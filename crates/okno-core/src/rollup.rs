//! Rollups: requests counted by every dimension the analytics reads (creation hour, H3 cell,
//! territory, service, category, agency, channel, closing hour). The store keeps them in the
//! same transaction as the requests they count, so a heat map or a series is read from counts,
//! never from the requests themselves.
//!
//! Hours are counted in UTC since the Unix epoch: any whole-hour time zone (Russia's, the
//! United States') turns them into local days exactly, including across daylight-saving changes.

use crate::request::{Channel, Request};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The H3 resolution of the rollups' cells (hexagons of about 0.74 km², edge about 460 m);
/// coarser resolutions are read through the cells' parents.
pub const CELL_RESOLUTION: u8 = 8;

/// Where a request is counted: every field is a dimension; absent values are `""` or `0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    /// Creation hour (UTC hours since the Unix epoch).
    pub hour: i64,
    /// H3 cell at [`CELL_RESOLUTION`] of its point; 0 without one.
    pub cell: i64,
    /// Territory code.
    pub territory: String,
    /// Service code (the topic).
    pub service: String,
    /// Source category (the topic's first level).
    pub category: String,
    /// Agency code.
    pub agency: String,
    /// Channel it came through.
    pub channel: String,
    /// Hour it was closed (as [`RollupKey::hour`]); 0 while open.
    pub closed_hour: i64,
}

/// A stored rollup: how many requests share one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// The dimensions.
    pub key: RollupKey,
    /// Requests counted.
    pub n: i64,
}

/// UTC hours since the Unix epoch, rounded down.
pub fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3_600)
}

/// The fields of a request that place it in the rollups.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its H3 cell at any resolution finer than [`CELL_RESOLUTION`].
    pub cell: Option<i64>,
    /// Territory code.
    pub territory: Option<&'a str>,
    /// Service code.
    pub service: &'a str,
    /// Source category.
    pub category: Option<&'a str>,
    /// Agency code.
    pub agency: Option<&'a str>,
    /// Channel.
    pub channel: Channel,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
}

impl RollupKey {
    /// Where a request with these fields is counted.
    pub fn new(c: Counted<'_>) -> RollupKey {
        let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
        RollupKey {
            hour: hour_of(c.created_at),
            cell: c.cell.and_then(|cell| h3_parent(cell, CELL_RESOLUTION)).unwrap_or(0),
            territory: text(c.territory),
            service: c.service.to_owned(),
            category: text(c.category),
            agency: text(c.agency),
            channel: c.channel.as_str().to_owned(),
            closed_hour: c.closed_at.map_or(0, hour_of),
        }
    }

    /// Where `r` is counted.
    pub fn of(r: &Request) -> RollupKey {
        RollupKey::new(Counted {
            created_at: r.created_at,
            cell: r.location.cell,
            territory: r.territory.as_deref(),
            service: &r.service_code,
            category: r.category.as_deref(),
            agency: r.agency.as_deref(),
            channel: r.channel,
            closed_at: r.closed_at,
        })
    }
}

/// Changes to the rollups, summed per key, zero sums dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupDeltas(BTreeMap<RollupKey, i64>);

impl RollupDeltas {
    /// Counts `r` in (`+1`) or out (`-1`).
    pub fn count(&mut self, r: &Request, sign: i64) {
        self.add(RollupKey::of(r), sign);
    }

    /// Moves a request from where `before` counted it to where `after` does.
    pub fn change(&mut self, before: &Request, after: &Request) {
        self.count(before, -1);
        self.count(after, 1);
    }

    /// Adds `n` to one key.
    pub fn add(&mut self, key: RollupKey, n: i64) {
        use std::collections::btree_map::Entry;
        match self.0.entry(key) {
            Entry::Occupied(mut sum) => {
                *sum.get_mut() += n;
                if *sum.get() == 0 {
                    sum.remove();
                }
            }
            Entry::Vacant(slot) if n != 0 => {
                slot.insert(n);
            }
            Entry::Vacant(_) => {}
        }
    }

    /// The non-zero changes, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&RollupKey, i64)> {
        self.0.iter().map(|(k, n)| (k, *n))
    }

    /// Nothing changes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The parent of an H3 cell at a coarser resolution `res` (0–15): the same index with its
/// resolution field set to `res` and the digits of finer resolutions set to 7 (unused), as
/// the H3 index format defines. `None` when `cell` is not a cell index or is coarser than `res`.
pub fn h3_parent(cell: i64, res: u8) -> Option<i64> {
    let bits = u64::try_from(cell).ok()?;
    let mode = (bits >> 59) & 0xF;
    let own = ((bits >> 52) & 0xF) as u8;
    if mode != 1 || res > own || res > 15 {
        return None;
    }
    let mut parent = (bits & !(0xF << 52)) | (u64::from(res) << 52);
    for r in res + 1..=own {
        parent |= 0b111 << ((15 - u32::from(r)) * 3);
    }
    i64::try_from(parent).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_sets_the_resolution_and_blanks_finer_digits() {
        // The resolution-10 cell of 59.95 N 30.3 E and its parents, as the H3 library (h3o) gives them.
        let cell = 0x08a1_1061_4b73_7fff_i64;
        assert_eq!(h3_parent(cell, 10), Some(cell));
        assert_eq!(h3_parent(cell, 8), Some(0x0881_1061_4b7f_ffff));
        assert_eq!(h3_parent(cell, 5), Some(0x0851_1061_7fff_ffff));
        assert_eq!(h3_parent(cell, 11), None, "a finer resolution is no parent");
        assert_eq!(h3_parent(-1, 8), None);
        assert_eq!(h3_parent(0, 8), None, "0 is no cell");
    }

    #[test]
    fn deltas_cancel_and_hours_round_down() {
        let t = DateTime::parse_from_rfc3339("1969-12-31T23:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(hour_of(t), -1);
        let mut d = RollupDeltas::default();
        let key = RollupKey { hour: 5, cell: 0, territory: String::new(), service: "s".into(), category: String::new(), agency: String::new(), channel: "web".into(), closed_hour: 0 };
        d.add(key.clone(), 1);
        d.add(key.clone(), -1);
        d.add(key.clone(), 0);
        assert!(d.is_empty());
        d.add(key, 2);
        assert_eq!(d.iter().count(), 1);
    }
}
