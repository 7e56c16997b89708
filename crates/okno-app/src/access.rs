//! Who may do what: passwords (argon2id), staff users and their creation, sign-in, bearer
//! tokens and integrators' Open311 API keys. Secrets are stored only as SHA-256 hashes and
//! never logged; every creation and revocation is audited.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::App;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use okno_core::{AgencyCode, ApiKeyId, FieldErrors, Principal, Role, TokenId, UserId};
use okno_store::{NewUser, Store};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;
use utoipa::ToSchema;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// The agency whose records `user` sees: agency staff their own (asking for another is refused
/// with `refusal`), everyone else the one they asked for, if any.
pub fn scope_agency(user: &Principal, asked: Option<AgencyCode>, refusal: &str) -> Result<Option<AgencyCode>> {
    if user.role != Role::AgencyStaff {
        return Ok(asked);
    }
    if asked.is_some() && asked != user.agency {
        return Err(AppError::Forbidden(refusal.into()));
    }
    Ok(user.agency.clone())
}

/// Refuses everyone but administrators.
pub fn require_admin(user: &Principal) -> Result<()> {
    if user.is_admin() { Ok(()) } else { Err(AppError::Forbidden("administrators only".into())) }
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
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

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: letters, digits, `.`, `-`, `_`; 2–64 characters.
    pub login: String,
    /// At least 10 characters.
    #[schema(min_length = 10)]
    pub password: String,
    /// Role.
    pub role: Role,
    /// Agency code, required for (and only for) agency staff.
    pub agency: Option<AgencyCode>,
}

/// A created user.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    /// User id.
    pub id: UserId,
    /// Login name.
    pub login: String,
}

/// A login as typed, in the one form it is stored and looked up in: trimmed, and in Unicode
/// compatibility composition (NFKC), so that full-width or ligature letters are the plain ones.
pub fn normal_login(login: &str) -> String {
    login.trim().nfkc().collect()
}

/// Whether two logins look alike (UTS #39 skeletons, ignoring case): `аdmin` with a Cyrillic
/// `а` beside `admin`.
fn confusable(a: &str, b: &str) -> bool {
    let skeleton = |s: &str| unicode_security::skeleton(&s.to_lowercase()).collect::<String>();
    skeleton(a) == skeleton(b)
}

