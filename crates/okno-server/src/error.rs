//! Errors at the HTTP edge, rendered as RFC 9457 problem details (`application/problem+json`)
//! with field-level messages for invalid input. Internal failures are logged and answered with
//! a generic message: no database text reaches a client.

use okno_core::ErrorCode;
use axum::extract::rejection::PathRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use okno_core::workflow::{ActionError, DeadlineRefusal};
use okno_core::{FieldError, ValidationError};
use okno_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is well-formed but wrong, field by field (422).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The input could not be read (400) — or a rejection with its own status (e.g. 413).
    #[error("{1}")]
    BadRequest(StatusCode, String),
    /// No valid credentials (401).
    #[error("sign in first")]
    Unauthenticated,
    /// A sign-in with a wrong login or password (401).
    #[error("wrong login or password")]
    WrongCredentials,
    /// Signed in, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// The action conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// An action on a request refused for a reason a client words itself (403 or 409).
    #[error("{1}")]
    Refused(Refusal, String),
    /// Too many attempts from this client (429).
    #[error("too many requests; retry in {0} s")]
    TooManyRequests(u64),
    /// Something broke on our side (500).
    #[error("internal error")]
    Internal(String),
}

/// The problem-details body (RFC 9457), documented as `ProblemDetails` so that it is not taken
/// for a systemic problem.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProblemDetails)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// For invalid input: each field's problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For an action on a request that was refused: why, in terms a client can word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// Why an action on a request was refused, for clients to word in their own language (`detail`
/// says it in English).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The caller may not take this action on this request (403).
    NotPermitted {
        /// The action, as its path names it (`mark-duplicate`).
        action: String,
    },
    /// The request's status does not allow the action (409).
    Transition {
        /// The action, as its path names it.
        action: String,
        /// The request's status.
        status: okno_core::Status,
    },
    /// Resuming a deadline clock that runs (409).
    ClockNotStopped,
    /// Stopping a deadline clock that stands still (409).
    ClockAlreadyStopped,
    /// Extending a deadline whose regime's extensions are used up (409).
    ExtensionsUsed {
        /// How many extensions the regime allows.
        allowed: u32,
    },
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "/problems/invalid-input", "Invalid input"),
            ApiError::BadRequest(status, _) => (*status, "/problems/bad-request", "Request could not be read"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "/problems/unauthenticated", "Authentication required"),
            ApiError::WrongCredentials => (StatusCode::UNAUTHORIZED, "/problems/wrong-credentials", "Sign-in failed"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "/problems/not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "/problems/conflict", "Conflict with the current state"),
            ApiError::Refused(Refusal::NotPermitted { .. }, _) => (StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden"),
            ApiError::Refused(..) => (StatusCode::CONFLICT, "/problems/conflict", "Conflict with the current state"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "/problems/rate-limited", "Too many requests"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "/problems/internal", "Internal error"),
        }
    }

    /// A single-field validation error.
    pub fn field(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError { field: field.into(), code, message: message.into() }])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let detail = self.to_string();
        let retry_after = match &self { ApiError::TooManyRequests(s) => Some(*s), _ => None };
        let (errors, refusal) = match self {
            ApiError::Invalid(errors) => (errors, None),
            ApiError::Refused(refusal, _) => (Vec::new(), Some(refusal)),
            _ => (Vec::new(), None),
        };
        let body = Problem { kind, title, status: status.as_u16(), detail, errors, refusal };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Invalid(e.0)
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        let detail = e.to_string();
        match e {
            ActionError::Forbidden(action) => ApiError::Refused(Refusal::NotPermitted { action: action.path_name() }, detail),
            ActionError::Transition(t) => ApiError::Refused(Refusal::Transition { action: t.action.path_name(), status: t.from }, detail),
            ActionError::Deadline(DeadlineRefusal::NotStopped) => ApiError::Refused(Refusal::ClockNotStopped, detail),
            ActionError::Deadline(DeadlineRefusal::AlreadyStopped) => ApiError::Refused(Refusal::ClockAlreadyStopped, detail),
            ActionError::Deadline(DeadlineRefusal::ExtensionsUsed { allowed, .. }) => ApiError::Refused(Refusal::ExtensionsUsed { allowed }, detail),
            ActionError::Invalid(v) => v.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(action) => action.into(),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<okno_app::AppError> for ApiError {
    fn from(e: okno_app::AppError) -> Self {
        use okno_app::AppError;
        match e {
            AppError::Invalid(fields) => ApiError::Invalid(fields),
            AppError::WrongCredentials => ApiError::WrongCredentials,
            AppError::Forbidden(message) => ApiError::Forbidden(message),
            AppError::NotFound(message) => ApiError::NotFound(message),
            AppError::Conflict(message) => ApiError::Conflict(message),
            AppError::Refused(action) => action.into(),
            AppError::Store(store) => store.into(),
            AppError::Internal(cause) | AppError::Input(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<okno_analytics::QueryError> for ApiError {
    fn from(e: okno_analytics::QueryError) -> Self {
        okno_app::AppError::from(e).into()
    }
}

macro_rules! rejection_into_bad_request {
    ($($rejection:ty),+) => {$(
        impl From<$rejection> for ApiError {
            fn from(r: $rejection) -> Self {
                ApiError::BadRequest(r.status(), r.body_text())
            }
        }
    )+};
}
rejection_into_bad_request!(PathRejection);

#[cfg(test)]
mod tests {
    use super::*;
    use okno_app::AppError;
    use okno_core::lifecycle::TransitionError;
    use okno_core::{Action, Status};

    fn status_and_detail(e: AppError) -> (u16, String) {
        let api = ApiError::from(e);
        let detail = api.to_string();
        (api.into_response().status().as_u16(), detail)
    }

    #[test]
    fn use_case_errors_keep_their_http_status_and_hide_database_causes() {
        let refused = |e: ActionError| status_and_detail(AppError::Refused(e)).0;
        assert_eq!(status_and_detail(AppError::field("text", ErrorCode::Required, "is required")).0, 422);
        assert_eq!(status_and_detail(AppError::WrongCredentials), (401, "wrong login or password".into()));
        assert_eq!(status_and_detail(AppError::Forbidden("no".into())), (403, "no".to_owned()));
        assert_eq!(status_and_detail(AppError::NotFound("no request 7".into())), (404, "no request 7".to_owned()));
        assert_eq!(status_and_detail(AppError::Conflict("taken".into())).0, 409);
        assert_eq!(refused(ActionError::Forbidden(Action::Close)), 403);
        assert_eq!(refused(ActionError::Deadline(DeadlineRefusal::NotStopped)), 409);
        assert_eq!(refused(ActionError::Transition(TransitionError { from: Status::Closed, action: Action::Answer })), 409);
        let store = AppError::from(StoreError::Corrupt("secret table detail".into()));
        assert_eq!(status_and_detail(store), (500, "internal error".to_owned()), "a database cause never reaches a client");
        assert_eq!(status_and_detail(AppError::Input("a file".into())).0, 500);
    }
}
