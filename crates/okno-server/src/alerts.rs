//! Spike alerts over HTTP: the list, one alert with its series, the requests it counts,
//! operators' handling and a scan on demand (see [`okno_app::alerts`]).

use crate::api::{PageQuery, RequestPage};
use crate::auth::{Admin, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CommaList};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use okno_app::alerts::{AlertChange, AlertDetail, AlertPage, AlertView, ScanReport};
use okno_core::alert::{AlertFilter, AlertState, Period};
use okno_core::AlertId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Which alerts to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// States, comma-separated (`new`, `acknowledged`, `resolved`); all by default.
    #[param(value_type = Option<Vec<AlertState>>, style = Form, explode = false)]
    #[serde(default)]
    pub state: CommaList<AlertState>,
    /// `day` or `week`.
    #[param(inline)]
    pub period: Option<Period>,
    /// Only this topic (source category).
    pub category: Option<String>,
    /// Only this territory code.
    pub territory: Option<String>,
    /// Only alerts whose period ends on or after this local date.
    pub since: Option<NaiveDate>,
    /// `next_before` of the previous page.
    pub before: Option<AlertId>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Lists spike alerts, newest first (staff).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = AlertPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(State(state): State<AppState>, Staff(_user): Staff, ApiQuery(q): ApiQuery<AlertQuery>) -> Result<Json<AlertPage>, ApiError> {
    let limit = okno_app::paging::page_limit(q.limit)?;
    let filter = AlertFilter { states: q.state.0, period: q.period, category: q.category, territory: q.territory.map(Into::into), since: q.since, before_id: q.before, limit };
    Ok(Json(okno_app::alerts::list(&state.app, &filter).await?))
}

/// One alert with its series (staff).
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")),
    responses((status = 200, body = AlertDetail), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Staff(_user): Staff, ApiPath(id): ApiPath<AlertId>) -> Result<Json<AlertDetail>, ApiError> {
    Ok(Json(okno_app::alerts::detail(&state.app, id).await?))
}

/// The requests of an alert's topic and place created in its period, newest first (staff;
/// agency staff see their agency's only).
#[utoipa::path(get, path = "/api/v1/alerts/{id}/requests", tag = "alerts", params(("id" = i64, Path, description = "Alert id"), PageQuery),
    responses((status = 200, body = RequestPage), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn requests(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<AlertId>, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<RequestPage>, ApiError> {
    let page = q.into_filter(&user)?;
    let filter = okno_app::alerts::requests_filter(&state.app, id, page).await?;
    Ok(Json(crate::api::request_page(&state, &user, filter).await?))
}

/// Acknowledges, resolves or reopens an alert (operators, analysts, admins).
#[utoipa::path(post, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")), request_body = AlertChange,
    responses((status = 200, body = AlertView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<AlertId>, ApiJson(change): ApiJson<AlertChange>) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(okno_app::alerts::change(&state.app, &user, id, &change, Utc::now()).await?))
}

/// Days to scan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// First local date (default: yesterday).
    pub from: Option<NaiveDate>,
    /// Last local date (default: today).
    pub to: Option<NaiveDate>,
}

/// Scans days for spikes now (admins).
#[utoipa::path(post, path = "/api/v1/alerts/scan", tag = "alerts", request_body = ScanRequest,
    responses((status = 200, body = ScanReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn scan_now(State(state): State<AppState>, Admin(_admin): Admin, ApiJson(body): ApiJson<ScanRequest>) -> Result<Json<ScanReport>, ApiError> {
    Ok(Json(okno_app::alerts::scan_days(&state.app, body.from, body.to, Utc::now()).await?))
}
