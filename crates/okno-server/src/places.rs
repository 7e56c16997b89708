//! Where requests are: the territory boundaries in force for intake (loaded at start and
//! reloaded whole), and the data-quality list of requests whose point was flagged.

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::{ApiQuery, AppState};
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use crate::in_force::InForce;
use okno_core::{Location, Request};
use okno_geo::{LocationFlag, Placement, Shape, TerritoryIndex};
use okno_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The territory boundaries intake places requests in.
pub struct Places {
    boundaries: InForce<Boundaries>,
}

/// Territory boundaries: indexed for placing points, and as GeoJSON geometry for maps.
pub struct Boundaries {
    /// The index points are placed with.
    pub index: TerritoryIndex,
    /// Each territory's boundary as a GeoJSON geometry, by code.
    pub geometry: HashMap<String, serde_json::Value>,
}

impl Default for Places {
    fn default() -> Self {
        Places { boundaries: InForce::new(Boundaries { index: TerritoryIndex::new(Vec::new()), geometry: HashMap::new() }) }
    }
}

impl Places {
    /// The boundaries in force.
    pub fn current(&self) -> Arc<Boundaries> {
        self.boundaries.current()
    }

    /// Reads the stored boundaries and puts them in force; returns how many there are. On an
    /// error the boundaries in force stay.
    pub async fn reload(&self, store: &dyn Store) -> Result<usize, ApiError> {
        let boundaries = load_boundaries(store).await?;
        let count = boundaries.index.len();
        self.boundaries.replace(boundaries);
        Ok(count)
    }
}

/// The stored boundaries, indexed; a stored boundary that no longer reads is an error naming
/// its territory.
pub async fn load_boundaries(store: &dyn Store) -> Result<Boundaries, ApiError> {
    let shapes = store.territory_shapes().await?;
    let mut territories = Vec::with_capacity(shapes.len());
    let mut geometries = HashMap::with_capacity(shapes.len());
    for stored in shapes {
        let corrupt = |e: String| ApiError::Internal(format!("stored boundary of {}: {e}", stored.territory_code));
        let geometry: serde_json::Value = serde_json::from_str(&stored.geometry).map_err(|e| corrupt(e.to_string()))?;
        let shape = Shape::from_geojson(&geometry).map_err(|e| corrupt(e.to_string()))?;
        territories.push((stored.territory_code.clone(), shape));
        geometries.insert(stored.territory_code, geometry);
    }
    Ok(Boundaries { index: TerritoryIndex::new(territories), geometry: geometries })
}

/// What a placement stores beside the territory: the flag's name and the H3 cell.
pub fn location(placement: &Placement) -> Location {
    Location { flag: placement.flag.map(|f| f.as_str().to_owned()), cell: placement.cell.and_then(|c| i64::try_from(c).ok()) }
}

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
pub async fn reload_territories(State(state): State<AppState>, caller: Caller) -> Result<Json<PlacesStatus>, ApiError> {
    let admin = caller.admin()?;
    let territories = state.places.reload(state.store.as_ref()).await?;
    state.store.audit(&admin.login, "reload_territories", None, Some(&format!("{territories} boundaries")), Utc::now()).await?;
    Ok(Json(PlacesStatus { territories }))
}

/// Which flagged requests to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct IssuesQuery {
    /// Only this flag: `outside_territories`, `outside_region` or `swapped`.
    pub flag: Option<String>,
    /// Requests after this id (the cursor of the previous page).
    #[serde(default)]
    pub after: i64,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<u32>,
}

/// The data-quality view of locations: requests whose point lies outside every territory,
/// far outside the region, or had latitude and longitude swapped; kept, flagged, listed here
/// by id. Staff who see all requests.
#[utoipa::path(get, path = "/api/v1/data-quality/locations", tag = "territories", params(IssuesQuery),
    responses((status = 200, body = Vec<Request>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn location_issues(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<IssuesQuery>) -> Result<Json<Vec<Request>>, ApiError> {
    let user = caller.staff()?;
    if !user.can_read_request(None) {
        return Err(ApiError::Forbidden("the data-quality view covers every agency's requests".into()));
    }
    if let Some(flag) = q.flag.as_deref()
        && LocationFlag::parse(flag).is_none()
    {
        return Err(ApiError::field("flag", format!("unknown flag {flag:?}; known: outside_territories, outside_region, swapped")));
    }
    Ok(Json(state.store.location_issues(q.flag.as_deref(), q.after, q.limit.unwrap_or(100).clamp(1, 1_000)).await?))
}
