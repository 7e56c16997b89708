//! Extractors whose rejections become problem details, and parsing shared by query strings.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts};

/// Parses a comma-separated list of names (`state=new,acknowledged`) in query parameter
/// `field`; empty or absent: none.
pub fn parse_list<T: std::str::FromStr<Err = String>>(field: &str, value: Option<&str>) -> Result<Vec<T>, ApiError> {
    value
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<T>().map_err(|e| ApiError::field(field, e)))
        .collect()
}

/// A JSON body whose rejections become problem details.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters whose rejections become problem details.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose rejections become problem details.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

