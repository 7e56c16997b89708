//! Systemic problems over HTTP: the list, one problem with its trend, its requests, operators'
//! changes and a scan on demand (see [`okno_app::problems`]).

use crate::api::{PageQuery, RequestPage};
use crate::auth::{Admin, Staff};
use crate::error::{ApiError, Problem as ProblemDetails};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CommaList};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use okno_app::problems::{ProblemDetail, ProblemPage, ProblemScanReport, ProblemView};
use okno_core::problem::{ProblemFilter, ProblemState, ProblemUpdate};
use okno_core::ProblemId;
use serde::Deserialize;
use utoipa::IntoParams;

/// Which problems to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProblemQuery {
    /// States, comma-separated (`proposed`, `accepted`, `dismissed`, `closed`); all by default.
    #[param(value_type = Option<Vec<ProblemState>>, style = Form, explode = false)]
    #[serde(default)]
    pub state: CommaList<ProblemState>,
    /// Only this topic.
    pub topic: Option<String>,
    /// Only those owned by this agency.
    pub owner: Option<String>,
    /// `next_before` of the previous page.
    pub before: Option<ProblemId>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Lists systemic problems, newest first (staff; agency staff: those their agency owns).
#[utoipa::path(get, path = "/api/v1/problems", tag = "problems", params(ProblemQuery),
    responses((status = 200, body = ProblemPage), (status = 401, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn list(State(state): State<AppState>, Staff(user): Staff, ApiQuery(q): ApiQuery<ProblemQuery>) -> Result<Json<ProblemPage>, ApiError> {
    let limit = okno_app::paging::page_limit(q.limit)?;
    let filter = ProblemFilter { states: q.state.0, topic: q.topic, owner: q.owner.map(Into::into), before_id: q.before, limit };
    Ok(Json(okno_app::problems::list(&state.app, &user, filter).await?))
}

/// One problem with its weekly trend (staff who may read it).
#[utoipa::path(get, path = "/api/v1/problems/{id}", tag = "problems", params(("id" = i64, Path, description = "Problem id")),
    responses((status = 200, body = ProblemDetail), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)))]
pub async fn get(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<ProblemId>) -> Result<Json<ProblemDetail>, ApiError> {
    Ok(Json(okno_app::problems::detail(&state.app, &user, id).await?))
}

/// The requests of a problem, newest first (staff who may read it; agency staff see their
/// agency's requests only).
#[utoipa::path(get, path = "/api/v1/problems/{id}/requests", tag = "problems", params(("id" = i64, Path, description = "Problem id"), PageQuery),
    responses((status = 200, body = RequestPage), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)))]
pub async fn requests(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<ProblemId>, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<RequestPage>, ApiError> {
    let page = q.into_filter(&user)?;
    let filter = okno_app::problems::requests_filter(&state.app, &user, id, page).await?;
    Ok(Json(crate::api::request_page(&state, &user, filter).await?))
}

/// Accepts (with a name and, usually, an owner), dismisses, closes or reopens a problem
/// (operators, analysts, admins).
#[utoipa::path(post, path = "/api/v1/problems/{id}", tag = "problems", params(("id" = i64, Path, description = "Problem id")), request_body = ProblemUpdate,
    responses((status = 200, body = ProblemView), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn change(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<ProblemId>, ApiJson(change): ApiJson<ProblemUpdate>) -> Result<Json<ProblemView>, ApiError> {
    Ok(Json(okno_app::problems::change(&state.app, &user, id, change, Utc::now()).await?))
}

/// Scans the recent requests for systemic problems now (admins).
#[utoipa::path(post, path = "/api/v1/problems/scan", tag = "problems",
    responses((status = 200, body = ProblemScanReport), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails)))]
pub async fn scan_now(State(state): State<AppState>, Admin(_admin): Admin) -> Result<Json<ProblemScanReport>, ApiError> {
    Ok(Json(okno_app::problems::scan_now(&state.app, Utc::now()).await?))
}
