//! Okno's HTTP edge: the JSON API under `/api/v1` with its OpenAPI document, Open311 GeoReport
//! v2, sign-in and the embedded web UI. Handlers are thin: they parse input into domain types,
//! call a use-case of `okno-app`, and render its answer or its error as problem details.
//! What every handler shares is in `state.rs`, the extractors in `extract.rs`; accepting and
//! limiting connections in `connections.rs`.

/// Declares a query parameter's closed set of names as a type, so that the API document lists
/// them and any other value is refused while the query is read.
macro_rules! query_names {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }
    };
}

pub mod alerts;
pub mod admin;
pub mod analytics;
pub mod api;
pub mod auth;
pub mod connections;
pub mod duplicates;
pub mod error;
pub mod extract;
pub mod limits;
pub mod metrics;
pub mod open311;
pub mod places;
pub mod problems;
pub mod queues;
pub mod report;
pub mod state;
pub mod triage;
pub mod web;
pub mod xml;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use error::ApiError;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

pub use connections::{serve, REQUEST_GRACE};
pub use state::{AppState, Open311Config, ServerConfig};

/// What the OpenAPI description of the JSON API says beyond its operations, which
/// [`api_routes`] adds from the same list that routes them.
#[derive(OpenApi)]
#[openapi(
    info(title = "Okno API", description = "Regional management center: requests from citizens and businesses, routing, deadlines."),
    components(schemas(okno_core::Channel, okno_core::Priority, okno_core::EventKind, okno_core::Role)),
)]
pub struct ApiDoc;

/// The JSON API's routes and its OpenAPI document, both from one list: an operation is routed
/// if and only if it is documented.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa_axum::{router::OpenApiRouter, routes};
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::list_services))
        .routes(routes!(api::get_service))
        .routes(routes!(api::list_agencies))
        .routes(routes!(api::list_territories))
        .routes(routes!(web::boundaries))
        .routes(routes!(web::ui_config))
        .routes(routes!(api::list_requests, api::create_request))
        .routes(routes!(api::get_request))
        .routes(routes!(api::request_events))
        .routes(routes!(duplicates::for_request))
        .routes(routes!(duplicates::for_form))
        .routes(routes!(api::request_contact))
        .routes(routes!(api::act))
        .routes(routes!(api::public_request))
        .routes(routes!(api::track))
        .routes(routes!(api::citizen_act))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::issue_token, auth::list_tokens))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(admin::add_user))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::jobs))
        .routes(routes!(report::scorecards_endpoint))
        .routes(routes!(queues::summary))
        .routes(routes!(queues::queue))
        .routes(routes!(triage::triage_queue))
        .routes(routes!(triage::request_prediction))
        .routes(routes!(triage::classify))
        .routes(routes!(triage::models))
        .routes(routes!(triage::reload_models))
        .routes(routes!(triage::list_rules, triage::add_rule))
        .routes(routes!(triage::disable_rule))
        .routes(routes!(places::reload_territories))
        .routes(routes!(places::location_issues))
        .routes(routes!(analytics::heatmap))
        .routes(routes!(analytics::series))
        .routes(routes!(analytics::backlog))
        .routes(routes!(analytics::reload))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::scan_now))
        .routes(routes!(alerts::get, alerts::change))
        .routes(routes!(alerts::requests))
        .routes(routes!(problems::list))
        .routes(routes!(problems::scan_now))
        .routes(routes!(problems::get, problems::change))
        .routes(routes!(problems::requests))
        .split_for_parts();
    utoipa::Modify::modify(&ProblemResponses, &mut document);
    (router, document)
}

/// Documents errors as they are served: every error answer as `application/problem+json`, and
/// on every operation the `400` of an unreadable request, where there is a body the `415` of one
/// not sent as JSON, and where there is a body or a query the `422` of invalid input.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = || {
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build()
        };
        let answer = |description: &str| RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", problem()).build());
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                let has_query = operation.parameters.iter().flatten().any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    if let (true, RefOr::T(response)) = (status.as_str() >= "400", response)
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response.content.insert("application/problem+json".into(), content);
                    }
                }
                responses.entry("400".into()).or_insert_with(|| answer("The request could not be read"));
                if has_body {
                    responses.entry("415".into()).or_insert_with(|| answer("The body was not sent as application/json"));
                }
                if has_body || has_query {
                    responses.entry("422".into()).or_insert_with(|| answer("The input is invalid, field by field, each with a stable code"));
                }
            }
        }
    }
}


async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (max_body, body_timeout) = (state.config.max_body_bytes, state.config.body_timeout);
    let (api, document) = api_routes();
    let document = std::sync::Arc::new(document);
    let api = api.route("/api/v1/openapi.json", get(move || async move { Json(document.as_ref().clone()) }));
    let open311 = open311::router(state.config.open311.max_media_bytes + max_body);
    Router::new()
        .merge(api)
        .nest(&state.config.open311.base_path.clone(), open311)
        .route("/media/{token}", get(open311::media))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::for_admins))
        .merge(web::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("handler panicked".into()).into_response()))
        .with_state(state)
}

/// Serves the monitoring address: `/metrics` without sign-in, and nothing else.
pub async fn serve_monitoring(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics::for_monitoring)).fallback(not_found).with_state(state);
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_schema_the_api_document_refers_to_is_in_it() {
        let doc = serde_json::to_value(api_routes().1).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        let missing: Vec<&str> = found
            .into_iter()
            .filter(|r| r.strip_prefix("#/components/schemas/").is_none_or(|name| doc["components"]["schemas"][name].is_null()))
            .collect();
        assert!(missing.is_empty(), "unresolved references: {missing:?}");
    }

    #[test]
    fn path_parameters_match_the_paths_and_errors_are_problem_details() {
        let doc = serde_json::to_value(api_routes().1).unwrap();
        let mut wrong = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let template: Vec<&str> = path.split('{').skip(1).filter_map(|p| p.split('}').next()).collect();
            for (method, operation) in item.as_object().unwrap() {
                let params = operation["parameters"].as_array().cloned().unwrap_or_default();
                let in_path: Vec<&str> = params.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect();
                if in_path.iter().any(|p| !template.contains(p)) || template.iter().any(|t| !in_path.contains(t)) {
                    wrong.push(format!("{method} {path}: path parameters {in_path:?}"));
                }
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let types: Vec<&String> = response["content"].as_object().map(|c| c.keys().collect()).unwrap_or_default();
                    if status.as_str() >= "400" && types.iter().any(|t| *t != "application/problem+json") {
                        wrong.push(format!("{method} {path}: {status} as {types:?}"));
                    }
                }
                if !operation["responses"]["400"].is_object() {
                    wrong.push(format!("{method} {path}: no 400"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
