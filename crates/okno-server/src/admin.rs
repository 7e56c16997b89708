//! Administration: users, the audit log and the periodic jobs' states. Admins only.

use crate::auth::Admin;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use okno_app::access::{create_user, CreateUser, CreatedUser};
use okno_store::AuditEntry;
use serde::Deserialize;
use utoipa::IntoParams;

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_user(State(state): State<AppState>, Admin(admin): Admin, ApiJson(form): ApiJson<CreateUser>) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_user(state.app.store.as_ref(), form, &admin.login, Utc::now()).await?)))
}

/// How many audit entries to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The newest this many, 1–1,000 (default 500).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The newest audit entries: who read (or was refused) which citizen's contact, who signed in
/// and failed to, who created which user, token and key.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery), responses((status = 200, body = [Object]), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn audit_log(State(state): State<AppState>, Admin(admin): Admin, ApiQuery(q): ApiQuery<AuditQuery>) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    Ok(Json(okno_app::access::audit_log(&state.app, &admin, q.limit).await?))
}

/// The periodic jobs (deadline checks, scans, webhook delivery): each one's interval, last run,
/// its duration and outcome, failures in a row and next run.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "admin", responses((status = 200, body = [Object]), (status = 403, body = Problem)))]
pub async fn jobs(State(state): State<AppState>, Admin(_admin): Admin) -> Result<Json<Vec<okno_app::jobs::JobStatus>>, ApiError> {
    Ok(Json(state.app.jobs.snapshot()))
}
