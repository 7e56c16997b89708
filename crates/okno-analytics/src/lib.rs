//! Okno's analytics in memory: the rollups (see [`okno_core::rollup`]) loaded once and kept
//! current by each committed change, arranged so that the map, the series and the backlog are
//! read from counts whose cost grows with the cells or days asked for, never with the requests.
//!
//! Three arrangements are kept side by side, all fed from the same rollup changes:
//! - **series by cell** and **series by territory**, per category (or all) and status (all or
//!   open): running daily totals, so any window is two binary searches per cell or territory;
//! - **facts by day**: every rollup key without its hour, for the filters the series do not
//!   cover (service, agency, channel) — a scan of the window's days;
//! - **backlog by agency**: counts per creation day and closing day, for "open at a date".
//!
//! Days are local dates in the region's time zone, numbered from 1970-01-01.

mod dict;
mod series;
pub mod spikes;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use dict::Dict;
use okno_core::alert::{AlertDraft, Period};
use okno_core::rollup::{h3_parent, RollupDeltas, RollupKey, RollupRow, CELL_RESOLUTION};
use series::Series;
use std::collections::{BTreeMap, HashMap};

/// The longest window a query may ask for, in days (about ten years).
pub const MAX_WINDOW_DAYS: i32 = 3_660;

/// A query the engine refuses, with the reason to show the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    /// The window is empty, reversed or too long.
    #[error("{0}")]
    Window(String),
    /// The H3 resolution is not one the rollups can answer.
    #[error("resolution {0} is out of range: cells are counted at resolutions 0 to {CELL_RESOLUTION}")]
    Resolution(u8),
}

/// A range of local days, `from` included, `to` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day.
    pub from: i32,
    /// Day after the last.
    pub to: i32,
}

impl Window {
    /// The window of the dates `[from, to)`, refused when empty or longer than [`MAX_WINDOW_DAYS`].
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Window, QueryError> {
        let window = Window { from: day_number(from), to: day_number(to) };
        if window.to <= window.from {
            return Err(QueryError::Window(format!("the window {from} to {to} is empty: `to` must be after `from`")));
        }
        if window.days() > MAX_WINDOW_DAYS {
            return Err(QueryError::Window(format!(
                "the window {from} to {to} is {} days long; at most {MAX_WINDOW_DAYS} days are counted at once",
                window.days()
            )));
        }
        Ok(window)
    }

    /// Its length in days.
    pub fn days(&self) -> i32 {
        self.to - self.from
    }

    /// The window of the same length just before it.
    pub fn previous(&self) -> Window {
        Window { from: self.from - self.days(), to: self.from }
    }
}

/// Days since 1970-01-01 of a date.
pub fn day_number(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    i32::try_from((date - epoch).num_days()).unwrap_or(if date < epoch { i32::MIN } else { i32::MAX })
}

/// The date of a day number.
pub fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date") + chrono::Duration::days(i64::from(day))
}

/// Which requests to count by their state now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusClass {
    /// All of them.
    #[default]
    Any,
    /// Those not closed.
    Open,
    /// Those closed.
    Closed,
}

/// What to count: every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Source category.
    pub category: Option<String>,
    /// Service code.
    pub service: Option<okno_core::ServiceCode>,
    /// Agency code.
    pub agency: Option<okno_core::AgencyCode>,
    /// Channel name.
    pub channel: Option<String>,
    /// Territory code.
    pub territory: Option<okno_core::TerritoryCode>,
    /// Open or closed now.
    pub status: StatusClass,
}

/// Requests counted in one place over a window and the window before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceCount<K> {
    /// The H3 cell or the territory code.
    pub place: K,
    /// Count in the window.
    pub count: i64,
    /// Count in the window of the same length before it.
    pub previous: i64,
}

/// A category index, or all categories.
const ALL: u16 = u16::MAX;
/// The closing day of a request still open.
const OPEN: i32 = i32::MAX;

/// A rollup key without its hour, dimensions interned, counted on its creation day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fact {
    cell: u32,
    territory: u16,
    service: u16,
    category: u16,
    agency: u16,
    channel: u16,
    open: bool,
    n: i32,
}

/// Which series: a category (or [`ALL`]) and whether only open requests are counted.
type SeriesKey = (u16, bool);

