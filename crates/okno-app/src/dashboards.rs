//! What the situation screen and the dashboards count, from the in-memory rollups: the heat map
//! (per H3 cell or per territory, with the window before and per 1,000 residents), the series
//! (per day or week, with the year before) and the backlog per agency.
//!
//! Counts are aggregates with no personal data. The defaults live here: the window is the 30
//! local days up to today, the backlog counts requests open now and older than 30 days.

use okno_core::calendar::shift_days;
use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{Datelike, DateTime, Duration, NaiveDate, Utc};
use okno_analytics::{Cube, Filter, PlaceCount, Window};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use utoipa::ToSchema;

/// Most places one heat-map answer may hold; more asks for a coarser resolution or a smaller box.
pub const MAX_FEATURES: usize = 50_000;

/// Days counted when no start is given.
const DEFAULT_WINDOW_DAYS: i64 = 30;

/// What to count, shared by the map and the series.
#[derive(Debug, Clone, Default)]
pub struct CountQuery {
    /// First day (local date, included); by default 30 days before `to`.
    pub from: Option<NaiveDate>,
    /// Day after the last (local date, excluded); by default tomorrow.
    pub to: Option<NaiveDate>,
    /// Which requests count.
    pub filter: Filter,
}

/// A window's days, resolved from a query's defaults.
#[derive(Debug, Clone, Copy)]
struct Days {
    from: NaiveDate,
    to: NaiveDate,
    window: Window,
}

impl CountQuery {
    fn days(&self, app: &App, now: DateTime<Utc>) -> Result<Days> {
        let zone = app.analytics.read(Cube::zone);
        let to = self.to.unwrap_or_else(|| now.with_timezone(&zone).date_naive() + Duration::days(1));
        let from = self.from.unwrap_or_else(|| shift_days(to, -DEFAULT_WINDOW_DAYS));
        Ok(Days { from, to, window: Window::new(from, to)? })
    }
}

/// How the map groups its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// H3 hexagons at a resolution, or at the one a map zoom level calls for, or the finest.
    Cells {
        /// H3 resolution 0–8.
        resolution: Option<u8>,
        /// Map zoom 0–24, used when no resolution is given.
        zoom: Option<u8>,
    },
    /// The territories, with their names, populations and boundaries.
    Territories,
}

/// The H3 resolution shown at a map zoom: cells a few dozen pixels across.
pub fn resolution_for_zoom(zoom: u8) -> u8 {
    zoom.saturating_sub(3).min(okno_core::rollup::CELL_RESOLUTION)
}

/// A count over a window beside the count of the window of the same length before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests in the window.
    pub count: i64,
    /// Requests in the window before.
    pub previous: i64,
}

impl Counts {
    /// The relative change from the window before (`None` when there was nothing before).
    pub fn change(&self) -> Option<f64> {
        (self.previous > 0).then(|| (self.count - self.previous) as f64 / self.previous as f64)
    }
}

/// What a place on the heat map is.
#[derive(Debug, Clone, PartialEq)]
pub enum MapPlace {
    /// An H3 cell.
    Cell(i64),
    /// A territory, with what is known of it.
    Territory {
        /// Its code.
        code: String,
        /// Name in Russian (`None` for a code no longer in the catalog).
        name_ru: Option<String>,
        /// Name in English.
        name_en: Option<String>,
        /// Residents, when known and not zero.
        population: Option<i64>,
    },
}

/// One place on the heat map.
#[derive(Debug, Clone)]
pub struct MapEntry {
    /// The cell or territory.
    pub place: MapPlace,
    /// Its counts.
    pub counts: Counts,
    /// Its outline as a GeoJSON geometry, when asked for and known.
    pub geometry: Option<Value>,
}

impl MapEntry {
    /// Requests per 1,000 residents, for a territory whose population is known.
    pub fn per_1000(&self) -> Option<f64> {
        match &self.place {
            MapPlace::Territory { population: Some(p), .. } => Some(self.counts.count as f64 * 1_000.0 / *p as f64),
            _ => None,
        }
    }
}

/// The heat map of a window.
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// First day counted.
    pub from: NaiveDate,
    /// Day after the last.
    pub to: NaiveDate,
    /// First day of the window before.
    pub previous_from: NaiveDate,
    /// The H3 resolution, when counted by cells.
    pub resolution: Option<u8>,
    /// All places' counts together.
    pub total: Counts,
    /// The places.
    pub places: Vec<MapEntry>,
}