/// Checks a new user and stores it with its password hashed; the creation is audited as `actor`.
/// Logins are normalized ([`normal_login`]), written in one script, and must not look like an
/// existing one.
pub async fn create_user(store: &dyn Store, form: CreateUser, actor: &str, now: DateTime<Utc>) -> Result<CreatedUser> {
    let mut errors = FieldErrors::default();
    let login = normal_login(&form.login);
    if !(2..=64).contains(&login.chars().count()) || !login.chars().all(|c| c.is_alphanumeric() || ".-_".contains(c)) {
        errors.add("login", ErrorCode::InvalidFormat, "must be 2–64 letters, digits, '.', '-' or '_'");
    } else if !login.is_single_script() {
        errors.add("login", ErrorCode::InvalidFormat, "must be written in one alphabet (Latin or Cyrillic letters are not mixed)");
    } else if let Some(existing) = store.user_logins().await?.into_iter().find(|l| *l != login && confusable(l, &login)) {
        errors.add("login", ErrorCode::Taken, format!("looks like the existing login {existing:?}"));
    }
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        errors.add("password", ErrorCode::TooShort, format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    match (form.role, &form.agency) {
        (Role::AgencyStaff, None) => errors.add("agency", ErrorCode::Required, "agency staff need an agency"),
        (Role::AgencyStaff, Some(code)) if !store.agencies().await?.iter().any(|a| &a.code == code) => {
            errors.add("agency", ErrorCode::UnknownValue, format!("no agency with code {code:?}"))
        }
        (Role::AgencyStaff, Some(_)) => {}
        (_, Some(_)) => errors.add("agency", ErrorCode::NotAllowed, "only agency staff belong to an agency"),
        (_, None) => {}
    }
    errors.finish(())?;
    let user = NewUser { login: login.clone(), password_hash: hash_password(&form.password)?, role: form.role, agency: form.agency };
    let id = store.create_user(&user, now).await.map_err(|e| match e {
        okno_store::StoreError::Conflict(_) => AppError::field("login", ErrorCode::Taken, "is taken"),
        other => other.into(),
    })?;
    store.audit(actor, "user.create", None, Some(&format!("{login} as {}", user.role.as_str())), now).await?;
    Ok(CreatedUser { id, login })
}

/// A new browser session: its secret (for the cookie) and who it is for.
#[derive(Debug)]
pub struct Session {
    /// The session's secret; only its hash is stored.
    pub secret: String,
    /// The signed-in user.
    pub principal: Principal,
}

/// Signs in with login and password. An unknown login is checked against a decoy hash, so the
/// time taken does not tell whether a login exists. A failed attempt is audited.
pub async fn sign_in(app: &App, login: &str, password: &str, now: DateTime<Utc>) -> Result<Session> {
    let user = app.store.user_by_login(&normal_login(login)).await?;
    let hash = user.as_ref().map_or(app.password_decoy.as_str(), |u| u.password_hash.as_str());
    let password_ok = verify_password(hash, password);
    let user = match user {
        Some(user) if password_ok && user.active => user,
        tried => {
            // Under the user it was tried for; a login that names no one is not kept (it may be
            // a password typed into the wrong field).
            let tried = tried.as_ref().map_or("(unknown login)", |u| u.principal.login.as_str());
            app.store.audit(tried, "login.failed", None, None, now).await?;
            return Err(AppError::WrongCredentials);
        }
    };
    let secret = new_secret();
    app.store.create_session(&secret_hash(&secret), user.principal.user_id, now + Duration::hours(SESSION_HOURS)).await?;
    Ok(Session { secret, principal: user.principal })
}

/// The user a browser session's secret signs in, while the session lasts.
pub async fn session_user(app: &App, secret: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
    Ok(app.store.session_principal(&secret_hash(secret), now).await?)
}

/// The user a bearer token was issued to, while the token is valid.
pub async fn token_user(app: &App, token: &str) -> Result<Option<Principal>> {
    Ok(app.store.token_principal(&secret_hash(token.trim())).await?)
}

/// What a throttled sign-in ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The attempts allowed from one address.
    Address,
    /// The failures allowed for one login.
    Login,
}

/// Audits the start of a throttling of sign-ins (the first refused attempt, not each one), under
/// the login tried if it names a user, as failed sign-ins are.
pub async fn sign_in_throttled(app: &App, login: &str, by: Throttle, now: DateTime<Utc>) -> Result<()> {
    let user = app.store.user_by_login(&normal_login(login)).await?;
    let tried = user.as_ref().map_or("(unknown login)", |u| u.principal.login.as_str());
    let detail = match by {
        Throttle::Address => "too many attempts from one address",
        Throttle::Login => "too many failures for this login",
    };
    app.store.audit(tried, "login.throttled", None, Some(detail), now).await?;
    Ok(())
}

/// Most audit entries one read returns.
pub const MAX_AUDIT_ENTRIES: u32 = 1_000;

/// The newest `limit` audit entries (default 500), for administrators.
pub async fn audit_log(app: &App, admin: &Principal, limit: Option<u32>) -> Result<Vec<okno_store::AuditEntry>> {
    require_admin(admin)?;
    let limit = limit.unwrap_or(500);
    if !(1..=MAX_AUDIT_ENTRIES).contains(&limit) {
        return Err(AppError::field("limit", ErrorCode::OutOfRange, format!("must be 1 to {MAX_AUDIT_ENTRIES}")));
    }
    Ok(app.store.audit_log(limit).await?)
}

