//! Who is calling, over HTTP: the `Caller` extractor (a bearer token or a browser session:
//! HttpOnly, SameSite cookie plus a CSRF token for state-changing calls), sign-in and sign-out
//! with their cookies, and bearer tokens. Passwords and secrets are `okno_app::access`'s; they
//! are stored only as hashes and never logged.

use crate::error::ApiError;
use crate::state::AppState;
use okno_app::access::{Session, SESSION_HOURS};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use okno_core::{Principal, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use utoipa::ToSchema;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "okno_session";
/// Header that must carry the CSRF token on state-changing calls made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token that goes with a session: derived from the session secret, so only a page
/// that was given it at sign-in (and not a cross-site form) can send it back.
pub fn csrf_token(session_secret: &str) -> String {
    hex::encode(Sha256::digest(format!("okno-csrf:{session_secret}").as_bytes()))
}

/// The client's address, for rate limits: the TCP peer's, or the one a trusted proxy forwards
/// ([`crate::limits::client_address`]).
pub fn client_ip(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
    crate::limits::client_address(peer, &parts.headers, &state.config.trusted_proxies)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Who is calling: a user (by bearer token or session cookie), or nobody. Resolving a cookie
/// session for a state-changing method checks the CSRF header; a bad or missing one is refused.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The signed-in user, if any.
    pub principal: Option<Principal>,
    /// The caller's address.
    pub ip: IpAddr,
}

impl Caller {
    /// The user, or 401.
    pub fn staff(self) -> Result<Principal, ApiError> {
        self.principal.ok_or(ApiError::Unauthenticated)
    }

    /// The user if an admin; 401 or 403 otherwise.
    pub fn admin(self) -> Result<Principal, ApiError> {
        let user = self.staff()?;
        okno_app::access::require_admin(&user)?;
        Ok(user)
    }
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let ip = client_ip(parts, &state);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or(ApiError::Unauthenticated)?;
            let principal = okno_app::access::token_user(&state.app, token).await?;
            return principal.map(|p| Caller { principal: Some(p), ip }).ok_or(ApiError::Unauthenticated);
        }
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Caller { principal: None, ip });
        };
        let principal = okno_app::access::session_user(&state.app, &secret, Utc::now()).await?;
        if principal.is_some() && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(csrf_token(&secret).as_str()) {
                return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
            }
        }
        Ok(Caller { principal, ip })
    }
}

/// Declares an extractor of the caller's user that `check` (a [`Caller`] method) must accept
/// before anything else of the request is read: the path, query and body of a caller who may not
/// call are never looked at.
macro_rules! principal_extractor {
    ($(#[$doc:meta])* $name:ident, $check:ident) => {
        $(#[$doc])*
        pub struct $name(pub Principal);

        impl<S> FromRequestParts<S> for $name
        where
            AppState: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                Ok($name(Caller::from_request_parts(parts, state).await?.$check()?))
            }
        }
    };
}

principal_extractor!(
    /// A signed-in user (401 otherwise).
    Staff, staff
);

principal_extractor!(
    /// A signed-in admin (401, then 403 otherwise).
    Admin, admin
);

/// Sign-in form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Login name.
    pub login: String,
    /// Password.
    pub password: String,
}

/// The signed-in user, as the UI needs it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Login name.
    pub login: String,
    /// Role.
    pub role: Role,
    /// Agency of agency staff.
    pub agency: Option<okno_core::AgencyCode>,
    /// Token to send in `X-CSRF-Token` with state-changing calls (cookie sessions only).
    pub csrf_token: Option<String>,
}

/// A new bearer token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Send it as `Authorization: Bearer …`. It cannot be shown again.
    pub token: String,
}

/// Name for a new bearer token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for (e.g. the integration's name), 1–100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub name: String,
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"))
        .unwrap_or(HeaderValue::from_static(""))
}

/// Signs in with login and password; sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn login(State(state): State<AppState>, caller: Caller, crate::extract::ApiJson(form): crate::extract::ApiJson<Login>) -> Result<Response, ApiError> {
    let account = okno_app::access::normal_login(&form.login);
    let throttled = match state.limits.login_address.check(&caller.ip) {
        Ok(()) => state.limits.login_account.exhausted(&account).map_err(|r| (r, okno_app::access::Throttle::Login)),
        Err(r) => Err((r, okno_app::access::Throttle::Address)),
    };
    if let Err((refusal, by)) = throttled {
        if refusal.first {
            okno_app::access::sign_in_throttled(&state.app, &account, by, Utc::now()).await?;
        }
        return Err(refusal.into());
    }
    let Session { secret, principal } = match okno_app::access::sign_in(&state.app, &form.login, &form.password, Utc::now()).await {
        Err(okno_app::AppError::WrongCredentials) => {
            // A failure takes from the login's bucket too; once empty, that login waits.
            let _ = state.limits.login_account.check(&account);
            return Err(ApiError::WrongCredentials);
        }
        other => other?,
    };
    let me = Me { login: principal.login, role: principal.role, agency: principal.agency, csrf_token: Some(csrf_token(&secret)) };
    let mut response = Json(me).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &secret, SESSION_HOURS * 3600));
    Ok(response)
}

/// Ends the browser session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, Staff(_user): Staff, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        okno_app::access::sign_out(&state.app, &secret).await?;
    }
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(Staff(user): Staff, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let csrf = cookie(&headers, SESSION_COOKIE).map(|s| csrf_token(&s));
    Ok(Json(Me { login: user.login, role: user.role, agency: user.agency, csrf_token: csrf }))
}

/// Issues a bearer token for the signed-in user (for scripts and integrations).
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = IssuedToken), (status = 401, body = crate::error::Problem)))]
pub async fn issue_token(
    State(state): State<AppState>,
    Staff(user): Staff,
    crate::extract::ApiJson(form): crate::extract::ApiJson<TokenRequest>,
) -> Result<(axum::http::StatusCode, Json<IssuedToken>), ApiError> {
    let token = okno_app::access::issue_token(&state.app, &user, &form.name, Utc::now()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(IssuedToken { token })))
}

/// A bearer token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: okno_core::TokenId,
    /// Whose it is.
    pub user_login: String,
    /// Its name.
    pub name: String,
    /// Issued.
    pub created_at: chrono::DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

/// The signed-in user's bearer tokens, newest first (an admin's: everyone's).
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
    responses((status = 200, body = [TokenView]), (status = 401, body = crate::error::Problem)))]
pub async fn list_tokens(State(state): State<AppState>, Staff(user): Staff) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = okno_app::access::tokens(&state.app, &user).await?;
    Ok(Json(tokens.into_iter().map(|t| TokenView { id: t.id, user_login: t.user_login, name: t.name, created_at: t.created_at, revoked_at: t.revoked_at }).collect()))
}

/// Revokes a bearer token at once: its owner or an admin may (audited).
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth", params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_token(State(state): State<AppState>, Staff(user): Staff, crate::extract::ApiPath(id): crate::extract::ApiPath<okno_core::TokenId>) -> Result<axum::http::StatusCode, ApiError> {
    okno_app::access::revoke_token(&state.app, &user, id, Utc::now()).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_neither_the_secret_nor_its_stored_hash() {
        let s = okno_app::access::new_secret();
        assert_ne!(csrf_token(&s), s);
        assert_ne!(csrf_token(&s), okno_app::access::secret_hash(&s));
    }

}
