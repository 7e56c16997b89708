//! The heat map, the series and the backlog, read from the in-memory rollups
//! ([`okno_analytics::Cube`]) that every committed write through this process keeps current.
//!
//! Counts are aggregates with no personal data, so the map and the series are public; the
//! backlog per agency is for staff. The cube and its reload are `okno_app::analytics`'s; this
//! module reads it for each query and lays the answer out (GeoJSON, series, tables).

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use okno_analytics::{Cube, CubeSize, Filter, PlaceCount, StatusClass, Window};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// Most places one heat-map answer may hold; more asks for a coarser resolution or a smaller box.
pub const MAX_FEATURES: usize = 50_000;

/// What to count, shared by the map and the series.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CountQuery {
    /// First day (local date, included); by default 30 days before `to`.
    pub from: Option<NaiveDate>,
    /// Day after the last (local date, excluded); by default tomorrow.
    pub to: Option<NaiveDate>,
    /// Only this source category (topic).
    pub category: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this agency.
    pub agency: Option<String>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this territory.
    pub territory: Option<String>,
    /// `open` or `closed` (now); all by default.
    pub status: Option<String>,
}

impl CountQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let status = match self.status.as_deref() {
            None | Some("any") => StatusClass::Any,
            Some("open") => StatusClass::Open,
            Some("closed") => StatusClass::Closed,
            Some(other) => return Err(ApiError::field("status", format!("unknown status class {other:?}; use open, closed or any"))),
        };
        Ok(Filter {
            category: self.category.clone(),
            service: self.service.clone(),
            agency: self.agency.clone(),
            channel: self.channel.clone(),
            territory: self.territory.clone(),
            status,
        })
    }

    fn window(&self, zone: Tz) -> Result<(NaiveDate, NaiveDate, Window), ApiError> {
        let to = self.to.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive() + Duration::days(1));
        let from = self.from.unwrap_or(to - Duration::days(30));
        Ok((from, to, Window::new(from, to)?))
    }
}

/// Where and how finely to count on the map.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MapQuery {
    /// `cells` (H3 hexagons, the default) or `territories`.
    pub by: Option<String>,
    /// H3 resolution 0–8 of the cells.
    pub resolution: Option<u8>,
    /// Or the map's zoom level (0–24), from which the resolution is chosen.
    pub zoom: Option<u8>,
    /// Only cells whose centre lies in `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// `geojson` (the default) or `json` (the counts without geometry).
    pub format: Option<String>,
}

/// The H3 resolution shown at a map zoom: cells a few dozen pixels across.
pub fn resolution_for_zoom(zoom: u8) -> u8 {
    zoom.saturating_sub(3).min(okno_core::rollup::CELL_RESOLUTION)
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let bad = |why: &str| ApiError::field("bbox", format!("{why}: expected min_lon,min_lat,max_lon,max_lat in degrees, got {text:?}"));
    let numbers: Vec<f64> = text.split(',').map(|n| n.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad("not four numbers"))?;
    let [w, s, e, n] = <[f64; 4]>::try_from(numbers).map_err(|_| bad("not four numbers"))?;
    if !((-180.0..=180.0).contains(&w) && (-180.0..=180.0).contains(&e) && (-90.0..=90.0).contains(&s) && (-90.0..=90.0).contains(&n)) {
        return Err(bad("outside the globe"));
    }
    if w >= e || s >= n {
        return Err(bad("empty box"));
    }
    Ok([w, s, e, n])
}

/// The relative change from `previous` to `count` (`null` when there was nothing before).
fn change(count: i64, previous: i64) -> Option<f64> {
    (previous > 0).then(|| (count - previous) as f64 / previous as f64)
}