/// Ends the session whose secret is `secret`.
pub async fn sign_out(app: &App, secret: &str) -> Result<()> {
    Ok(app.store.delete_session(&secret_hash(secret)).await?)
}

/// A name for a token or a client: 1–100 characters once trimmed.
fn short_name<'a>(field: &str, name: &'a str) -> Result<&'a str> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(AppError::field(field, ErrorCode::Required, "must be 1 to 100 characters")),
        101.. => Err(AppError::field(field, ErrorCode::TooLong, "must be 1 to 100 characters")),
        _ => Ok(name),
    }
}

/// Issues a bearer token named `name` for `user`; the token is returned once and stored only as a hash.
pub async fn issue_token(app: &App, user: &Principal, name: &str, now: DateTime<Utc>) -> Result<String> {
    let name = short_name("name", name)?;
    let token = new_secret();
    let id = app.store.create_api_token(user.user_id, name, &secret_hash(&token), now).await?;
    app.store.audit(&user.login, "token.create", None, Some(&format!("token {id} {name:?}")), now).await?;
    Ok(token)
}

/// The bearer tokens `user` may see and revoke: their own, or everyone's for an admin.
pub async fn tokens(app: &App, user: &Principal) -> Result<Vec<okno_store::ApiTokenInfo>> {
    Ok(app.store.api_tokens((!user.is_admin()).then_some(user.user_id)).await?)
}

/// Revokes bearer token `id`: its owner or an admin may; audited.
pub async fn revoke_token(app: &App, user: &Principal, id: TokenId, now: DateTime<Utc>) -> Result<()> {
    if !app.store.revoke_api_token(id, (!user.is_admin()).then_some(user.user_id), now).await? {
        return Err(AppError::NotFound(format!("no token {id} of yours that is still valid")));
    }
    app.store.audit(&user.login, "token.revoke", None, Some(&format!("token {id}")), now).await?;
    Ok(())
}

/// The integrator holding Open311 API key `key`, if it is valid (issued and not revoked).
pub async fn api_key_client(app: &App, key: &str) -> Result<Option<String>> {
    Ok(app.store.api_key_client(&secret_hash(key)).await?)
}

/// An Open311 API key just issued.
#[derive(Debug)]
pub struct IssuedKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The client it was issued to (trimmed).
    pub client: String,
    /// The key; shown this once, stored only as a hash.
    pub key: String,
}

/// Issues an Open311 API key to `client`, audited as `actor`'s.
pub async fn issue_api_key(store: &dyn Store, client: &str, actor: &str, now: DateTime<Utc>) -> Result<IssuedKey> {
    let client = short_name("client", client)?;
    let key = new_secret();
    let id = store.create_api_key(client, &secret_hash(&key), now).await?;
    store.audit(actor, "apikey.create", None, Some(&format!("key {id} for {client}")), now).await?;
    Ok(IssuedKey { id, client: client.to_owned(), key })
}

/// Revokes Open311 API key `id`, audited as `actor`'s.
pub async fn revoke_api_key(store: &dyn Store, id: ApiKeyId, actor: &str, now: DateTime<Utc>) -> Result<()> {
    if !store.revoke_api_key(id, now).await? {
        return Err(AppError::NotFound(format!("no active API key {id}")));
    }
    store.audit(actor, "apikey.revoke", None, Some(&format!("key {id}")), now).await?;
    Ok(())
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
    }

    #[test]
    fn look_alike_logins_are_told_and_full_width_letters_are_plain() {
        assert!(confusable("admin", "\u{430}dmin"), "Cyrillic а");
        assert!(confusable("Admin", "admin"), "case");
        assert!(!confusable("admin", "admln"));
        assert!(!"\u{430}dmin".is_single_script());
        assert!("иванов".is_single_script() && "ivanov.p".is_single_script());
        assert_eq!(normal_login(" \u{ff41}dmin "), "admin");
    }
}