/// The counts, arranged for reading; see the crate documentation.
#[derive(Debug)]
pub struct Cube {
    zone: Tz,
    day_of_hour: HashMap<i64, i32>,
    cells: Dict<i64>,
    cell_centers: Vec<(f64, f64)>,
    territories: Dict<String>,
    services: Dict<String>,
    categories: Dict<String>,
    agencies: Dict<String>,
    channels: Dict<String>,
    facts: BTreeMap<i32, Vec<Fact>>,
    by_cell: HashMap<SeriesKey, HashMap<u32, Series>>,
    by_territory: HashMap<(u16, bool, u16), Series>,
    backlog: HashMap<u16, Backlog>,
}

/// One agency's requests by creation day and closing day ([`OPEN`] while open): a map that
/// takes changes, and flat arrays ordered by creation day, rebuilt after a change on first
/// read, that a query scans without chasing pointers.
#[derive(Debug, Default)]
struct Backlog {
    counts: BTreeMap<(i32, i32), i64>,
    flat: std::sync::OnceLock<FlatBacklog>,
}

#[derive(Debug, Default)]
struct FlatBacklog {
    created: Vec<i32>,
    closed: Vec<i32>,
    n: Vec<i64>,
}

impl Backlog {
    fn add(&mut self, created: i32, closed: i32, n: i64) {
        let entry = self.counts.entry((created, closed)).or_default();
        *entry += n;
        if *entry == 0 {
            self.counts.remove(&(created, closed));
        }
        self.flat.take();
    }

    /// Requests created before `created_before` and not closed before `open_at`.
    fn open(&self, created_before: i32, open_at: i32) -> i64 {
        let flat = self.flat.get_or_init(|| FlatBacklog {
            created: self.counts.keys().map(|k| k.0).collect(),
            closed: self.counts.keys().map(|k| k.1).collect(),
            n: self.counts.values().copied().collect(),
        });
        let end = flat.created.partition_point(|&d| d < created_before);
        flat.closed[..end].iter().zip(&flat.n[..end]).map(|(&closed, &n)| if closed >= open_at { n } else { 0 }).sum()
    }
}

/// Sizes of a cube, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CubeSize {
    /// Requests counted.
    pub requests: i64,
    /// Facts (rollup keys without their hour).
    pub facts: usize,
    /// Days held in all series.
    pub series_days: usize,
    /// Cells with counts.
    pub cells: usize,
}

impl Cube {
    /// An empty cube counting days in `zone`.
    pub fn new(zone: Tz) -> Cube {
        Cube {
            zone,
            day_of_hour: HashMap::new(),
            cells: Dict::default(),
            cell_centers: Vec::new(),
            territories: Dict::default(),
            services: Dict::default(),
            categories: Dict::default(),
            agencies: Dict::default(),
            channels: Dict::default(),
            facts: BTreeMap::new(),
            by_cell: HashMap::new(),
            by_territory: HashMap::new(),
            backlog: HashMap::new(),
        }
    }

    /// The time zone days are counted in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Adds stored rollups (a first load: facts are appended without looking for equal ones).
    pub fn load(&mut self, mut rows: Vec<RollupRow>) {
        rows.sort_unstable_by_key(|r| r.key.hour);
        for row in &rows {
            self.count(&row.key, row.n, false);
        }
    }

    /// Applies committed changes.
    pub fn apply(&mut self, deltas: &RollupDeltas) {
        for (key, n) in deltas.iter() {
            self.count(key, n, true);
        }
    }

    /// The local day of an hour since the epoch.
    fn day(&mut self, hour: i64) -> i32 {
        let zone = self.zone;
        *self.day_of_hour.entry(hour).or_insert_with(|| {
            let at = DateTime::<Utc>::from_timestamp(hour.saturating_mul(3_600), 0).unwrap_or_default();
            day_number(zone.from_utc_datetime(&at.naive_utc()).date_naive())
        })
    }

    fn cell_index(&mut self, cell: i64) -> u32 {
        let index = self.cells.index(&cell);
        if index as usize == self.cell_centers.len() {
            self.cell_centers.push(center(cell).unwrap_or((f64::NAN, f64::NAN)));
        }
        index
    }

