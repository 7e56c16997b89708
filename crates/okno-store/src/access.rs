//! Who may do what: staff users, their browser sessions and bearer tokens, integrators' Open311
//! API keys, and the audit log that records every read of a citizen's contact.

use crate::dialect::{classify, get_time, parse_stored, Dialect, Row, SqlStore};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::{AgencyCode, ApiKeyId, Contact, Principal, RequestId, Role, TokenId, UserId};

/// A user as stored, with the password hash for verification.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// Who it is, for access decisions.
    pub principal: Principal,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Disabled users cannot sign in.
    pub active: bool,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Unique login.
    pub login: String,
    /// argon2id PHC string (never the password itself).
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Agency of agency staff.
    pub agency: Option<AgencyCode>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    /// Entry id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub user_login: String,
    /// What (`contact.read`, `user.create`…).
    pub action: String,
    /// Which request, if any.
    pub request_id: Option<RequestId>,
    /// More detail.
    pub detail: Option<String>,
}

/// An Open311 API key as listed to administrators (never the key itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiKeyInfo {
    /// Key id.
    pub id: ApiKeyId,
    /// The client it was issued to; requests it files carry `open311:<client>` as their source.
    pub client: String,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A bearer token as its owner and admins see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiTokenInfo {
    /// Token id.
    pub id: TokenId,
    /// Whose it is.
    pub user_login: String,
    /// What its owner named it.
    pub name: String,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Users, sessions, tokens, API keys, contacts' audited reads and the audit log.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// The citizen's contact of a request, read by staff member `reader`. The read is written
    /// to the audit log in the same transaction, whether or not a contact exists.
    async fn read_contact(&self, request: RequestId, reader: &Principal, now: DateTime<Utc>) -> Result<Option<Contact>>;
    /// Appends an audit entry.
    async fn audit(&self, user_login: &str, action: &str, request_id: Option<RequestId>, detail: Option<&str>, now: DateTime<Utc>) -> Result<()>;
    /// The newest audit entries first.
    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>>;
    /// Creates a user; fails with `Conflict` if the login is taken.
    async fn create_user(&self, user: &NewUser, now: DateTime<Utc>) -> Result<UserId>;
    /// A user by login.
    async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>>;
    /// Every user's login, active or not.
    async fn user_logins(&self) -> Result<Vec<String>>;
    /// Stores a browser session by the hash of its secret.
    async fn create_session(&self, token_hash: &str, user_id: UserId, expires_at: DateTime<Utc>) -> Result<()>;
    /// The active user behind a session that has not expired at `now`.
    async fn session_principal(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Stores a bearer token by the hash of its secret.
    async fn create_api_token(&self, user_id: UserId, name: &str, token_hash: &str, now: DateTime<Utc>) -> Result<i64>;
    /// The active user behind a bearer token that has not been revoked.
    async fn token_principal(&self, token_hash: &str) -> Result<Option<Principal>>;
    /// Bearer tokens, newest first: one user's, or everyone's.
    async fn api_tokens(&self, owner: Option<UserId>) -> Result<Vec<ApiTokenInfo>>;
    /// Revokes a token by id (only `owner`'s, if given); `false` if there is no such unrevoked token.
    async fn revoke_api_token(&self, id: TokenId, owner: Option<UserId>, now: DateTime<Utc>) -> Result<bool>;
    /// Issues an Open311 API key to `client`, stored by the hash of its secret.
    async fn create_api_key(&self, client: &str, key_hash: &str, now: DateTime<Utc>) -> Result<ApiKeyId>;
    /// The client holding a key that has not been revoked.
    async fn api_key_client(&self, key_hash: &str) -> Result<Option<String>>;
    /// Every key issued, newest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>>;
    /// Revokes a key by id; `false` if there is no such unrevoked key.
    async fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<bool>;
}

fn principal_from_row<D: Dialect>(row: &Row<D>) -> Result<Principal> {
    Ok(Principal {
        user_id: D::get(row, "id")?,
        login: D::get(row, "login")?,
        role: parse_stored("role", &D::get::<String, _>(row, "role")?)?,
        agency: D::get(row, "agency_code")?,
    })
}

#[async_trait]
impl<D: Dialect> AccessStore for SqlStore<D> {
    async fn read_contact(&self, request_id: RequestId, reader: &Principal, now: DateTime<Utc>) -> Result<Option<Contact>> {
        let mut tx = self.begin().await?;
        let row = D::sql("SELECT name, phone, email FROM contacts WHERE request_id = $1").bind(request_id).fetch_optional(&mut tx).await?;
        D::sql("INSERT INTO audit_log (at, user_login, action, request_id, detail) VALUES ($1, $2, 'contact.read', $3, $4)")
            .bind_time(now).bind(&reader.login).bind(request_id).bind(reader.role.as_str())
            .execute(&mut tx).await?;
        tx.commit().await?;
        row.map(|r| Ok(Contact { name: D::get(&r, 0)?, phone: D::get(&r, 1)?, email: D::get(&r, 2)? })).transpose()
    }

    async fn audit(&self, user_login: &str, action: &str, request_id: Option<RequestId>, detail: Option<&str>, now: DateTime<Utc>) -> Result<()> {
        D::sql("INSERT INTO audit_log (at, user_login, action, request_id, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind_time(now).bind(user_login).bind(action).bind(request_id).bind(detail)
            .execute(&mut *self.write().await?).await?;
        Ok(())
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = D::sql("SELECT id, at, user_login, action, request_id, detail FROM audit_log ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit)).fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: D::get(r, "id")?, at: get_time::<D, _>(r, "at")?, user_login: D::get(r, "user_login")?,
                    action: D::get(r, "action")?, request_id: D::get(r, "request_id")?, detail: D::get(r, "detail")?,
                })
            })
            .collect()
    }

    async fn create_user(&self, u: &NewUser, now: DateTime<Utc>) -> Result<UserId> {
        let row = D::sql(
            "INSERT INTO users (login, password_hash, role, agency_code, active, created_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id",
        )
        .bind(&u.login).bind(&u.password_hash).bind(u.role.as_str()).bind(&u.agency).bind_time(now)
        .fetch_one(&mut *self.write().await?).await.map_err(classify)?;
        Ok(D::get(&row, 0)?)
    }

    async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>> {
        let row = D::sql("SELECT id, login, role, agency_code, password_hash, active FROM users WHERE login = $1")
            .bind(login).fetch_optional(&mut *self.read().await?).await?;
        row.map(|r| Ok(UserRecord { principal: principal_from_row::<D>(&r)?, password_hash: D::get(&r, "password_hash")?, active: D::get(&r, "active")? }))
            .transpose()
    }

    async fn user_logins(&self) -> Result<Vec<String>> {
        let rows = D::sql("SELECT login FROM users ORDER BY id").fetch_all(&mut *self.read().await?).await?;
        Ok(rows.iter().map(|r| D::get(r, 0)).collect::<sqlx::Result<_>>()?)
    }

    async fn create_session(&self, token_hash: &str, user_id: UserId, expires_at: DateTime<Utc>) -> Result<()> {
        D::sql("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash).bind(user_id).bind_time(expires_at)
            .execute(&mut *self.write().await?).await.map_err(classify)?;
        Ok(())
    }

    async fn session_principal(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
        let row = D::sql(
            "SELECT u.id, u.login, u.role, u.agency_code FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active",
        )
        .bind(token_hash).bind_time(now).fetch_optional(&mut *self.read().await?).await?;
        row.as_ref().map(principal_from_row::<D>).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        D::sql("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *self.write().await?).await?;
        Ok(())
    }

    async fn create_api_token(&self, user_id: UserId, name: &str, token_hash: &str, now: DateTime<Utc>) -> Result<i64> {
        let row = D::sql("INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(token_hash).bind(user_id).bind(name).bind_time(now)
            .fetch_one(&mut *self.write().await?).await.map_err(classify)?;
        Ok(D::get(&row, 0)?)
    }

    async fn token_principal(&self, token_hash: &str) -> Result<Option<Principal>> {
        let row = D::sql(
            "SELECT u.id, u.login, u.role, u.agency_code FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
        )
        .bind(token_hash).fetch_optional(&mut *self.read().await?).await?;
        row.as_ref().map(principal_from_row::<D>).transpose()
    }

    async fn api_tokens(&self, owner: Option<UserId>) -> Result<Vec<ApiTokenInfo>> {
        let rows = D::sql(
            "SELECT t.id, u.login, t.name, t.created_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.id DESC",
        )
        .bind(owner).fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| Ok(ApiTokenInfo {
                id: D::get(r, "id")?, user_login: D::get(r, "login")?, name: D::get(r, "name")?,
                created_at: get_time::<D, _>(r, "created_at")?, revoked_at: D::get_opt_time(r, "revoked_at")?,
            }))
            .collect()
    }

    async fn revoke_api_token(&self, id: TokenId, owner: Option<UserId>, now: DateTime<Utc>) -> Result<bool> {
        let changed = D::sql("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR user_id = $3)")
            .bind_time(now).bind(id).bind(owner).execute(&mut *self.write().await?).await?;
        Ok(changed == 1)
    }

    async fn create_api_key(&self, client: &str, key_hash: &str, now: DateTime<Utc>) -> Result<ApiKeyId> {
        let row = D::sql("INSERT INTO api_keys (client, key_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(client).bind(key_hash).bind_time(now)
            .fetch_one(&mut *self.write().await?).await.map_err(classify)?;
        Ok(D::get(&row, 0)?)
    }

    async fn api_key_client(&self, key_hash: &str) -> Result<Option<String>> {
        let row = D::sql("SELECT client FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash).fetch_optional(&mut *self.read().await?).await?;
        Ok(row.map(|r| D::get(&r, 0)).transpose()?)
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>> {
        let rows = D::sql("SELECT id, client, created_at, revoked_at FROM api_keys ORDER BY id DESC").fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| Ok(ApiKeyInfo {
                id: D::get(r, "id")?, client: D::get(r, "client")?,
                created_at: get_time::<D, _>(r, "created_at")?, revoked_at: D::get_opt_time(r, "revoked_at")?,
            }))
            .collect()
    }

    async fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<bool> {
        let changed = D::sql("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind_time(now).bind(id).execute(&mut *self.write().await?).await?;
        Ok(changed == 1)
    }
}
