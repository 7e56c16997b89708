//! Okno's HTTP edge: the JSON API under `/api/v1` with its OpenAPI document, Open311 GeoReport
//! v2, sign-in and the embedded web UI. Handlers are thin: they parse input into domain types,
//! call a use-case of `okno-app`, and render its answer or its error as problem details.
//! What every handler shares is in `state.rs`, the extractors in `extract.rs`; accepting and
//! limiting connections in `connections.rs`.

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
use axum::routing::{get, post};
use axum::{Json, Router};
use error::ApiError;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

pub use connections::{serve, REQUEST_GRACE};
pub use state::{AppState, Open311Config, ServerConfig};

/// The OpenAPI description of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Okno API", description = "Regional management center: requests from citizens and businesses, routing, deadlines."),
    paths(
        api::list_services, api::get_service, api::list_agencies, api::list_territories,
        api::create_request, api::list_requests, api::get_request, api::request_events, api::request_contact, api::act,
        api::track, api::citizen_act, api::public_request, web::ui_config, web::boundaries,
        auth::login, auth::logout, auth::me, auth::issue_token,
        admin::add_user, admin::audit_log, admin::jobs, report::scorecards_endpoint, queues::summary, queues::queue,
        triage::triage_queue, triage::request_prediction, triage::classify, triage::models, triage::reload_models,
        triage::list_rules, triage::add_rule, triage::disable_rule,
        places::reload_territories, places::location_issues,
        analytics::heatmap, analytics::series, analytics::backlog, analytics::reload,
        alerts::list, alerts::get, alerts::requests, alerts::change, alerts::scan_now,
        problems::list, problems::get, problems::requests, problems::change, problems::scan_now,
        duplicates::for_form, duplicates::for_request,
    ),
    components(schemas(okno_core::Channel, okno_core::Priority, okno_core::EventKind, okno_core::Role)),
    modifiers(&ProblemResponses)
)]
pub struct ApiDoc;

/// Documents errors as they are served: every error answer as `application/problem+json`, and
/// on every operation the `400` of an unreadable request and, where there is a body, the `415`
/// of one not sent as JSON.
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
            }
        }
    }
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (max_body, body_timeout) = (state.config.max_body_bytes, state.config.body_timeout);
    let api = Router::new()
        .route("/services", get(api::list_services))
        .route("/services/{code}", get(api::get_service))
        .route("/agencies", get(api::list_agencies))
        .route("/territories", get(api::list_territories))
        .route("/territories/boundaries", get(web::boundaries))
        .route("/ui-config", get(web::ui_config))
        .route("/requests", get(api::list_requests).post(api::create_request))
        .route("/requests/{id}", get(api::get_request))
        .route("/requests/{id}/events", get(api::request_events))
        .route("/requests/{id}/duplicates", get(duplicates::for_request))
        .route("/duplicates", get(duplicates::for_form))
        .route("/requests/{id}/contact", get(api::request_contact))
        .route("/requests/{id}/{action}", post(api::act))
        .route("/public/requests/{id}", get(api::public_request))
        .route("/track/{token}", get(api::track))
        .route("/track/{token}/{action}", post(api::citizen_act))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/auth/tokens", post(auth::issue_token))
        .route("/users", post(admin::add_user))
        .route("/audit", get(admin::audit_log))
        .route("/jobs", get(admin::jobs))
        .route("/scorecards", get(report::scorecards_endpoint))
        .route("/queues", get(queues::summary))
        .route("/queues/{queue}", get(queues::queue))
        .route("/triage", get(triage::triage_queue))
        .route("/requests/{id}/prediction", get(triage::request_prediction))
        .route("/classify", post(triage::classify))
        .route("/models", get(triage::models))
        .route("/models/reload", post(triage::reload_models))
        .route("/routing-rules", get(triage::list_rules).post(triage::add_rule))
        .route("/routing-rules/{id}", axum::routing::delete(triage::disable_rule))
        .route("/territories/reload", post(places::reload_territories))
        .route("/data-quality/locations", get(places::location_issues))
        .route("/analytics/heatmap", get(analytics::heatmap))
        .route("/analytics/series", get(analytics::series))
        .route("/analytics/backlog", get(analytics::backlog))
        .route("/analytics/reload", post(analytics::reload))
        .route("/alerts", get(alerts::list))
        .route("/alerts/scan", post(alerts::scan_now))
        .route("/alerts/{id}", get(alerts::get).post(alerts::change))
        .route("/alerts/{id}/requests", get(alerts::requests))
        .route("/problems", get(problems::list))
        .route("/problems/scan", post(problems::scan_now))
        .route("/problems/{id}", get(problems::get).post(problems::change))
        .route("/problems/{id}/requests", get(problems::requests))
        .route("/openapi.json", get(openapi))
        .fallback(not_found);
    let open311 = open311::router(state.config.open311.max_media_bytes + max_body);
    Router::new()
        .nest("/api/v1", api)
        .nest(&state.config.open311.base_path.clone(), open311)
        .route("/media/{token}", get(open311::media))
        .route("/healthz", get(|| async { "ok" }))
        .merge(web::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("handler panicked".into()).into_response()))
        .with_state(state)
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
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
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
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
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