/// The heat map: requests per H3 cell or territory over a window, only those whose centre (for
/// cells) or box (for territories) meets `bbox` (`[min_lon, min_lat, max_lon, max_lat]`), with
/// outlines when `with_geometry`.
pub async fn heatmap(app: &App, query: &CountQuery, grouping: Grouping, bbox: Option<[f64; 4]>, with_geometry: bool, now: DateTime<Utc>) -> Result<HeatMap> {
    let days = query.days(app, now)?;
    let mut map = HeatMap {
        from: days.from,
        to: days.to,
        previous_from: okno_analytics::date_of(days.window.previous().from),
        resolution: None,
        total: Counts::default(),
        places: Vec::new(),
    };
    match grouping {
        Grouping::Cells { resolution, zoom } => {
            let resolution = match (resolution, zoom) {
                (Some(r), _) => r,
                (None, Some(z)) if z <= 24 => resolution_for_zoom(z),
                (None, Some(z)) => return Err(AppError::field("zoom", ErrorCode::OutOfRange, format!("zoom {z} is out of range 0–24"))),
                (None, None) => okno_core::rollup::CELL_RESOLUTION,
            };
            map.resolution = Some(resolution);
            let cells = app.analytics.read(|c| c.cells(resolution, bbox, days.window, &query.filter))?;
            too_many(cells.len())?;
            for PlaceCount { place, count, previous } in cells {
                let geometry = with_geometry
                    .then(|| okno_analytics::boundary(place).map(|ring| serde_json::json!({"type": "Polygon", "coordinates": [ring]})))
                    .flatten();
                map.places.push(MapEntry { place: MapPlace::Cell(place), counts: Counts { count, previous }, geometry });
            }
        }
        Grouping::Territories => {
            let counts = app.analytics.read(|c| c.territories(days.window, &query.filter));
            too_many(counts.len())?;
            let territories: HashMap<okno_core::TerritoryCode, okno_core::Territory> = app.store.territories().await?.into_iter().map(|t| (t.code.clone(), t)).collect();
            let boundaries = app.places.current();
            for PlaceCount { place, count, previous } in counts {
                let territory = territories.get(place.as_str());
                if let (Some(b), Some(t)) = (bbox, boundaries.index.bbox_of(&place))
                    && (t.max_lon < b[0] || t.min_lon > b[2] || t.max_lat < b[1] || t.min_lat > b[3])
                {
                    continue;
                }
                let geometry = with_geometry.then(|| boundaries.geometry.get(place.as_str()).cloned()).flatten();
                let place = MapPlace::Territory {
                    name_ru: territory.map(|t| t.name_ru.clone()),
                    name_en: territory.map(|t| t.name_en.clone()),
                    population: territory.and_then(|t| t.population).filter(|p| *p > 0),
                    code: place,
                };
                map.places.push(MapEntry { place, counts: Counts { count, previous }, geometry });
            }
        }
    }
    map.total = map.places.iter().fold(Counts::default(), |t, p| Counts { count: t.count + p.counts.count, previous: t.previous + p.counts.previous });
    Ok(map)
}

fn too_many(n: usize) -> Result<()> {
    if n > MAX_FEATURES {
        return Err(AppError::field("resolution", ErrorCode::TooMany, format!("{n} places exceed the {MAX_FEATURES} one answer holds; choose a coarser resolution or a smaller bbox")));
    }
    Ok(())
}

/// How a series is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesLayout {
    /// By weeks starting on Monday, labelled by that Monday (by day otherwise).
    pub weekly: bool,
    /// Each point also carries the count of the same dates a year earlier.
    pub year_before: bool,
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// The day, or the Monday of the week.
    pub date: NaiveDate,
    /// Requests created then.
    pub count: i64,
    /// Requests created on the same dates a year earlier, when asked.
    pub year_before: Option<i64>,
}

/// Requests created per day or week over the query's window.
pub fn series(app: &App, query: &CountQuery, layout: SeriesLayout, now: DateTime<Utc>) -> Result<Vec<SeriesPoint>> {
    let days = query.days(app, now)?;
    let last_year = year_before(days, layout)?;
    let (current, before) = app.analytics.read(|c| (c.series(days.window, &query.filter), last_year.map(|w| c.series(w, &query.filter))));
    Ok(lay_out(current, before, layout.weekly))
}