    fn count(&mut self, key: &RollupKey, n: i64, merge: bool) {
        let day = self.day(key.hour);
        let closed = if key.closed_hour == 0 { OPEN } else { self.day(key.closed_hour) };
        let fact = Fact {
            cell: if key.cell == 0 { u32::MAX } else { self.cell_index(key.cell) },
            territory: dict_index(&mut self.territories, &key.territory),
            service: dict_index(&mut self.services, &key.service),
            category: dict_index(&mut self.categories, &key.category),
            agency: dict_index(&mut self.agencies, &key.agency),
            channel: dict_index(&mut self.channels, &key.channel),
            open: key.closed_hour == 0,
            n: i32::try_from(n).unwrap_or(i32::MAX),
        };
        let facts = self.facts.entry(day).or_default();
        let same = |f: &&mut Fact| Fact { n: 0, ..**f } == Fact { n: 0, ..fact };
        match merge.then(|| facts.iter_mut().find(same)).flatten() {
            Some(existing) => existing.n += fact.n,
            None => facts.push(fact),
        }
        for category in [fact.category, ALL] {
            for open in [false, true] {
                if open && !fact.open {
                    continue;
                }
                if fact.cell != u32::MAX {
                    self.by_cell.entry((category, open)).or_default().entry(fact.cell).or_default().push(day, n);
                }
                for territory in [fact.territory, ALL] {
                    self.by_territory.entry((category, open, territory)).or_default().push(day, n);
                }
            }
        }
        self.backlog.entry(fact.agency).or_default().add(day, closed, n);
    }

    /// Sizes, for reports.
    pub fn size(&self) -> CubeSize {
        CubeSize {
            requests: self.facts.values().flatten().map(|f| i64::from(f.n)).sum(),
            facts: self.facts.values().map(Vec::len).sum(),
            series_days: self.by_cell.values().flat_map(HashMap::values).chain(self.by_territory.values()).map(Series::len).sum(),
            cells: self.cells.len(),
        }
    }

    /// The series view answering `filter`, when one does (no service, agency or channel asked).
    fn series_key(&self, filter: &Filter) -> Option<Option<SeriesKey>> {
        if filter.service.is_some() || filter.agency.is_some() || filter.channel.is_some() {
            return None;
        }
        let category = match &filter.category {
            None => ALL,
            Some(c) => match dict_find(&self.categories, c) {
                Some(i) => i,
                None => return Some(None),
            },
        };
        Some(Some((category, filter.status == StatusClass::Open)))
    }

    /// Counts per H3 cell at `resolution` (0–8), of the cells whose centre lies in `bbox`
    /// (`[min_lon, min_lat, max_lon, max_lat]`) when given.
    pub fn cells(&self, resolution: u8, bbox: Option<[f64; 4]>, window: Window, filter: &Filter) -> Result<Vec<PlaceCount<i64>>, QueryError> {
        if resolution > CELL_RESOLUTION {
            return Err(QueryError::Resolution(resolution));
        }
        let inside = |cell: u32| {
            bbox.is_none_or(|[w, s, e, n]| {
                let (lat, lon) = self.cell_centers[cell as usize];
                (s..=n).contains(&lat) && (w..=e).contains(&lon)
            })
        };
        let mut counts: HashMap<u32, (i64, i64)> = HashMap::new();
        let previous = window.previous();
        match self.series_key(filter) {
            Some(None) => {}
            Some(Some(key)) if filter.territory.is_none() => {
                let open = self.by_cell.get(&(key.0, true));
                for (&cell, series) in self.by_cell.get(&key).into_iter().flatten() {
                    if inside(cell) {
                        let mut both = (series.sum(window.from, window.to), series.sum(previous.from, previous.to));
                        if let Some(open) = open.and_then(|o| o.get(&cell)).filter(|_| filter.status == StatusClass::Closed) {
                            both = (both.0 - open.sum(window.from, window.to), both.1 - open.sum(previous.from, previous.to));
                        }
                        counts.insert(cell, both);
                    }
                }
            }
            _ => self.scan_into(window, previous, filter, &mut counts, |f| (f.cell != u32::MAX && inside(f.cell)).then_some(f.cell)),
        }
        let mut by_place: HashMap<i64, (i64, i64)> = HashMap::new();
        for (cell, (count, before)) in counts {
            let place = self.cells.value(cell);
            let place = if resolution == CELL_RESOLUTION { place } else { h3_parent(place, resolution).unwrap_or(place) };
            let entry = by_place.entry(place).or_default();
            entry.0 += count;
            entry.1 += before;
        }
        Ok(sorted(by_place))
    }

