//! Where requests are, over HTTP: putting the stored territory boundaries in force, and the
//! data-quality list of requests whose point was flagged (see [`okno_app::places`]).

use crate::auth::{Admin, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use okno_core::{LocationFlag, Request, RequestId};
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