/// The heat map: requests per H3 cell or per territory over a window, each with the count of
/// the window of the same length before it and the relative change; per 1,000 residents for
/// territories whose population is known. GeoJSON for the map (hexagons, or the territories'
/// boundaries), or plain counts. Public: counts only, no personal data.
#[utoipa::path(get, path = "/api/v1/analytics/heatmap", tag = "analytics", params(CountQuery, MapQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection, or counts with format=json", body = Object), (status = 422, body = Problem)))]
pub async fn heatmap(State(state): State<AppState>, ApiQuery(q): ApiQuery<CountQuery>, ApiQuery(m): ApiQuery<MapQuery>) -> Result<Json<Value>, ApiError> {
    let zone = state.app.analytics.read(Cube::zone);
    let (from, to, window) = q.window(zone)?;
    let filter = q.filter()?;
    let geojson = match m.format.as_deref() {
        None | Some("geojson") => true,
        Some("json") => false,
        Some(other) => return Err(ApiError::field("format", format!("unknown format {other:?}; use geojson or json"))),
    };
    let bbox = m.bbox.as_deref().map(parse_bbox).transpose()?;
    let previous = window.previous();
    let mut places: Vec<Value> = Vec::new();
    let mut total = (0, 0);
    let mut resolution = None;
    match m.by.as_deref() {
        None | Some("cells") => {
            let res = match (m.resolution, m.zoom) {
                (Some(r), _) => r,
                (None, Some(z)) if z <= 24 => resolution_for_zoom(z),
                (None, Some(z)) => return Err(ApiError::field("zoom", format!("zoom {z} is out of range 0–24"))),
                (None, None) => okno_core::rollup::CELL_RESOLUTION,
            };
            resolution = Some(res);
            let cells = state.app.analytics.read(|c| c.cells(res, bbox, window, &filter))?;
            too_many(cells.len())?;
            for PlaceCount { place, count, previous } in cells {
                total = (total.0 + count, total.1 + previous);
                let id = format!("{place:x}");
                let geometry = geojson.then(|| okno_analytics::boundary(place).map(|ring| json!({"type": "Polygon", "coordinates": [ring]})));
                places.push(feature(geojson, geometry.flatten(), json!({"cell": id, "count": count, "previous": previous, "change": change(count, previous)})));
            }
        }
        Some("territories") => {
            let counts = state.app.analytics.read(|c| c.territories(window, &filter));
            too_many(counts.len())?;
            let territories: HashMap<String, okno_core::Territory> = state.app.store.territories().await?.into_iter().map(|t| (t.code.clone(), t)).collect();
            let boundaries = state.app.places.current();
            for PlaceCount { place, count, previous } in counts {
                let t = territories.get(&place);
                if let (Some(b), Some(t)) = (bbox, t.and_then(|t| boundaries.index.bbox_of(&t.code)))
                    && (t.max_lon < b[0] || t.min_lon > b[2] || t.max_lat < b[1] || t.min_lat > b[3])
                {
                    continue;
                }
                total = (total.0 + count, total.1 + previous);
                let population = t.and_then(|t| t.population).filter(|p| *p > 0);
                let properties = json!({
                    "territory": place, "name_ru": t.map(|t| &t.name_ru), "name_en": t.map(|t| &t.name_en),
                    "count": count, "previous": previous, "change": change(count, previous),
                    "population": population, "per_1000": population.map(|p| count as f64 * 1_000.0 / p as f64),
                });
                let geometry = geojson.then(|| boundaries.geometry.get(&place).cloned()).flatten();
                places.push(feature(geojson, geometry, properties));
            }
        }
        Some(other) => return Err(ApiError::field("by", format!("unknown grouping {other:?}; use cells or territories"))),
    }
    let meta = json!({
        "from": from, "to": to, "previous_from": okno_analytics::date_of(previous.from), "resolution": resolution,
        "count": total.0, "previous": total.1, "change": change(total.0, total.1),
    });
    Ok(Json(if geojson {
        json!({"type": "FeatureCollection", "okno": meta, "features": places})
    } else {
        json!({"okno": meta, "places": places})
    }))
}

fn too_many(n: usize) -> Result<(), ApiError> {
    if n > MAX_FEATURES {
        return Err(ApiError::field("resolution", format!("{n} places exceed the {MAX_FEATURES} one answer holds; choose a coarser resolution or a smaller bbox")));
    }
    Ok(())
}

fn feature(geojson: bool, geometry: Option<Value>, properties: Value) -> Value {
    if geojson {
        json!({"type": "Feature", "geometry": geometry, "properties": properties})
    } else {
        properties
    }
}

/// How to lay out a series.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SeriesQuery {
    /// `day` (the default) or `week` (weeks starting on Monday, labelled by that Monday).
    pub step: Option<String>,
    /// `year`: each point also carries the count of the same dates a year earlier.
    pub compare: Option<String>,
    /// `category`: one series per category, as an object keyed by category.
    pub by: Option<String>,
}

