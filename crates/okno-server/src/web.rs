//! The web UI: the bundle built from `web/` and embedded at compile time, served with a strict
//! Content-Security-Policy (no inline scripts or styles, connections only to this site and the
//! configured map style's origin), plus the few endpoints only the UI needs.

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The client-side routes that answer with the UI's page.
pub const PAGES: [&str; 10] = [
    "/", "/login", "/map", "/dashboards", "/console", "/console/{*rest}", "/agency", "/agency/{*rest}", "/track/{token}", "/requests/{id}",
];

/// The routes of the UI: its pages and its files.
pub fn router() -> Router<AppState> {
    let mut router = Router::new().route("/assets/{*file}", get(asset));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
}

fn find(path: &str) -> Option<&'static (&'static str, &'static [u8], &'static [u8])> {
    ASSETS.iter().find(|(p, _, _)| *p == path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.split(';').next().is_some_and(|name| name.trim() == "gzip")))
}

fn file_response(headers: &HeaderMap, file: &(&str, &'static [u8], &'static [u8]), cache: &'static str) -> Response {
    let (path, plain, gzipped) = *file;
    let gzip = accepts_gzip(headers);
    let mut response = if gzip { gzipped.into_response() } else { plain.into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// A file of the bundle; its name carries a content hash, so it may be cached for good.
async fn asset(headers: HeaderMap, ApiPath(file): ApiPath<String>) -> Response {
    match find(&format!("assets/{file}")) {
        Some(found) => file_response(&headers, found, "public, max-age=31536000, immutable"),
        None => ApiError::NotFound(format!("no file assets/{file}")).into_response(),
    }
}

/// The Content-Security-Policy of the UI's page: scripts and styles from this site only,
/// MapLibre's workers from blobs, and connections to this site and the map style's origin.
pub fn content_security_policy(map_style_url: Option<&str>) -> String {
    let extra = map_style_url.and_then(origin_of).map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; \
         connect-src 'self'{extra}; font-src 'self'{extra}; worker-src blob:; child-src blob:; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'; manifest-src 'self'"
    )
}

/// `scheme://host[:port]` of an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty() && !h.contains(['\'', ';', ' ', '"']))?;
    Some(format!("{scheme}://{host}"))
}

/// The UI's page, for every client-side route.
async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(page) = find("index.html") else {
        let text = "The web UI was not built into this okno binary. Run `npm ci && npm run build` in web/ \
                    (scripts/demo.sh and scripts/test.sh do) and build okno again. The API is at /api/v1/.";
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    };
    let mut response = file_response(&headers, page, "no-cache");
    let policy = content_security_policy(state.config.map_style_url.as_deref());
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// What the UI needs to know about this deployment.
#[derive(Debug, Serialize, ToSchema)]
pub struct UiConfig {
    /// A MapLibre style URL for the base map; none: the map draws outlines and data only.
    pub map_style_url: Option<String>,
    /// The region's name in Russian (the territory without a parent).
    pub region_name_ru: String,
    /// The region's name in English.
    pub region_name_en: String,
    /// Whether a topic model is in force, so that a request may be filed without choosing a
    /// service (the portal then offers "let Okno choose").
    pub service_optional: bool,
}

/// Settings of the web UI (public).
#[utoipa::path(get, path = "/api/v1/ui-config", tag = "ui", responses((status = 200, body = UiConfig)))]
pub async fn ui_config(State(state): State<AppState>) -> Result<Json<UiConfig>, ApiError> {
    let region = state.app.store.territories().await?.into_iter().find(|t| t.parent.is_none());
    Ok(Json(UiConfig {
        map_style_url: state.config.map_style_url.clone(),
        region_name_ru: region.as_ref().map(|r| r.name_ru.clone()).unwrap_or_default(),
        region_name_en: region.map(|r| r.name_en).unwrap_or_default(),
        service_optional: state.app.classifier.current().topic.is_some(),
    }))
}

/// The boundaries of all territories as GeoJSON, with their codes, names, kinds and
/// populations, and whom they are owed to (`attribution`, a list): the outlines of the map (public).
#[utoipa::path(get, path = "/api/v1/territories/boundaries", tag = "catalog",
    responses((status = 200, description = "GeoJSON FeatureCollection of MultiPolygons", body = Object)))]
pub async fn boundaries(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let territories = state.app.store.territories().await?;
    let current = state.app.places.current();
    let features: Vec<Value> = territories
        .iter()
        .filter_map(|t| {
            current.geometry.get(&t.code).map(|geometry| {
                json!({"type": "Feature", "geometry": geometry, "properties": {
                    "territory": t.code, "name_ru": t.name_ru, "name_en": t.name_en, "kind": t.kind, "population": t.population,
                }})
            })
        })
        .collect();
    Ok(Json(json!({"type": "FeatureCollection", "attribution": current.attributions, "features": features})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_admits_only_the_map_styles_origin() {
        assert_eq!(origin_of("https://tiles.example.org/styles/basic.json?key=1"), Some("https://tiles.example.org".into()));
        assert_eq!(origin_of("http://127.0.0.1:8081/style.json"), Some("http://127.0.0.1:8081".into()));
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://evil'; script-src *"), None);
        let policy = content_security_policy(Some("https://tiles.example.org/style.json"));
        assert!(policy.contains("connect-src 'self' https://tiles.example.org;"));
        assert!(policy.contains("script-src 'self';"));
        assert!(!content_security_policy(None).contains("unsafe"));
    }
}
