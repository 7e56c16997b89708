//! The heat map, the series and the backlog, read from the in-memory rollups
//! ([`okno_analytics::Cube`]) that every committed write through this process keeps current.
//!
//! Counts are aggregates with no personal data, so the map and the series are public; the
//! backlog per agency is for staff. What is counted is `okno_app::dashboards`'s; this module
//! parses the query and lays the answer out (GeoJSON, series, tables).

use okno_core::BBox;
use crate::auth::{Admin, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use okno_analytics::{CubeSize, Filter, StatusClass};
use okno_app::dashboards::{self, AgencyBacklog, Grouping, HeatMap, MapEntry, MapPlace, SeriesLayout, SeriesPoint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

query_names! {
    /// Which requests by their state now.
    StatusParam {
        /// Not finished.
        Open,
        /// Finished.
        Closed,
        /// Both.
        Any,
    }
}

query_names! {
    /// What the map counts by.
    MapBy {
        /// H3 hexagons.
        Cells,
        /// Territories.
        Territories,
    }
}

query_names! {
    /// How the map is answered.
    MapFormat {
        /// GeoJSON features.
        Geojson,
        /// Counts without geometry.
        Json,
    }
}

query_names! {
    /// The series' step.
    Step {
        /// Days.
        Day,
        /// Weeks from Monday.
        Week,
    }
}

query_names! {
    /// What each point is compared with.
    Compare {
        /// The same dates a year earlier.
        Year,
    }
}

query_names! {
    /// How the series is split.
    SeriesBy {
        /// One series per category.
        Category,
    }
}

/// What to count, shared by the map and the series.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    /// `open` or `closed` (now); `any` by default.
    #[param(inline)]
    pub status: Option<StatusParam>,
}

impl CountQuery {
    fn parse(self) -> Result<dashboards::CountQuery, ApiError> {
        let status = match self.status {
            None | Some(StatusParam::Any) => StatusClass::Any,
            Some(StatusParam::Open) => StatusClass::Open,
            Some(StatusParam::Closed) => StatusClass::Closed,
        };
        let filter = Filter {
            category: self.category,
            service: self.service.map(Into::into),
            agency: self.agency.map(Into::into),
            channel: self.channel,
            territory: self.territory.map(Into::into),
            status,
        };
        Ok(dashboards::CountQuery { from: self.from, to: self.to, filter })
    }
}

/// Where and how finely to count on the map.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// `cells` (H3 hexagons, the default) or `territories`.
    #[param(inline)]
    pub by: Option<MapBy>,
    /// H3 resolution 0–8 of the cells.
    #[param(minimum = 0, maximum = 8)]
    pub resolution: Option<u8>,
    /// Or the map's zoom level (0–24), from which the resolution is chosen.
    #[param(minimum = 0, maximum = 24)]
    pub zoom: Option<u8>,
    /// Only cells whose centre lies in `min_lon,min_lat,max_lon,max_lat`.
    #[param(inline)]
    pub bbox: Option<BBox>,
    /// `geojson` (the default) or `json` (the counts without geometry).
    #[param(inline)]
    pub format: Option<MapFormat>,
}

/// The heat map: requests per H3 cell or per territory over a window, each with the count of
/// the window of the same length before it and the relative change; per 1,000 residents for
/// territories whose population is known. GeoJSON for the map (hexagons, or the territories'
/// boundaries), or plain counts. Public: counts only, no personal data.
#[utoipa::path(get, path = "/api/v1/analytics/heatmap", tag = "analytics", params(CountQuery, MapQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection, or counts with format=json", body = Object), (status = 422, body = Problem)))]
pub async fn heatmap(State(state): State<AppState>, ApiQuery(q): ApiQuery<CountQuery>, ApiQuery(m): ApiQuery<MapQuery>) -> Result<Json<Value>, ApiError> {
    let query = q.parse()?;
    let geojson = m.format != Some(MapFormat::Json);
    let grouping = match m.by {
        None | Some(MapBy::Cells) => Grouping::Cells { resolution: m.resolution, zoom: m.zoom },
        Some(MapBy::Territories) => Grouping::Territories,
    };
    let bbox = m.bbox.map(|b| [b.min_lon, b.min_lat, b.max_lon, b.max_lat]);
    let map = dashboards::heatmap(&state.app, &query, grouping, bbox, geojson, Utc::now()).await?;
    Ok(Json(heatmap_json(map, geojson)))
}