/// [`series`] split by source category: one series per category, in the cube's order.
pub fn series_by_category(app: &App, query: &CountQuery, layout: SeriesLayout, now: DateTime<Utc>) -> Result<Vec<(String, Vec<SeriesPoint>)>> {
    let days = query.days(app, now)?;
    let last_year = year_before(days, layout)?;
    let (current, before) = app.analytics.read(|c| {
        (c.series_by_category(days.window, &query.filter), last_year.map(|w| c.series_by_category(w, &query.filter)))
    });
    let mut before: Option<HashMap<String, Vec<(NaiveDate, i64)>>> = before.map(|b| b.into_iter().collect());
    Ok(current
        .into_iter()
        .map(|(category, days)| {
            let earlier = before.as_mut().map(|b| b.remove(&category).unwrap_or_default());
            (category, lay_out(days, earlier, layout.weekly))
        })
        .collect())
}

fn year_before(days: Days, layout: SeriesLayout) -> Result<Option<Window>> {
    Ok(if layout.year_before { Some(Window::new(year_earlier(days.from), year_earlier(days.to))?) } else { None })
}

/// The same date a year earlier (28 February for a 29th).
fn year_earlier(d: NaiveDate) -> NaiveDate {
    let year = d.year() - 1;
    d.with_year(year).or_else(|| shift_days(d, -1).with_year(year)).unwrap_or_else(|| shift_days(d, -365))
}

/// Daily counts as points, by week when `weekly`, each with the count of the same dates a year
/// earlier when `year_before` is given.
fn lay_out(days: Vec<(NaiveDate, i64)>, year_before: Option<Vec<(NaiveDate, i64)>>, weekly: bool) -> Vec<SeriesPoint> {
    let year_before: Option<HashMap<NaiveDate, i64>> = year_before.map(|days| days.into_iter().collect());
    let mut points: Vec<SeriesPoint> = Vec::new();
    for (date, count) in days {
        let before = year_before.as_ref().map(|m| m.get(&year_earlier(date)).copied().unwrap_or(0));
        let label = if weekly { okno_core::calendar::monday_of(date) } else { date };
        match points.last_mut() {
            Some(p) if p.date == label => {
                p.count += count;
                p.year_before = p.year_before.zip(before).map(|(a, b)| a + b);
            }
            _ => points.push(SeriesPoint { date: label, count, year_before: before }),
        }
    }
    points
}

/// One agency's backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgencyBacklog {
    /// Agency code (`""` for requests without one yet).
    pub agency: okno_core::AgencyCode,
    /// Requests counted.
    pub open: i64,
}

/// The backlog per agency: requests created before a day and still open at the start of another
/// (by default: open today and created more than 30 days before), most first.
pub fn backlog(app: &App, created_before: Option<NaiveDate>, open_at: Option<NaiveDate>, now: DateTime<Utc>) -> Vec<AgencyBacklog> {
    let zone = app.analytics.read(Cube::zone);
    let open_at = open_at.unwrap_or_else(|| now.with_timezone(&zone).date_naive());
    let created_before = created_before.unwrap_or_else(|| shift_days(open_at, -DEFAULT_WINDOW_DAYS));
    let rows = app.analytics.read(|c| c.backlog(created_before, open_at));
    rows.into_iter().map(|(agency, open)| AgencyBacklog { agency: agency.into(), open }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_weekly_series_sums_its_days_and_their_year_before_under_the_monday() {
        let days = vec![(date("2021-03-01"), 2), (date("2021-03-02"), 3), (date("2021-03-08"), 1)];
        let before = vec![(date("2020-03-01"), 5), (date("2020-03-02"), 1)];
        let points = lay_out(days, Some(before), true);
        assert_eq!(points, vec![
            SeriesPoint { date: date("2021-03-01"), count: 5, year_before: Some(6) },
            SeriesPoint { date: date("2021-03-08"), count: 1, year_before: Some(0) },
        ]);
    }

    #[test]
    fn the_year_before_a_leap_day_is_the_last_day_of_february() {
        assert_eq!(year_earlier(date("2024-02-29")), date("2023-02-28"));
    }

    #[test]
    fn a_change_needs_something_before() {
        assert_eq!(Counts { count: 3, previous: 0 }.change(), None);
        assert_eq!(Counts { count: 3, previous: 2 }.change(), Some(0.5));
    }
}
