//! The operators' side of triage over HTTP: the triage queue, a request's explained
//! prediction, classifying a text, the models in force and the keyword rules (see
//! [`okno_app::triage`]).

use crate::auth::{Admin, Caller, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use okno_app::models::ModelsStatus;
use okno_app::triage::{ClassifyInput, PredictionView, TriageItem};
use okno_core::triage::{RoutingRule, RuleDraft};
use okno_core::{Principal, RequestId};
use serde::Deserialize;
use utoipa::IntoParams;

fn operator(caller: Caller) -> Result<Principal, ApiError> {
    let user = caller.staff()?;
    okno_app::triage::require_operator(&user)?;
    Ok(user)
}

/// Paging of the triage queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TriageQuery {
    /// Requests after this id (the last of the previous page).
    #[serde(default)]
    pub after: i64,
    /// At most this many, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The triage queue: open requests whose service or agency waits for an operator, oldest first,
/// each with the models' choices and the words behind them. Operators only.
#[utoipa::path(get, path = "/api/v1/triage", tag = "triage", params(TriageQuery),
    responses((status = 200, body = Vec<TriageItem>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn triage_queue(State(state): State<AppState>, Staff(user): Staff, ApiQuery(q): ApiQuery<TriageQuery>) -> Result<Json<Vec<TriageItem>>, ApiError> {
    Ok(Json(okno_app::triage::queue(&state.app, &user, q.after, q.limit).await?))
}

/// What intake decided for a request and why. Staff who may read the request.
#[utoipa::path(get, path = "/api/v1/requests/{id}/prediction", tag = "triage", params(("id" = i64, Path)),
    responses((status = 200, body = PredictionView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn request_prediction(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<RequestId>) -> Result<Json<PredictionView>, ApiError> {
    Ok(Json(okno_app::triage::prediction(&state.app, &user, id).await?))
}

/// What Okno would decide for a text: services and agencies with probabilities and the words
/// behind them (for the citizen's form and for operators). Public: it stores nothing and
/// shows no personal data.
#[utoipa::path(post, path = "/api/v1/classify", tag = "triage", request_body = ClassifyInput,
    responses((status = 200, body = PredictionView), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn classify(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<ClassifyInput>) -> Result<Json<PredictionView>, ApiError> {
    if caller.principal.is_none() {
        state.limits.classify.check(&caller.ip)?;
    }
    Ok(Json(okno_app::triage::classify(&state.app, &input, Utc::now()).await?))
}

/// The models in force. Operators.
#[utoipa::path(get, path = "/api/v1/models", tag = "triage",
    responses((status = 200, body = ModelsStatus), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn models(State(state): State<AppState>, caller: Caller) -> Result<Json<ModelsStatus>, ApiError> {
    operator(caller)?;
    Ok(Json(state.app.classifier.status()))
}

/// Reads the configured model files again and puts them in force; a missing, corrupt or
/// other-version file is refused with its reason and the models in force stay. Admins.
#[utoipa::path(post, path = "/api/v1/models/reload", tag = "triage",
    responses((status = 200, body = ModelsStatus), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn reload_models(State(state): State<AppState>, Admin(admin): Admin) -> Result<Json<ModelsStatus>, ApiError> {
    Ok(Json(okno_app::triage::reload_models(&state.app, &admin, Utc::now()).await?))
}

/// Operators' keyword rules, by id. Operators.
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "triage",
    responses((status = 200, body = Vec<RoutingRule>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_rules(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<RoutingRule>>, ApiError> {
    operator(caller)?;
    Ok(Json(state.app.store.routing_rules().await?))
}

/// Adds a keyword rule; it takes precedence over the models for new requests. Operators.
#[utoipa::path(post, path = "/api/v1/routing-rules", tag = "triage", request_body = RuleDraft,
    responses((status = 201, body = RoutingRule), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_rule(State(state): State<AppState>, Staff(user): Staff, ApiJson(draft): ApiJson<RuleDraft>) -> Result<(StatusCode, Json<RoutingRule>), ApiError> {
    Ok((StatusCode::CREATED, Json(okno_app::triage::add_rule(&state.app, &user, draft, Utc::now()).await?)))
}

/// Turns a keyword rule off (it is kept for the record). Operators.
#[utoipa::path(delete, path = "/api/v1/routing-rules/{id}", tag = "triage", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disable_rule(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<okno_core::RuleId>) -> Result<StatusCode, ApiError> {
    okno_app::triage::disable_rule(&state.app, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
