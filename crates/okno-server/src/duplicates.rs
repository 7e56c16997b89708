//! Likely duplicates over HTTP: for the citizens' form before a request is filed (public, no
//! personal data), and for staff looking at a filed request (see [`okno_app::duplicates`]).

use crate::auth::Staff;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use okno_core::duplicates::Suggestion;
use okno_core::{Coordinates, RequestId, Status};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What the citizens' form asks with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateQuery {
    /// The service chosen.
    pub service: String,
    /// Latitude of the pin.
    #[param(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude of the pin.
    #[param(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// What the citizen has written so far.
    pub text: Option<String>,
}

/// A likely duplicate as the public may see it: what was reported, where, and how it stands;
/// never the contact nor the tracking token.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSuggestion {
    /// Request id (to follow it, or to open its public page).
    pub id: i64,
    /// Service code.
    pub service_code: String,
    /// Where it stands.
    pub status: Status,
    /// What was written.
    pub text: String,
    /// Address.
    pub address: Option<String>,
    /// Place.
    pub coordinates: Option<Coordinates>,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Metres from the pin.
    pub distance_m: f64,
    /// Trigram similarity of the texts, 0 to 1.
    pub text_similarity: f64,
    /// Rank, higher first.
    pub score: f64,
}

/// Open requests of the same service near the pin, filed in the last 30 days, most alike
/// first: shown on the citizens' form before they file (public).
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "citizens", params(DuplicateQuery),
    responses((status = 200, body = [PublicSuggestion]), (status = 422, body = Problem)))]
pub async fn for_form(State(state): State<AppState>, ApiQuery(q): ApiQuery<DuplicateQuery>) -> Result<Json<Vec<PublicSuggestion>>, ApiError> {
    let found = okno_app::duplicates::for_form(&state.app, &q.service, q.lat, q.lon, q.text.as_deref().unwrap_or(""), Utc::now()).await?;
    Ok(Json(found.into_iter().map(|s| PublicSuggestion {
        id: s.request.id.0, service_code: s.request.service_code.to_string(), status: s.request.status, text: s.request.text,
        address: s.request.address, coordinates: s.request.coordinates, created_at: s.request.created_at,
        distance_m: s.distance_m, text_similarity: s.text_similarity, score: s.score,
    }).collect()))
}

/// Open requests of the same service near a filed request and filed in the 30 days before it,
/// most alike first (staff; agency staff see their agency's only).
#[utoipa::path(get, path = "/api/v1/requests/{id}/duplicates", tag = "requests", params(("id" = i64, Path)),
    responses((status = 200, body = [Suggestion]), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn for_request(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<RequestId>) -> Result<Json<Vec<Suggestion>>, ApiError> {
    let found = okno_app::duplicates::for_request(&state.app, &user, id).await?;
    Ok(Json(found))
}