    /// Counts per territory code (requests placed in none are left out).
    pub fn territories(&self, window: Window, filter: &Filter) -> Vec<PlaceCount<String>> {
        let previous = window.previous();
        let mut counts: HashMap<u16, (i64, i64)> = HashMap::new();
        match self.series_key(filter) {
            Some(Some((category, open))) => {
                let closed = filter.status == StatusClass::Closed;
                for (&(c, o, territory), series) in &self.by_territory {
                    let wanted = filter.territory.as_ref().is_none_or(|t| self.territories.value(u32::from(territory)) == t.as_str());
                    if c == category && (o == open || closed) && territory != ALL && wanted {
                        let sign = if closed && o { -1 } else { 1 };
                        let entry = counts.entry(territory).or_default();
                        entry.0 += sign * series.sum(window.from, window.to);
                        entry.1 += sign * series.sum(previous.from, previous.to);
                    }
                }
            }
            Some(None) => {}
            _ => self.scan_into(window, previous, filter, &mut counts, |f| Some(f.territory)),
        }
        let named = counts.into_iter().filter(|(t, _)| !self.territories.value(u32::from(*t)).is_empty());
        sorted(named.map(|(t, both)| (self.territories.value(u32::from(t)), both)).collect())
    }

    /// Counts per day of the window, every day listed (zeros included).
    pub fn series(&self, window: Window, filter: &Filter) -> Vec<(NaiveDate, i64)> {
        let mut days = vec![0_i64; usize::try_from(window.days()).unwrap_or(0)];
        let mut add = |day: i32, n: i64| {
            if let Some(slot) = usize::try_from(day - window.from).ok().and_then(|i| days.get_mut(i)) {
                *slot += n;
            }
        };
        let territory = match &filter.territory {
            None => Some(ALL),
            Some(t) => dict_find(&self.territories, t),
        };
        match (self.series_key(filter), territory) {
            (Some(None), _) | (_, None) => {}
            (Some(Some((category, open))), Some(territory)) => {
                let read = |open: bool| self.by_territory.get(&(category, open, territory));
                for (day, n) in read(open).into_iter().flat_map(|s| s.days(window.from, window.to)) {
                    add(day, n);
                }
                if filter.status == StatusClass::Closed {
                    for (day, n) in read(true).into_iter().flat_map(|s| s.days(window.from, window.to)) {
                        add(day, -n);
                    }
                }
            }
            (None, Some(_)) => {
                let matches = self.matcher(filter);
                for (&day, facts) in self.facts.range(window.from..window.to) {
                    add(day, facts.iter().filter(|f| matches(f)).map(|f| i64::from(f.n)).sum());
                }
            }
        }
        (window.from..window.to).map(date_of).zip(days).collect()
    }

    /// Counts per day of the window for each category with any (`""` for requests without one).
    pub fn series_by_category(&self, window: Window, filter: &Filter) -> Vec<(String, Vec<(NaiveDate, i64)>)> {
        let categories = (0..u32::try_from(self.categories.len()).unwrap_or(u32::MAX)).map(|i| self.categories.value(i));
        let wanted = categories.filter(|c| filter.category.as_ref().is_none_or(|f| f == c));
        wanted
            .map(|category| {
                let one = Filter { category: Some(category.clone()), ..filter.clone() };
                (category, self.series(window, &one))
            })
            .filter(|(_, days)| days.iter().any(|(_, n)| *n != 0))
            .collect()
    }

    /// Requests created before `created_before` and still open at the start of `open_at`
    /// (not closed before it), per agency code, most first; those without an agency under `""`.
    pub fn backlog(&self, created_before: NaiveDate, open_at: NaiveDate) -> Vec<(String, i64)> {
        let (created_before, open_at) = (day_number(created_before), day_number(open_at));
        let mut rows: Vec<(String, i64)> = self
            .backlog
            .iter()
            .map(|(&agency, backlog)| (self.agencies.value(u32::from(agency)), backlog.open(created_before, open_at)))
            .filter(|(_, n)| *n != 0)
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    /// The spikes of `day` and of its week from Monday (on a Monday, the day only): every topic
    /// in every territory and in the whole region tested against its history (see [`spikes`]),
    /// the strongest first.
    pub fn spikes(&self, day: NaiveDate, rules: &spikes::SpikeRules) -> Vec<AlertDraft> {
        let mut found = self.spikes_of(day, Period::Day, rules);
        if Period::Week.days_ending(day) > 1 {
            found.extend(self.spikes_of(day, Period::Week, rules));
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| (&a.category, &a.territory).cmp(&(&b.category, &b.territory))));
        found
    }