/// One point of a series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// The day, or the Monday of the week.
    pub date: NaiveDate,
    /// Requests created then.
    pub count: i64,
    /// Requests created on the same dates a year earlier, when asked.
    pub year_before: Option<i64>,
}

/// Dynamics: requests created per day or week, for any topic × territory (and the other
/// filters), with a year-over-year comparison; one series, or one per category with
/// `by=category`. Public: counts only.
#[utoipa::path(get, path = "/api/v1/analytics/series", tag = "analytics", params(CountQuery, SeriesQuery),
    responses((status = 200, description = "points, or an object of points by category", body = Vec<SeriesPoint>), (status = 422, body = Problem)))]
pub async fn series(State(state): State<AppState>, ApiQuery(q): ApiQuery<CountQuery>, ApiQuery(s): ApiQuery<SeriesQuery>) -> Result<Json<Value>, ApiError> {
    let zone = state.app.analytics.read(Cube::zone);
    let (from, to, window) = q.window(zone)?;
    let filter = q.filter()?;
    let weekly = match s.step.as_deref() {
        None | Some("day") => false,
        Some("week") => true,
        Some(other) => return Err(ApiError::field("step", format!("unknown step {other:?}; use day or week"))),
    };
    let last_year = match s.compare.as_deref() {
        None => None,
        Some("year") => Some(Window::new(year_earlier(from), year_earlier(to))?),
        Some(other) => return Err(ApiError::field("compare", format!("unknown comparison {other:?}; use year"))),
    };
    match s.by.as_deref() {
        None => {
            let (now, before) = state.app.analytics.read(|c| (c.series(window, &filter), last_year.map(|w| c.series(w, &filter))));
            Ok(Json(json!(lay_out(now, before, weekly))))
        }
        Some("category") => {
            let (now, before) = state.app.analytics.read(|c| {
                (c.series_by_category(window, &filter), last_year.map(|w| c.series_by_category(w, &filter)))
            });
            let mut before: Option<HashMap<String, Vec<(NaiveDate, i64)>>> = before.map(|b| b.into_iter().collect());
            let by_category = now.into_iter().map(|(category, days)| {
                let earlier = before.as_mut().map(|b| b.remove(&category).unwrap_or_default());
                (category, json!(lay_out(days, earlier, weekly)))
            });
            Ok(Json(Value::Object(by_category.collect())))
        }
        Some(other) => Err(ApiError::field("by", format!("unknown split {other:?}; use category"))),
    }
}

/// The same date a year earlier (28 February for a 29th).
fn year_earlier(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1).unwrap_or(d - Duration::days(365))
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

/// Which backlog to count.
#[derive(Debug, Deserialize, IntoParams)]
pub struct BacklogQuery {
    /// Requests created before this day (by default 30 days before `open_at`).
    pub created_before: Option<NaiveDate>,
    /// Still open at the start of this day (by default today).
    pub open_at: Option<NaiveDate>,
}

/// One agency's backlog.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyBacklog {
    /// Agency code (`""` for requests without one yet).
    pub agency: String,
    /// Requests counted.
    pub open: i64,
}

/// The backlog per agency: requests created before a day and not closed by another (by
/// default: open now and older than 30 days), most first, from the rollups. Staff.
#[utoipa::path(get, path = "/api/v1/analytics/backlog", tag = "analytics", params(BacklogQuery),
    responses((status = 200, body = Vec<AgencyBacklog>), (status = 401, body = Problem)))]
pub async fn backlog(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<BacklogQuery>) -> Result<Json<Vec<AgencyBacklog>>, ApiError> {
    caller.staff()?;
    let zone = state.app.analytics.read(Cube::zone);
    let open_at = q.open_at.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive());
    let created_before = q.created_before.unwrap_or(open_at - Duration::days(30));
    let rows = state.app.analytics.read(|c| c.backlog(created_before, open_at));
    Ok(Json(rows.into_iter().map(|(agency, open)| AgencyBacklog { agency, open }).collect()))
}

/// Reads the stored rollups again (after an import or `okno rollup rebuild` by another
/// process). Admins; audited.
#[utoipa::path(post, path = "/api/v1/analytics/reload", tag = "analytics",
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn reload(State(state): State<AppState>, caller: Caller) -> Result<Json<CubeSize>, ApiError> {
    Ok(Json(okno_app::analytics::reload(&state.app, &caller.admin()?, Utc::now()).await?))
}
