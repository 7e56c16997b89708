//! Extractors whose rejections become problem details, and parsing shared by query strings.

use okno_core::ErrorCode;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A comma-separated list in one query parameter (`state=new,acknowledged`), documented as an
/// array with `explode: false`; an empty or absent parameter is the empty list (no filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommaList<T>(pub Vec<T>);

impl<T> Default for CommaList<T> {
    fn default() -> Self {
        CommaList(Vec::new())
    }
}

impl<'de, T: std::str::FromStr<Err: std::fmt::Display>> serde::Deserialize<'de> for CommaList<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<T>().map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(CommaList)
    }
}

/// A JSON body. Refused with 415 unless sent as `application/json`, with 400 when it is not
/// JSON, and with 422 naming the field when it does not fit its type: a body that is not an
/// object (every body here is one; serde would read an array as a struct's fields in order), a
/// wrong type, a missing field, or a field the type does not have (input types deny unknown
/// fields, so a misspelt or misplaced field is not silently dropped).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")));
        if !json {
            return Err(ApiError::BadRequest(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as JSON, with Content-Type: application/json".into()));
        }
        let body = Bytes::from_request(request, state).await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                let limit = AppState::from_ref(state).config.max_body_bytes;
                ApiError::BadRequest(e.status(), format!("the body is larger than the {} KiB accepted here", limit / 1024))
            }
            status => ApiError::BadRequest(status, e.body_text()),
        })?;
        if body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&first| first != b'{') {
            return Err(ApiError::field("body", ErrorCode::WrongType, "must be a JSON object"));
        }
        let mut json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(StatusCode::BAD_REQUEST, format!("not JSON: {e}")))?;
        read_as_documented(&mut json, &mut String::new())?;
        serde_path_to_error::deserialize(json).map(ApiJson).map_err(unfit)
    }
}

/// Applies to a JSON body the two rules the API's document states for every body, before it is
/// read into its type: a number with no fraction (`4.0`) is the integer it is, as JSON Schema
/// counts it; and no text carries a control character other than a tab or a line break
/// (refused naming its field, at `path`).
fn read_as_documented(json: &mut serde_json::Value, path: &mut String) -> Result<(), ApiError> {
    use serde_json::Value;
    match json {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0) {
                *n = serde_json::Number::from(f as i64);
            }
        }
        Value::String(text) if okno_core::request::has_control_chars(text) => {
            return Err(ApiError::field(path, ErrorCode::InvalidFormat, okno_core::request::CONTROL_CHARS));
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let length = path.len();
                path.push_str(&format!("[{i}]"));
                read_as_documented(item, path)?;
                path.truncate(length);
            }
        }
        Value::Object(fields) => {
            for (name, value) in fields.iter_mut() {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                read_as_documented(value, path)?;
                path.truncate(length);
            }
        }
        Value::String(_) | Value::Bool(_) | Value::Null => {}
    }
    Ok(())
}

/// Why a JSON body could not be read: 400 for text that is not JSON, 422 naming the field for
/// JSON that does not fit.
fn unfit(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if !inner.is_data() {
        return ApiError::BadRequest(StatusCode::BAD_REQUEST, format!("not JSON: {inner}"));
    }
    let message = inner.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    let within = |name: &str| if path == "." { name.to_owned() } else { format!("{path}.{name}") };
    match message.strip_prefix("unknown field `").and_then(|rest| rest.split_once('`')) {
        // The path already ends at the unknown field.
        Some((name, expected)) => ApiError::field(
            if path == "." { name } else { &path },
            ErrorCode::UnknownField,
            format!("is not a field here{}", expected.trim_start_matches(',').trim_end().replacen(" expected", "; expected", 1)),
        ),
        None => match message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')) {
            Some((name, _)) => ApiError::field(&within(name), ErrorCode::Required, "is required"),
            None => ApiError::field(if path == "." { "body" } else { &path }, wrong_or_invalid(message), message),
        },
    }
}

/// The code of a JSON value serde could not take: a value of the wrong type, or one it refused.
fn wrong_or_invalid(message: &str) -> ErrorCode {
    if message.starts_with("invalid type") { ErrorCode::WrongType } else { ErrorCode::Invalid }
}

/// Query parameters, read by one rule everywhere: a value that is not of its parameter's type, or
/// that holds a control character other than a tab or a line break, is a 422 naming the
/// parameter (`invalid_format`), and an empty value is a value like any other —
/// an empty text (`q=`) filters nothing, an empty number, date or name (`limit=`, `channel=`)
/// is refused, an empty [`CommaList`] is no filter. A parameter left out takes its default.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let given = parts.uri.query().unwrap_or_default();
        if let Some((name, _)) = form_urlencoded::parse(given.as_bytes()).find(|(_, value)| okno_core::request::has_control_chars(value)) {
            return Err(ApiError::field(&name, ErrorCode::InvalidFormat, okno_core::request::CONTROL_CHARS));
        }
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(given.as_bytes()));
        serde_path_to_error::deserialize(pairs).map(ApiQuery).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { "query".to_owned() } else { field };
            let message = e.into_inner().to_string();
            let code = if message.starts_with("unknown variant") || message.starts_with("unknown value") { ErrorCode::UnknownValue } else { ErrorCode::InvalidFormat };
            ApiError::field(&field, code, message)
        })
    }
}

/// Path parameters whose rejections become problem details.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