/// The heat map as GeoJSON features, or as plain rows of counts.
fn heatmap_json(map: HeatMap, geojson: bool) -> Value {
    let meta = json!({
        "from": map.from, "to": map.to, "previous_from": map.previous_from, "resolution": map.resolution,
        "count": map.total.count, "previous": map.total.previous, "change": map.total.change(),
    });
    let places = map.places.into_iter().map(|entry| {
        let properties = place_properties(&entry);
        if geojson { json!({"type": "Feature", "geometry": entry.geometry, "properties": properties}) } else { properties }
    });
    if geojson {
        json!({"type": "FeatureCollection", "okno": meta, "features": places.collect::<Vec<_>>()})
    } else {
        json!({"okno": meta, "places": places.collect::<Vec<_>>()})
    }
}

fn place_properties(entry: &MapEntry) -> Value {
    let c = entry.counts;
    match &entry.place {
        MapPlace::Cell(cell) => json!({"cell": format!("{cell:x}"), "count": c.count, "previous": c.previous, "change": c.change()}),
        MapPlace::Territory { code, name_ru, name_en, population } => json!({
            "territory": code, "name_ru": name_ru, "name_en": name_en,
            "count": c.count, "previous": c.previous, "change": c.change(),
            "population": population, "per_1000": entry.per_1000(),
        }),
    }
}

/// How to lay out a series.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `day` (the default) or `week` (weeks starting on Monday, labelled by that Monday).
    #[param(inline)]
    pub step: Option<Step>,
    /// `year`: each point also carries the count of the same dates a year earlier.
    #[param(inline)]
    pub compare: Option<Compare>,
    /// `category`: one series per category, as an object keyed by category.
    #[param(inline)]
    pub by: Option<SeriesBy>,
}

/// A series, or one per category.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SeriesAnswer {
    /// The points of one series.
    Points(Vec<SeriesPoint>),
    /// With `by=category`: the points of each category's series, by category.
    ByCategory(BTreeMap<String, Vec<SeriesPoint>>),
}

/// Dynamics: requests created per day or week, for any topic × territory (and the other
/// filters), with a year-over-year comparison; one series, or one per category with
/// `by=category`. Public: counts only.
#[utoipa::path(get, path = "/api/v1/analytics/series", tag = "analytics", params(CountQuery, SeriesQuery),
    responses((status = 200, body = SeriesAnswer), (status = 422, body = Problem)))]
pub async fn series(State(state): State<AppState>, ApiQuery(q): ApiQuery<CountQuery>, ApiQuery(s): ApiQuery<SeriesQuery>) -> Result<Json<SeriesAnswer>, ApiError> {
    let query = q.parse()?;
    let layout = SeriesLayout { weekly: s.step == Some(Step::Week), year_before: s.compare == Some(Compare::Year) };
    Ok(Json(match s.by {
        None => SeriesAnswer::Points(dashboards::series(&state.app, &query, layout, Utc::now())?),
        Some(SeriesBy::Category) => SeriesAnswer::ByCategory(dashboards::series_by_category(&state.app, &query, layout, Utc::now())?.into_iter().collect()),
    }))
}

/// Which backlog to count.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BacklogQuery {
    /// Requests created before this day (by default 30 days before `open_at`).
    pub created_before: Option<NaiveDate>,
    /// Still open at the start of this day (by default today).
    pub open_at: Option<NaiveDate>,
}

/// The backlog per agency: requests created before a day and not closed by another (by
/// default: open now and older than 30 days), most first, from the rollups. Staff.
#[utoipa::path(get, path = "/api/v1/analytics/backlog", tag = "analytics", params(BacklogQuery),
    responses((status = 200, body = Vec<AgencyBacklog>), (status = 401, body = Problem)))]
pub async fn backlog(State(state): State<AppState>, Staff(_user): Staff, ApiQuery(q): ApiQuery<BacklogQuery>) -> Result<Json<Vec<AgencyBacklog>>, ApiError> {
    Ok(Json(dashboards::backlog(&state.app, q.created_before, q.open_at, Utc::now())))
}

/// Reads the stored rollups again (after an import or `okno rollup rebuild` by another
/// process). Admins; audited.
#[utoipa::path(post, path = "/api/v1/analytics/reload", tag = "analytics",
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn reload(State(state): State<AppState>, Admin(admin): Admin) -> Result<Json<CubeSize>, ApiError> {
    Ok(Json(okno_app::analytics::reload(&state.app, &admin, Utc::now()).await?))
}
