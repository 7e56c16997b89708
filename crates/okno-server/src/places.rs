//! Where requests are, over HTTP: putting the stored territory boundaries in force, the
//! data-quality list of requests whose point was flagged, and the search of the places the
//! region knows (see [`okno_app::places`]).

use crate::auth::{Admin, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use okno_core::{LocationFlag, Request, RequestId};
use okno_app::places::PlaceKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The territory boundaries now in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacesStatus {
    /// Territories with a boundary.
    pub territories: usize,
}

/// Puts the stored territory boundaries in force for intake (after `okno import
/// territories`). Admins; audited.
#[utoipa::path(post, path = "/api/v1/territories/reload", tag = "territories",
    responses((status = 200, body = PlacesStatus), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn reload_territories(State(state): State<AppState>, Admin(admin): Admin) -> Result<Json<PlacesStatus>, ApiError> {
    let territories = okno_app::places::reload(&state.app, &admin, Utc::now()).await?;
    Ok(Json(PlacesStatus { territories }))
}

/// Which flagged requests to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssuesQuery {
    /// Only this flag.
    #[param(inline)]
    pub flag: Option<LocationFlag>,
    /// Requests after this id (the cursor of the previous page).
    #[serde(default)]
    pub after: i64,
    /// At most this many, 1–1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The data-quality view of locations: requests whose point lies outside every territory,
/// far outside the region, or had latitude and longitude swapped; kept, flagged, listed here
/// by id. Staff who see all requests.
#[utoipa::path(get, path = "/api/v1/data-quality/locations", tag = "territories", params(IssuesQuery),
    responses((status = 200, body = Vec<Request>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn location_issues(State(state): State<AppState>, Staff(user): Staff, ApiQuery(q): ApiQuery<IssuesQuery>) -> Result<Json<Vec<Request>>, ApiError> {
    Ok(Json(okno_app::places::location_issues(&state.app, &user, q.flag, RequestId(q.after), q.limit).await?))
}

/// What to look for among the places the region knows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// The words typed: each must begin a word of the place's name (an empty text finds nothing).
    #[param(max_length = 200)]
    pub q: String,
    /// At most this many, 1–50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// A place the region knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct KnownPlace {
    /// Its name (Russian; an address as it was typed, with no personal data).
    pub label: String,
    /// Its English name, for territories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// `territory`, `street` or `address`.
    #[schema(value_type = String, pattern = "^(territory|street|address)$")]
    pub kind: PlaceKind,
    /// Its territory's code.
    pub territory: Option<String>,
    /// A point of it.
    pub lat: f64,
    /// A point of it.
    pub lon: f64,
    /// Requests filed at it.
    pub requests: u64,
}

/// The places whose words begin with the words typed: the territories, then the streets and
/// addresses of filed requests, the most used first (public; no outside geocoder). A request
/// filed with only an address that is found here is placed at it.
#[utoipa::path(get, path = "/api/v1/places/search", tag = "citizens", params(PlaceQuery),
    responses((status = 200, body = [KnownPlace]), (status = 422, body = Problem)))]
pub async fn search(State(state): State<AppState>, ApiQuery(q): ApiQuery<PlaceQuery>) -> Result<Json<Vec<KnownPlace>>, ApiError> {
    let found = okno_app::places::search(&state.app, &q.q, q.limit)?;
    Ok(Json(found.into_iter().map(|p| KnownPlace {
        label: p.label, label_en: p.label_en, kind: p.kind, territory: p.territory, lat: p.lat, lon: p.lon, requests: p.requests,
    }).collect()))
}