    /// The spikes of the period ending on `day`.
    fn spikes_of(&self, day: NaiveDate, period: Period, rules: &spikes::SpikeRules) -> Vec<AlertDraft> {
        let period_days = period.days_ending(day);
        let end = day_number(day) + 1;
        let first = end - period_days - rules.history_days;
        // Days on which the region received nothing at all are unknown, not zero.
        let known: Vec<bool> = {
            let mut known = vec![false; usize::try_from(end - first).unwrap_or(0)];
            for (d, _) in self.by_territory.get(&(ALL, false, ALL)).into_iter().flat_map(|s| s.days(first, end)) {
                known[usize::try_from(d - first).unwrap_or(0)] = true;
            }
            known
        };
        let daily = |series: &Series| {
            let mut counts: Vec<Option<i64>> = known.iter().map(|&k| k.then_some(0)).collect();
            for (d, n) in series.days(first, end) {
                counts[usize::try_from(d - first).unwrap_or(0)] = Some(n);
            }
            counts
        };
        let history_days = usize::try_from(rules.history_days).unwrap_or(0);
        let mut profiles: HashMap<u16, spikes::WeekdayProfile> = HashMap::new();
        let mut found = Vec::new();
        for (&(category, open, territory), series) in &self.by_territory {
            let named = territory == ALL || !self.territories.value(u32::from(territory)).is_empty();
            if open || category == ALL || !named || series.sum(end - period_days, end) < rules.min_observed {
                continue;
            }
            let profile = profiles.entry(category).or_insert_with(|| {
                let region = self.by_territory.get(&(category, false, ALL)).map(&daily).unwrap_or_default();
                spikes::weekday_profile(&region[..history_days.min(region.len())], date_of(first))
            });
            if let Some((observed, expectation, score)) = spikes::test(&daily(series), date_of(first), period_days, profile, rules) {
                found.push(AlertDraft {
                    category: self.categories.value(u32::from(category)),
                    territory: (territory != ALL).then(|| self.territories.value(u32::from(territory)).into()),
                    period,
                    first_day: date_of(end - period_days),
                    last_day: day,
                    observed,
                    expected: expectation.expected,
                    score,
                });
            }
        }
        found
    }

    /// A test of facts against every field of `filter`; an unknown value matches nothing.
    fn matcher(&self, filter: &Filter) -> impl Fn(&Fact) -> bool + use<> {
        let want = |dict: &Dict<String>, value: Option<&str>| value.map(|v| dict_find(dict, v).unwrap_or(ALL));
        let (category, service, agency, channel, territory) = (
            want(&self.categories, filter.category.as_deref()),
            want(&self.services, filter.service.as_deref()),
            want(&self.agencies, filter.agency.as_deref()),
            want(&self.channels, filter.channel.as_deref()),
            want(&self.territories, filter.territory.as_deref()),
        );
        let status = filter.status;
        move |f: &Fact| {
            category.is_none_or(|c| c == f.category)
                && service.is_none_or(|s| s == f.service)
                && agency.is_none_or(|a| a == f.agency)
                && channel.is_none_or(|c| c == f.channel)
                && territory.is_none_or(|t| t == f.territory)
                && match status {
                    StatusClass::Any => true,
                    StatusClass::Open => f.open,
                    StatusClass::Closed => !f.open,
                }
        }
    }

    /// Sums the facts of both windows matching `filter` by the place `place` gives them.
    fn scan_into<P: std::hash::Hash + Eq>(
        &self,
        window: Window,
        previous: Window,
        filter: &Filter,
        counts: &mut HashMap<P, (i64, i64)>,
        place: impl Fn(&Fact) -> Option<P>,
    ) {
        let matches = self.matcher(filter);
        for (w, current) in [(window, true), (previous, false)] {
            for facts in self.facts.range(w.from..w.to).map(|(_, f)| f) {
                for f in facts.iter().filter(|f| matches(f)) {
                    if let Some(p) = place(f) {
                        let entry = counts.entry(p).or_default();
                        if current { entry.0 += i64::from(f.n) } else { entry.1 += i64::from(f.n) }
                    }
                }
            }
        }
        counts.retain(|_, both| *both != (0, 0));
    }
}

