//! Authentication: argon2id passwords, browser sessions (HttpOnly, SameSite cookie plus a CSRF
//! token for state-changing calls), bearer API tokens, and per-client rate limits.
//! Secrets are stored only as SHA-256 hashes and never logged.

use crate::error::ApiError;
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{Duration, Utc};
use okno_core::{Principal, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;
use utoipa::ToSchema;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "okno_session";
/// Header that must carry the CSRF token on state-changing calls made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Whether `password` matches a stored PHC hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new random secret (256 bits, URL-safe base64).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token that goes with a session: derived from the session secret, so only a page
/// that was given it at sign-in (and not a cross-site form) can send it back.
pub fn csrf_token(session_secret: &str) -> String {
    hex::encode(Sha256::digest(format!("okno-csrf:{session_secret}").as_bytes()))
}

/// A token bucket per client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// Allows `per_minute` calls on average with bursts of `burst`; `per_minute = 0` disables the limit.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter { per_minute: f64::from(per_minute), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes one call from `client`'s bucket, or says how many seconds to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        if self.per_minute == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > 100_000 {
            let (rate, burst) = (self.per_minute / 60.0, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::TooManyRequests(((1.0 - *tokens) * 60.0 / self.per_minute).ceil() as u64))
        }
    }
}

/// The client's address, for rate limits.
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
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
        if user.is_admin() { Ok(user) } else { Err(ApiError::Forbidden("administrators only".into())) }
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
        let ip = client_ip(parts);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or(ApiError::Unauthenticated)?;
            let principal = state.store.token_principal(&secret_hash(token.trim())).await?;
            return principal.map(|p| Caller { principal: Some(p), ip }).ok_or(ApiError::Unauthenticated);
        }
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Caller { principal: None, ip });
        };
        let principal = state.store.session_principal(&secret_hash(&secret), Utc::now()).await?;
        if principal.is_some() && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(csrf_token(&secret).as_str()) {
                return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
            }
        }
        Ok(Caller { principal, ip })
    }
}

/// Sign-in form.
#[derive(Debug, Deserialize, ToSchema)]
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
    pub agency: Option<String>,
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
pub struct TokenRequest {
    /// What the token is for (e.g. the integration's name).
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
pub async fn login(State(state): State<AppState>, caller: Caller, crate::ApiJson(form): crate::ApiJson<Login>) -> Result<Response, ApiError> {
    state.login_limiter.check(caller.ip)?;
    let user = state.store.user_by_login(form.login.trim()).await?;
    // Verify against a fixed hash when the user is unknown, so timing does not reveal logins.
    let hash = user.as_ref().map_or(state.dummy_hash.as_str(), |u| u.password_hash.as_str());
    let password_ok = verify_password(hash, &form.password);
    let Some(user) = user.filter(|u| password_ok && u.active) else {
        return Err(ApiError::Unauthenticated);
    };
    let secret = new_secret();
    let expires = Utc::now() + Duration::hours(SESSION_HOURS);
    state.store.create_session(&secret_hash(&secret), user.principal.user_id, expires).await?;
    let me = Me {
        login: user.principal.login,
        role: user.principal.role,
        agency: user.principal.agency,
        csrf_token: Some(csrf_token(&secret)),
    };
    let mut response = Json(me).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &secret, SESSION_HOURS * 3600));
    Ok(response)
}

/// Ends the browser session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    caller.staff()?;
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&secret_hash(&secret)).await?;
    }
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(caller: Caller, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let user = caller.staff()?;
    let csrf = cookie(&headers, SESSION_COOKIE).map(|s| csrf_token(&s));
    Ok(Json(Me { login: user.login, role: user.role, agency: user.agency, csrf_token: csrf }))
}

/// Issues a bearer token for the signed-in user (for scripts and integrations).
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = IssuedToken), (status = 401, body = crate::error::Problem)))]
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    crate::ApiJson(form): crate::ApiJson<TokenRequest>,
) -> Result<(axum::http::StatusCode, Json<IssuedToken>), ApiError> {
    let user = caller.staff()?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "must be 1 to 100 characters"));
    }
    let token = new_secret();
    state.store.create_api_token(user.user_id, name, &secret_hash(&token), Utc::now()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(IssuedToken { token })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_secrets_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong"));
        assert!(!verify_password("garbage", "x"));
        let s = new_secret();
        assert_eq!(s.len(), 43);
        assert_ne!(secret_hash(&s), s);
        assert_ne!(csrf_token(&s), secret_hash(&s));
    }

    #[test]
    fn rate_limiter_refuses_after_burst() {
        let limiter = RateLimiter::new(60, 3);
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            limiter.check(ip).unwrap();
        }
        assert!(matches!(limiter.check(ip), Err(ApiError::TooManyRequests(1))));
        limiter.check(IpAddr::from([10, 0, 0, 2])).unwrap();
        let unlimited = RateLimiter::new(0, 1);
        for _ in 0..100 {
            unlimited.check(ip).unwrap();
        }
    }
}
