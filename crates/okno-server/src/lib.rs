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
        .routes(routes!(places::search))
        .routes(routes!(web::ui_config))
        .routes(routes!(api::list_requests, api::create_request))
        .routes(routes!(api::get_request))
        .routes(routes!(api::request_events))
        .routes(routes!(duplicates::for_request))
        .routes(routes!(duplicates::for_form))
        .routes(routes!(api::request_contact))
        .routes(routes!(api::request_actions))
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
    utoipa::Modify::modify(&SignIn, &mut document);
    utoipa::Modify::modify(&NoControlCharacters, &mut document);
    (router, document)
}

/// What every text in a JSON body or a query may hold: anything but control characters other
/// than tabs and line breaks (see [`extract::ApiJson`] and [`extract::ApiQuery`]).
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// Documents the rule every JSON body and query is read by ([`extract::ApiJson`],
/// [`extract::ApiQuery`]): each text field of a body's schema or a query parameter, and of the
/// schemas they name, that has no pattern, format or list of values of its own gets
/// [`TEXT_PATTERN`].
struct NoControlCharacters;

impl utoipa::Modify for NoControlCharacters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let mut pending: Vec<String> = Vec::new();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
                let bodies = operation.request_body.iter_mut().flat_map(|b| b.content.values_mut());
                for schema in bodies.filter_map(|c| c.schema.as_mut()) {
                    constrain_texts(schema, &mut pending);
                }
                let queries = operation.parameters.iter_mut().flatten().filter(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
                for schema in queries.filter_map(|p| p.schema.as_mut()) {
                    constrain_texts(schema, &mut pending);
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else { return };
        let mut seen = std::collections::BTreeSet::new();
        while let Some(name) = pending.pop() {
            if seen.insert(name.clone())
                && let Some(RefOr::T(schema)) = components.schemas.get_mut(&name)
            {
                constrain_schema(schema, &mut pending);
            }
        }
    }
}

/// Constrains the texts of `schema` in place, or notes the component it names in `pending`.
fn constrain_texts(schema: &mut utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>, pending: &mut Vec<String>) {
    match schema {
        utoipa::openapi::RefOr::Ref(named) => pending.push(named.ref_location.rsplit('/').next().unwrap_or_default().to_owned()),
        utoipa::openapi::RefOr::T(schema) => constrain_schema(schema, pending),
    }
}

fn constrain_schema(schema: &mut utoipa::openapi::schema::Schema, pending: &mut Vec<String>) {
    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema, SchemaType, Type};
    match schema {
        Schema::Object(object) => {
            let text = match &object.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(types) => types.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if text && object.pattern.is_none() && object.format.is_none() && object.enum_values.is_none() {
                object.pattern = Some(TEXT_PATTERN.to_owned());
            }
            object.properties.values_mut().for_each(|p| constrain_texts(p, pending));
            if let Some(AdditionalProperties::RefOr(values)) = object.additional_properties.as_deref_mut() {
                constrain_texts(values, pending);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(item) = &mut array.items {
                constrain_texts(item, pending);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(|s| constrain_texts(s, pending)),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(|s| constrain_texts(s, pending)),
        Schema::AllOf(all) => all.items.iter_mut().for_each(|s| constrain_texts(s, pending)),
        _ => {}
    }
}

/// The operations anyone may call without signing in (method, path); every other operation of
/// the API answers 401 to a caller who has not (the authorization tests hold the two together).
pub const PUBLIC_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/api/v1/services"),
    ("GET", "/api/v1/services/{code}"),
    ("GET", "/api/v1/agencies"),
    ("GET", "/api/v1/territories"),
    ("GET", "/api/v1/territories/boundaries"),
    ("GET", "/api/v1/ui-config"),
    ("GET", "/api/v1/duplicates"),
    ("GET", "/api/v1/places/search"),
    ("POST", "/api/v1/classify"),
    ("POST", "/api/v1/requests"),
    ("GET", "/api/v1/track/{token}"),
    ("POST", "/api/v1/track/{token}/{action}"),
    ("GET", "/api/v1/public/requests/{id}"),
    ("GET", "/api/v1/analytics/heatmap"),
    ("GET", "/api/v1/analytics/series"),
    ("POST", "/api/v1/auth/login"),
];

/// Documents how staff sign in — a bearer token, or the browser session's cookie (whose writes
/// also carry `X-CSRF-Token`) — and, on every operation not in [`PUBLIC_OPERATIONS`], that
/// one of them is required and the `401` of a caller without.
struct SignIn;

impl utoipa::Modify for SignIn {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A token from POST /api/v1/auth/tokens")).build(),
        ));
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            auth::SESSION_COOKIE,
            "The browser session from POST /api/v1/auth/login; requests that change something also send X-CSRF-Token",
        ))));
        let unauthenticated = ResponseBuilder::new()
            .description("Not signed in")
            .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build())
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [("GET", &mut item.get), ("PUT", &mut item.put), ("POST", &mut item.post), ("DELETE", &mut item.delete), ("PATCH", &mut item.patch)];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                if PUBLIC_OPERATIONS.contains(&(method, path.as_str())) {
                    continue;
                }
                operation.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new()), SecurityRequirement::new("session", Vec::<String>::new())]);
                operation.responses.responses.entry("401".into()).or_insert_with(|| RefOr::T(unauthenticated.clone()));
            }
        }
    }
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
    fn the_documented_body_text_pattern_refuses_what_bodies_refuse() {
        let pattern = regex::Regex::new(TEXT_PATTERN).unwrap();
        for text in ["", "Яма\n\tна дороге\r", "\u{a0}", "\u{a0}x"] {
            assert!(pattern.is_match(text) && !okno_core::request::has_control_chars(text), "{text:?}");
        }
        for text in ["\u{0}", "a\u{1f}", "\u{7f}", "\u{85}", "\u{9f}b"] {
            assert!(!pattern.is_match(text) && okno_core::request::has_control_chars(text), "{text:?}");
        }
        let doc = serde_json::to_value(api_routes().1).unwrap();
        assert_eq!(doc["components"]["schemas"]["Contact"]["properties"]["name"]["pattern"], TEXT_PATTERN);
        // The texts that must not be blank repeat one pattern (utoipa takes only literals).
        for (schema, field) in [("RequestDraft", "text"), ("ClassifyInput", "text"), ("TokenRequest", "name")] {
            assert_eq!(doc["components"]["schemas"][schema]["properties"][field]["pattern"], okno_core::request::REQUIRED_TEXT_PATTERN, "{schema}.{field}");
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
