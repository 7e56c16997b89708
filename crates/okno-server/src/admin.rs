//! Administration: users, the audit log and the periodic jobs' states. Admins only.

use crate::auth::{hash_password, Caller};
use crate::error::{ApiError, Problem};
use crate::{ApiJson, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use okno_core::{FieldErrors, Role};
use okno_store::{AuditEntry, NewUser, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    /// Login name: letters, digits, `.`, `-`, `_`; 2–64 characters.
    pub login: String,
    /// At least 10 characters.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Agency code, required for (and only for) agency staff.
    pub agency: Option<String>,
}

/// A created user.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    /// User id.
    pub id: i64,
    /// Login name.
    pub login: String,
}

/// Checks a new user and stores it with its password hashed; the creation is audited as `actor`.
pub async fn create_user(store: &dyn Store, form: CreateUser, actor: &str) -> Result<CreatedUser, ApiError> {
    let mut errors = FieldErrors::default();
    let login = form.login.trim().to_owned();
    if !(2..=64).contains(&login.chars().count()) || !login.chars().all(|c| c.is_alphanumeric() || ".-_".contains(c)) {
        errors.add("login", "must be 2–64 letters, digits, '.', '-' or '_'");
    }
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        errors.add("password", format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    match (form.role, &form.agency) {
        (Role::AgencyStaff, None) => errors.add("agency", "agency staff need an agency"),
        (Role::AgencyStaff, Some(code)) if !store.agencies().await?.iter().any(|a| &a.code == code) => {
            errors.add("agency", format!("no agency with code {code:?}"))
        }
        (Role::AgencyStaff, Some(_)) => {}
        (_, Some(_)) => errors.add("agency", "only agency staff belong to an agency"),
        (_, None) => {}
    }
    errors.finish(())?;
    let user = NewUser { login: login.clone(), password_hash: hash_password(&form.password)?, role: form.role, agency: form.agency };
    let now = Utc::now();
    let id = store.create_user(&user, now).await.map_err(|e| match e {
        okno_store::StoreError::Conflict(_) => ApiError::field("login", "is taken"),
        other => other.into(),
    })?;
    store.audit(actor, "user.create", None, Some(&format!("{login} as {}", user.role.as_str())), now).await?;
    Ok(CreatedUser { id, login })
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_user(State(state): State<AppState>, caller: Caller, ApiJson(form): ApiJson<CreateUser>) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let admin = caller.admin()?;
    Ok((StatusCode::CREATED, Json(create_user(&*state.store, form, &admin.login).await?)))
}

/// The newest 500 audit entries: who read which citizen's contact, who created which user.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", responses((status = 200, body = [Object]), (status = 403, body = Problem)))]
pub async fn audit_log(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    caller.admin()?;
    Ok(Json(state.store.audit_log(500).await?))
}

/// The periodic jobs (deadline checks, scans, webhook delivery): each one's interval, last run,
/// its duration and outcome, failures in a row and next run.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "admin", responses((status = 200, body = [Object]), (status = 403, body = Problem)))]
pub async fn jobs(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<okno_app::jobs::JobStatus>>, ApiError> {
    caller.admin()?;
    Ok(Json(state.jobs.snapshot()))
}
