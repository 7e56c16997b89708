//! Likely duplicates: for the citizens' form before a request is filed (public, no personal
//! data), and for operators looking at a filed request. See [`okno_core::duplicates`].

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::{ApiPath, ApiQuery, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use okno_core::duplicates::{bbox_around, rank, DuplicateRules, Suggestion};
use okno_core::lifecycle::ALL_STATUSES;
use okno_core::{BBox, Coordinates, Request, RequestFilter, Status};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Candidates read from the store before ranking (the area and period are small).
const MAX_CANDIDATES: u32 = 1_000;

/// Open requests of `service` near `point` filed in the last `rules.days`, ranked against `text`.
async fn suggestions(state: &AppState, service: &str, point: Coordinates, text: &str, rules: &DuplicateRules, now: DateTime<Utc>) -> Result<Vec<Suggestion>, ApiError> {
    let (min_lon, min_lat, max_lon, max_lat) = bbox_around(point, rules.radius_m);
    let filter = RequestFilter {
        services: vec![service.to_owned()],
        statuses: ALL_STATUSES.into_iter().filter(|s| !s.is_final()).collect(),
        created_from: Some(now - Duration::days(rules.days)),
        bbox: Some(BBox { min_lon, min_lat, max_lon, max_lat }),
        limit: MAX_CANDIDATES,
        ..RequestFilter::default()
    };
    Ok(rank(point, text, state.store.list_requests(&filter).await?, rules))
}

/// What the citizens' form asks with.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DuplicateQuery {
    /// The service chosen.
    pub service: String,
    /// Latitude of the pin.
    pub lat: f64,
    /// Longitude of the pin.
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
    let point = Coordinates::new(q.lat, q.lon).ok_or_else(|| ApiError::field("lat", "lat and lon must be a point on Earth (−90…90, −180…180)"))?;
    if state.store.service(&q.service).await?.is_none() {
        return Err(ApiError::field("service", format!("no service with code {:?}", q.service)));
    }
    let found = suggestions(&state, &q.service, point, q.text.as_deref().unwrap_or(""), &DuplicateRules::default(), Utc::now()).await?;
    Ok(Json(found.into_iter().map(|s| PublicSuggestion {
        id: s.request.id, service_code: s.request.service_code, status: s.request.status, text: s.request.text,
        address: s.request.address, coordinates: s.request.coordinates, created_at: s.request.created_at,
        distance_m: s.distance_m, text_similarity: s.text_similarity, score: s.score,
    }).collect()))
}

/// Open requests of the same service near a filed request and filed in the 30 days before it,
/// most alike first (staff; agency staff see their agency's only).
#[utoipa::path(get, path = "/api/v1/requests/{id}/duplicates", tag = "requests", params(("id" = i64, Path)),
    responses((status = 200, body = [Suggestion]), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn for_request(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<Vec<Suggestion>>, ApiError> {
    let user = caller.staff()?;
    let request: Request = state.store.request(id).await?.ok_or_else(|| ApiError::NotFound(format!("no request {id}")))?;
    if !user.can_read_request(request.agency.as_deref()) {
        return Err(ApiError::Forbidden("this request belongs to another agency".into()));
    }
    let Some(point) = request.coordinates else { return Ok(Json(Vec::new())) };
    let rules = DuplicateRules { limit: DuplicateRules::default().limit + 1, ..DuplicateRules::default() };
    let mut found = suggestions(&state, &request.service_code, point, &request.text, &rules, request.created_at + Duration::seconds(1)).await?;
    found.retain(|s| s.request.id != id && user.can_read_request(s.request.agency.as_deref()));
    found.truncate(DuplicateRules::default().limit);
    Ok(Json(found))
}
