//! What can go wrong in a use-case, in terms the edges translate: the HTTP edge into problem
//! details with their status, the command line into a message that keeps the cause.

use okno_core::ErrorCode;
use okno_core::workflow::ActionError;
use okno_core::{FieldError, ValidationError};
use okno_store::StoreError;

/// Why a use-case failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is well-formed but wrong, field by field.
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// A sign-in with a wrong login or password (or a disabled account).
    #[error("wrong login or password")]
    WrongCredentials,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with the current state (a taken key, a transition not allowed).
    #[error("{0}")]
    Conflict(String),
    /// The domain rules refused an action on a request.
    #[error(transparent)]
    Refused(ActionError),
    /// The database failed (the cause is kept for logs and the command line, never sent to a client).
    #[error(transparent)]
    Store(StoreError),
    /// A file could not be read, or is not what it should be (imports, calibration).
    #[error("{0}")]
    Input(String),
    /// Something broke on our side.
    #[error("{0}")]
    Internal(String),
}

/// Result of use-cases.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    /// A single-field validation error.
    pub fn field(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError { field: field.into(), code, message: message.into() }])
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        AppError::Invalid(e.0)
    }
}

impl From<ActionError> for AppError {
    fn from(e: ActionError) -> Self {
        AppError::Refused(e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(action) => AppError::Refused(action),
            StoreError::Conflict(message) => AppError::Conflict(message),
            other => AppError::Store(other),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Input(e.to_string())
    }
}

impl From<csv::Error> for AppError {
    fn from(e: csv::Error) -> Self {
        AppError::Input(e.to_string())
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<toml::ser::Error> for AppError {
    fn from(e: toml::ser::Error) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<okno_analytics::QueryError> for AppError {
    fn from(e: okno_analytics::QueryError) -> Self {
        let field = match e {
            okno_analytics::QueryError::Window(_) => "to",
            okno_analytics::QueryError::Resolution(_) => "resolution",
        };
        AppError::field(field, ErrorCode::OutOfRange, e.to_string())
    }
}