/// The number of a dimension value, `""` included (values past 65,533 share the last number).
fn dict_index(dict: &mut Dict<String>, value: &str) -> u16 {
    u16::try_from(dict.index(value)).unwrap_or(ALL - 1).min(ALL - 1)
}

/// The number of a dimension value already seen.
fn dict_find(dict: &Dict<String>, value: &str) -> Option<u16> {
    dict.find(value).and_then(|n| u16::try_from(n).ok())
}

/// The centre of an H3 cell as (latitude, longitude).
pub fn center(cell: i64) -> Option<(f64, f64)> {
    let index = h3o::CellIndex::try_from(u64::try_from(cell).ok()?).ok()?;
    let point = h3o::LatLng::from(index);
    Some((point.lat(), point.lng()))
}

/// The boundary of an H3 cell as a closed ring of (longitude, latitude).
pub fn boundary(cell: i64) -> Option<Vec<[f64; 2]>> {
    let index = h3o::CellIndex::try_from(u64::try_from(cell).ok()?).ok()?;
    let mut ring: Vec<[f64; 2]> = index.boundary().iter().map(|p| [p.lng(), p.lat()]).collect();
    ring.push(*ring.first()?);
    Some(ring)
}

fn sorted<K: Ord>(counts: HashMap<K, (i64, i64)>) -> Vec<PlaceCount<K>> {
    let mut rows: Vec<PlaceCount<K>> =
        counts.into_iter().filter(|(_, c)| *c != (0, 0)).map(|(place, (count, previous))| PlaceCount { place, count, previous }).collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.place.cmp(&b.place)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (splitmix64).
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % n
        }
    }

    fn pick(r: &mut Random, names: &[&str]) -> String {
        names[r.below(names.len() as u64) as usize].to_owned()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Resolution-8 cells around St. Petersburg.
    fn cells() -> Vec<i64> {
        [(59.95, 30.3), (59.93, 30.36), (59.85, 30.2), (60.0, 30.4), (59.99, 30.25)]
            .iter()
            .map(|&(lat, lon)| u64::from(h3o::LatLng::new(lat, lon).unwrap().to_cell(h3o::Resolution::Eight)) as i64)
            .chain([0])
            .collect()
    }

    fn random_key(r: &mut Random, cells: &[i64]) -> RollupKey {
        let hour = 447_000 + r.below(24 * 120) as i64; // around 2021
        RollupKey {
            hour,
            cell: cells[r.below(cells.len() as u64) as usize],
            territory: pick(r, &["smolny", "vasilyevsky", ""]),
            service: pick(r, &["pothole", "snow", "leak"]),
            category: pick(r, &["roads", "yards", ""]),
            agency: pick(r, &["roads", "water", ""]),
            channel: pick(r, &["web", "import"]),
            closed_hour: if r.below(3) == 0 { 0 } else { hour + r.below(24 * 40) as i64 },
        }
    }

    /// Every count recomputed from the keys one by one: the second code path.
    struct Brute {
        keys: Vec<(RollupKey, i64)>,
    }

    impl Brute {
        fn day(&self, hour: i64) -> i32 {
            let at = DateTime::<Utc>::from_timestamp(hour * 3_600, 0).unwrap();
            day_number(chrono_tz::Europe::Moscow.from_utc_datetime(&at.naive_utc()).date_naive())
        }

        fn matches(k: &RollupKey, f: &Filter) -> bool {
            let eq = |want: Option<&str>, have: &str| want.is_none_or(|w| w == have);
            eq(f.category.as_deref(), &k.category) && eq(f.service.as_deref(), &k.service) && eq(f.agency.as_deref(), &k.agency)
                && eq(f.channel.as_deref(), &k.channel)
                && eq(f.territory.as_deref(), &k.territory)
                && match f.status {
                    StatusClass::Any => true,
                    StatusClass::Open => k.closed_hour == 0,
                    StatusClass::Closed => k.closed_hour != 0,
                }
        }

        fn count(&self, w: Window, f: &Filter, place: impl Fn(&RollupKey) -> bool) -> i64 {
            self.keys.iter().filter(|(k, _)| (w.from..w.to).contains(&self.day(k.hour)) && Self::matches(k, f) && place(k)).map(|(_, n)| n).sum()
        }
    }

    #[test]
    fn every_view_agrees_with_counting_the_keys_one_by_one() {
        let mut r = Random(7);
        let cells = cells();
        let mut cube = Cube::new(chrono_tz::Europe::Moscow);
        let keys: Vec<RollupKey> = (0..3_000).map(|_| random_key(&mut r, &cells)).collect();
        cube.load(keys[..2_000].iter().map(|k| RollupRow { key: k.clone(), n: 1 }).collect());
        let mut brute = Brute { keys: keys[..2_000].iter().map(|k| (k.clone(), 1)).collect() };
        // Later writes: new requests, and requests closing (moved from an open key to a closed one).
        for k in &keys[2_000..] {
            let mut d = RollupDeltas::default();
            d.add(k.clone(), 1);
            if k.closed_hour != 0 {
                d.add(k.clone(), -1);
                d.add(RollupKey { closed_hour: 0, ..k.clone() }, 1);
                cube.apply(&d);
                let mut closing = RollupDeltas::default();
                closing.add(RollupKey { closed_hour: 0, ..k.clone() }, -1);
                closing.add(k.clone(), 1);
                cube.apply(&closing);
            } else {
                cube.apply(&d);
            }
            brute.keys.push((k.clone(), 1));
        }
        let window = Window::new(date("2021-01-15"), date("2021-02-14")).unwrap();
        let filters = [
            Filter::default(),
            Filter { category: Some("roads".into()), ..Default::default() },
            Filter { category: Some("roads".into()), status: StatusClass::Closed, ..Default::default() },
            Filter { status: StatusClass::Open, ..Default::default() },
            Filter { agency: Some("water".into()), channel: Some("web".into()), ..Default::default() },
            Filter { territory: Some("smolny".into()), service: Some("snow".into()), ..Default::default() },
            Filter { category: Some("nowhere".into()), ..Default::default() },
        ];
        for f in &filters {
            for w in [window, window.previous()] {
                let total: i64 = cube.cells(8, None, window, f).unwrap().iter().map(|c| if w == window { c.count } else { c.previous }).sum();
                assert_eq!(total, brute.count(w, f, |k| k.cell != 0), "cells {f:?}");
                let by_territory = cube.territories(window, f);
                let smolny = by_territory.iter().find(|t| t.place == "smolny").map_or(0, |t| if w == window { t.count } else { t.previous });
                assert_eq!(smolny, brute.count(w, f, |k| k.territory == "smolny"), "territories {f:?}");
            }
            let one_cell = cells[1];
            let counted = cube.cells(8, Some([30.35, 59.92, 30.37, 59.94]), window, f).unwrap();
            assert!(counted.iter().all(|c| c.place == one_cell), "the bounding box keeps one cell");
            assert_eq!(counted.first().map_or(0, |c| c.count), brute.count(window, f, |k| k.cell == one_cell));
            let series = cube.series(window, f);
            assert_eq!(series.len(), 30);
            for (d, n) in series {
                let day = Window { from: day_number(d), to: day_number(d) + 1 };
                assert_eq!(n, brute.count(day, f, |_| true), "series {f:?} on {d}");
            }
        }
        let coarse: i64 = cube.cells(5, None, window, &Filter::default()).unwrap().iter().map(|c| c.count).sum();
        assert_eq!(coarse, brute.count(window, &Filter::default(), |k| k.cell != 0), "parents hold their children's counts");
        let (before, at) = (date("2021-02-01"), date("2021-03-01"));
        for (agency, n) in cube.backlog(before, at) {
            let expected: i64 = brute.keys.iter()
                .filter(|(k, _)| k.agency == agency && brute.day(k.hour) < day_number(before) && (k.closed_hour == 0 || brute.day(k.closed_hour) >= day_number(at)))
                .map(|(_, n)| n).sum();
            assert_eq!(n, expected, "backlog of {agency:?}");
        }
        assert_eq!(cube.size().requests, 3_000);
    }

    #[test]
    fn absurd_queries_are_refused() {
        let cube = Cube::new(chrono_tz::Europe::Moscow);
        assert!(matches!(Window::new(date("1990-01-01"), date("2040-01-01")), Err(QueryError::Window(_))));
        assert!(matches!(Window::new(date("2021-02-01"), date("2021-01-01")), Err(QueryError::Window(_))));
        let w = Window::new(date("2021-01-01"), date("2021-02-01")).unwrap();
        assert_eq!(cube.cells(9, None, w, &Filter::default()), Err(QueryError::Resolution(9)));
        assert!(cube.cells(0, Some([-180.0, -90.0, 180.0, 90.0]), w, &Filter::default()).unwrap().is_empty());
    }
}
