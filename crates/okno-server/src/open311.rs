//! Open311 GeoReport v2: discovery, services, service definitions, filing requests (form or
//! multipart with a photo), reading them, tokens, and the bulk CSV export — in XML and JSON,
//! chosen by the path's suffix. Filing goes through the same intake as every other channel.
//!
//! Behaviour follows the specification and what deployed clients expect: codes and ids are
//! strings, empty parameters count as absent, `api_key` may come in the query or the body,
//! both `services/{code}` and `service/{code}` answer, errors are a list of `{code, description}`.

use crate::error::ApiError;
use crate::xml::XmlWriter;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use okno_core::lifecycle::ALL_STATUSES;
use okno_core::privacy::mask_personal_data;
use okno_core::request::AttributeInput;
use okno_core::{AgencyCode, ServiceCode, Channel, Contact, Open311Status, Request as OknoRequest, RequestDraft, RequestFilter, RequestId, RequestOrder, Service};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Longest description Open311 carries (the GeoReport v2 schema's limit).
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// The default and largest number of requests one `GET requests` returns.
pub const MAX_REQUESTS: u32 = 1_000;
/// The default and longest date window of `GET requests`, in days.
pub const WINDOW_DAYS: i64 = 90;

/// Response format, from the path's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.json`
    Json,
    /// `.xml`
    Xml,
}

/// Splits `name.json` / `name.xml` into the name and its format.
pub fn split_format(file: &str) -> Option<(&str, Format)> {
    if let Some(name) = file.strip_suffix(".json") {
        Some((name, Format::Json))
    } else {
        file.strip_suffix(".xml").map(|name| (name, Format::Xml))
    }
}

/// An Open311 error response: a list of `{code, description}`.
#[derive(Debug)]
pub struct Open311Error {
    status: StatusCode,
    format: Format,
    descriptions: Vec<String>,
}

impl Open311Error {
    fn new(status: StatusCode, format: Format, description: impl Into<String>) -> Self {
        Open311Error { status, format, descriptions: vec![description.into()] }
    }

    fn bad(format: Format, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format, description)
    }

    fn from_api(format: Format, e: ApiError) -> Self {
        match e {
            ApiError::Invalid(fields) => Open311Error {
                status: StatusCode::BAD_REQUEST,
                format,
                descriptions: fields.iter().map(|f| format!("{}: {}", open311_field(&f.field), f.message)).collect(),
            },
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, format, "internal error")
            }
            ApiError::TooManyRequests(seconds) => Self::new(StatusCode::TOO_MANY_REQUESTS, format, format!("too many requests from this API key; retry in {seconds} s")),
            other => Self::bad(format, other.to_string()),
        }
    }
}

/// The Open311 name of one of Okno's input fields.
fn open311_field(field: &str) -> String {
    match field {
        "text" => "description".into(),
        "lon" => "long".into(),
        "address" => "address_string".into(),
        "contact.email" => "email".into(),
        "contact.phone" => "phone".into(),
        "contact.name" => "first_name".into(),
        f => match f.strip_prefix("attributes.") {
            Some(code) => format!("attribute[{code}]"),
            None => f.into(),
        },
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        let body = match self.format {
            Format::Json => {
                Value::Array(self.descriptions.iter().map(|d| json!({"code": code, "description": d})).collect()).to_string()
            }
            Format::Xml => {
                let mut w = XmlWriter::default();
                w.open("errors");
                for d in &self.descriptions {
                    w.open("error").leaf("code", Some(&code.to_string())).leaf("description", Some(d)).close("error");
                }
                w.close("errors");
                w.finish()
            }
        };
        (self.status, content_type(self.format), body).into_response()
    }
}

fn content_type(format: Format) -> [(header::HeaderName, HeaderValue); 1] {
    let value = match format {
        Format::Json => "application/json; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
    };
    [(header::CONTENT_TYPE, HeaderValue::from_static(value))]
}

type Result<T> = std::result::Result<T, Open311Error>;

/// Query or form parameters; an empty value counts as absent.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    /// Reads `application/x-www-form-urlencoded` pairs; text that is not UTF-8 once decoded is
    /// refused (never replaced with U+FFFD), as the JSON API refuses it.
    fn parse(raw: &[u8]) -> std::result::Result<Params, String> {
        let decode = |part: &[u8]| {
            let spaced: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
            percent_encoding::percent_decode(&spaced)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| format!("{:?} is not UTF-8 text once decoded", String::from_utf8_lossy(part)))
        };
        raw.split(|b| *b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.iter().position(|b| *b == b'=').map_or((pair, &b""[..]), |i| (&pair[..i], &pair[i + 1..]));
                Ok((decode(key)?, decode(value)?))
            })
            .collect::<std::result::Result<_, String>>()
            .map(Params)
    }

    /// [`Params::parse`] with a refusal in `format`.
    fn read(raw: &[u8], format: Format) -> Result<Params> {
        Params::parse(raw).map_err(|e| Open311Error::bad(format, e))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim())
    }

    /// `attribute[code]` and `attribute[code][]` values by code.
    fn attributes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("attribute[") else { continue };
            let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']'));
            if let Some(code) = code.filter(|c| !c.is_empty()) {
                let values = out.entry(code.to_owned()).or_default();
                if !v.trim().is_empty() {
                    values.push(v.trim().to_owned());
                }
            }
        }
        out
    }
}

/// Which language names and descriptions are given in: `locale=en` or an English
/// `Accept-Language` gives English; Russian otherwise.
fn english(params: &Params, headers: &HeaderMap) -> bool {
    params.get("locale").map(|l| l.starts_with("en")).unwrap_or_else(|| {
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim_start().starts_with("en"))
    })
}

fn check_jurisdiction(state: &AppState, params: &Params, format: Format) -> Result<()> {
    match (&state.config.open311.jurisdiction_id, params.get("jurisdiction_id")) {
        (Some(ours), Some(given)) if ours != given => {
            Err(Open311Error::new(StatusCode::NOT_FOUND, format, format!("jurisdiction_id {given:?} not found")))
        }
        _ => Ok(()),
    }
}

fn internal(format: Format) -> impl Fn(okno_store::StoreError) -> Open311Error {
    move |e| Open311Error::from_api(format, e.into())
}

/// Formats a time in the endpoint's time zone, ISO 8601 with its offset.
fn datetime(state: &AppState, t: DateTime<Utc>) -> String {
    t.with_timezone(&state.config.open311.timezone).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The Open311 routes, to be nested under the configured base path.
pub fn router(max_body: usize) -> Router<AppState> {
    Router::new()
        .route("/{file}", get(top_level).post(post_request))
        .route("/{kind}/{file}", get(item))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
}

async fn top_level(State(state): State<AppState>, Path(file): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let format = split_format(&file).map_or(Format::Xml, |(_, f)| f);
    let params = match Params::read(query.unwrap_or_default().as_bytes(), format) {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    let result = match split_format(&file) {
        Some(("discovery", format)) => discovery(&state, format),
        Some(("services", format)) => services(&state, &params, &headers, format).await,
        Some(("requests", format)) => requests(&state, &params, &headers, format).await,
        None if file == "requests.csv" => return bulk_csv(&state, &params).await.into_response(),
        Some((_, format)) => Err(Open311Error::new(StatusCode::NOT_FOUND, format, format!("no resource {file:?}"))),
        None => Err(Open311Error::new(StatusCode::NOT_FOUND, Format::Xml, "add .json or .xml to the path")),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn item(
    State(state): State<AppState>,
    Path((kind, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((name, format)) = split_format(&file) else {
        return Open311Error::new(StatusCode::NOT_FOUND, Format::Xml, "add .json or .xml to the path").into_response();
    };
    let params = match Params::read(query.unwrap_or_default().as_bytes(), format) {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    let result = match kind.as_str() {
        "services" | "service" => service_definition(&state, name, &params, format).await,
        "requests" | "request" => one_request(&state, name, &params, &headers, format).await,
        "tokens" => token(&state, name, &params, format).await,
        _ => Err(Open311Error::new(StatusCode::NOT_FOUND, format, format!("no resource {kind:?}"))),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn render(format: Format, json: Value, xml: impl FnOnce(&mut XmlWriter)) -> Response {
    match format {
        Format::Json => (content_type(format), json.to_string()).into_response(),
        Format::Xml => {
            let mut w = XmlWriter::default();
            xml(&mut w);
            (content_type(format), w.finish()).into_response()
        }
    }
}

fn discovery(state: &AppState, format: Format) -> Result<Response> {
    let base = &format!("{}{}", state.config.public_url, state.config.open311.base_path);
    let changeset = "2026-11-21T00:00:00Z";
    let json = json!({
        "changeset": changeset,
        "contact": "Regional management center",
        "key_service": "API keys are issued by the center's administrators",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base, "changeset": changeset,
            "type": "production", "formats": ["text/xml", "application/json"]}],
    });
    Ok(render(format, json, |w| {
        w.open("discovery").leaf("changeset", Some(changeset)).leaf("contact", Some("Regional management center"))
            .leaf("key_service", Some("API keys are issued by the center's administrators")).open("endpoints").open("endpoint")
            .leaf("specification", Some("http://wiki.open311.org/GeoReport_v2")).leaf("url", Some(base))
            .leaf("changeset", Some(changeset)).leaf("type", Some("production")).open("formats")
            .leaf("format", Some("text/xml")).leaf("format", Some("application/json"))
            .close("formats").close("endpoint").close("endpoints").close("discovery");
    }))
}

fn service_name(service: &Service, en: bool) -> &str {
    if en { &service.name_en } else { &service.name_ru }
}

async fn services(state: &AppState, params: &Params, headers: &HeaderMap, format: Format) -> Result<Response> {
    check_jurisdiction(state, params, format)?;
    let en = english(params, headers);
    let services: Vec<Service> = state.app.store.services().await.map_err(internal(format))?.into_iter().filter(|s| s.active).collect();
    let json = Value::Array(
        services
            .iter()
            .map(|s| json!({
                "service_code": s.code, "service_name": service_name(s, en),
                "description": if en { &s.description_en } else { &s.description_ru },
                "metadata": !s.attributes.is_empty(), "type": "realtime",
                "keywords": s.keywords.join(","), "group": s.group,
            }))
            .collect(),
    );
    Ok(render(format, json, |w| {
        w.open("services");
        for s in &services {
            w.open("service").leaf("service_code", Some(&s.code)).leaf("service_name", Some(service_name(s, en)))
                .leaf("description", Some(if en { &s.description_en } else { &s.description_ru }))
                .leaf("metadata", Some(if s.attributes.is_empty() { "false" } else { "true" }))
                .leaf("type", Some("realtime")).leaf("keywords", Some(&s.keywords.join(","))).leaf("group", Some(&s.group))
                .close("service");
        }
        w.close("services");
    }))
}

async fn service_definition(state: &AppState, code: &str, params: &Params, format: Format) -> Result<Response> {
    check_jurisdiction(state, params, format)?;
    let en = params.get("locale").is_some_and(|l| l.starts_with("en"));
    let service = state.app.store.service(code).await.map_err(internal(format))?.filter(|s| s.active)
        .ok_or_else(|| Open311Error::new(StatusCode::NOT_FOUND, format, format!("service_code {code:?} not found")))?;
    let mut attributes = service.attributes.clone();
    attributes.sort_by_key(|a| a.order);
    let describe = |a: &okno_core::Attribute| if en { a.description_en.clone() } else { a.description_ru.clone() };
    let json = json!({
        "service_code": service.code,
        "attributes": attributes.iter().map(|a| json!({
            "variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
            "datatype_description": Value::Null, "order": a.order, "description": describe(a),
            "values": a.values.iter().map(|v| json!({"key": v.key, "name": if en { &v.name_en } else { &v.name_ru }})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Ok(render(format, json.clone(), |w| {
        w.open("service_definition").leaf("service_code", Some(&service.code));
        for (a, j) in attributes.iter().zip(json["attributes"].as_array().into_iter().flatten()) {
            w.open("attribute").leaf("variable", Some(&a.variable.to_string())).leaf("code", Some(&a.code))
                .leaf("datatype", j["datatype"].as_str()).leaf("required", Some(&a.required.to_string()))
                .leaf("datatype_description", None).leaf("order", Some(&a.order.to_string()))
                .leaf("description", Some(&describe(a)));
            if !a.values.is_empty() {
                w.open("values");
                for v in &a.values {
                    w.open("value").leaf("key", Some(&v.key)).leaf("name", Some(if en { &v.name_en } else { &v.name_ru })).close("value");
                }
                w.close("values");
            }
            w.close("attribute");
        }
        w.close("service_definition");
    }))
}

/// Names needed to present requests: services and agencies by code.
struct Names {
    services: HashMap<ServiceCode, Service>,
    agencies: HashMap<AgencyCode, (String, String)>,
    english: bool,
}

impl Names {
    /// Loads the names `requests` need (none when there are no requests).
    async fn for_requests(state: &AppState, requests: &[OknoRequest], english: bool, format: Format) -> Result<Names> {
        if requests.is_empty() {
            return Ok(Names { services: HashMap::new(), agencies: HashMap::new(), english });
        }
        Self::load(state, english, format).await
    }

    async fn load(state: &AppState, english: bool, format: Format) -> Result<Names> {
        let services = state.app.store.services().await.map_err(internal(format))?.into_iter().map(|s| (s.code.clone(), s)).collect();
        let agencies = state.app.store.agencies().await.map_err(internal(format))?.into_iter().map(|a| (a.code, (a.name_ru, a.name_en))).collect();
        Ok(Names { services, agencies, english })
    }
}

/// One request as Open311 shows it.
struct Shown {
    fields: Vec<(&'static str, Option<String>)>,
    lat: Option<f64>,
    long: Option<f64>,
}

fn show(state: &AppState, names: &Names, r: &OknoRequest) -> Shown {
    let status = match r.status.open311() {
        Open311Status::Open => "open",
        Open311Status::Closed => "closed",
    };
    let notes = match &r.last_answer {
        Some(answer) => format!("{}: {}", r.status.as_str(), mask_personal_data(answer)),
        None => r.status.as_str().to_owned(),
    };
    let service_name = names.services.get(&r.service_code).map(|s| service_name(s, names.english).to_owned());
    let agency = r.agency.as_ref().and_then(|a| names.agencies.get(a)).map(|(ru, en)| if names.english { en.clone() } else { ru.clone() });
    let description: String = mask_personal_data(&r.text).chars().take(MAX_DESCRIPTION_CHARS).collect();
    Shown {
        fields: vec![
            ("service_request_id", Some(r.id.to_string())),
            ("status", Some(status.to_owned())),
            ("status_notes", Some(notes)),
            ("service_name", service_name),
            ("service_code", Some(r.service_code.to_string())),
            ("description", Some(description)),
            ("agency_responsible", agency),
            ("service_notice", None),
            ("requested_datetime", Some(datetime(state, r.created_at))),
            ("updated_datetime", Some(datetime(state, r.updated_at))),
            ("expected_datetime", r.due_at.map(|t| datetime(state, t))),
            ("address", r.address.as_deref().map(|a| mask_personal_data(a).into_owned())),
            ("address_id", None),
            ("zipcode", None),
            ("media_url", r.media_url.clone()),
        ],
        lat: r.coordinates.map(|c| c.lat),
        long: r.coordinates.map(|c| c.lon),
    }
}

fn render_requests(state: &AppState, names: &Names, requests: &[OknoRequest], format: Format) -> Response {
    let shown: Vec<Shown> = requests.iter().map(|r| show(state, names, r)).collect();
    let json = Value::Array(
        shown
            .iter()
            .map(|s| {
                let mut o: serde_json::Map<String, Value> = s.fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
                o.insert("lat".into(), json!(s.lat));
                o.insert("long".into(), json!(s.long));
                Value::Object(o)
            })
            .collect(),
    );
    render(format, json, |w| {
        w.open("service_requests");
        for s in &shown {
            w.open("request");
            for (k, v) in &s.fields {
                w.leaf(k, v.as_deref());
                if *k == "zipcode" {
                    w.leaf("lat", s.lat.map(|v| v.to_string()).as_deref()).leaf("long", s.long.map(|v| v.to_string()).as_deref());
                }
            }
            w.close("request");
        }
        w.close("service_requests");
    })
}

fn parse_date(format: Format, name: &str, value: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Open311Error::bad(format, format!("{name}: {value:?} is not an ISO 8601 date and time with a time zone, e.g. 2025-03-01T00:00:00+03:00")))
}

/// The filter a `GET requests` asks for, with the specification's default window.
fn requests_filter(params: &Params, format: Format, now: DateTime<Utc>, capped: bool) -> Result<RequestFilter> {
    let mut filter = RequestFilter { limit: MAX_REQUESTS, order: RequestOrder::NewestCreated, ..Default::default() };
    if let Some(ids) = params.get("service_request_id") {
        filter.ids = ids.split(',').filter_map(|id| id.trim().parse().ok()).collect();
        if filter.ids.is_empty() {
            filter.ids.push(RequestId(-1));
        }
        return Ok(filter);
    }
    if let Some(codes) = params.get("service_code") {
        filter.services = codes.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).map(ServiceCode::from).collect();
    }
    if let Some(statuses) = params.get("status") {
        for s in statuses.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let wanted = match s {
                "open" => Open311Status::Open,
                "closed" => Open311Status::Closed,
                other => return Err(Open311Error::bad(format, format!("status: {other:?} is neither open nor closed"))),
            };
            filter.statuses.extend(ALL_STATUSES.iter().copied().filter(|st| st.open311() == wanted));
        }
    }
    let start = params.get("start_date").map(|v| parse_date(format, "start_date", v)).transpose()?;
    let end = params.get("end_date").map(|v| parse_date(format, "end_date", v)).transpose()?;
    let window = Duration::days(WINDOW_DAYS);
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (Some(s), Some(e)),
        (Some(s), None) if capped => (Some(s), Some(s + window)),
        (None, Some(e)) if capped => (Some(e - window), Some(e)),
        (None, None) if capped => (Some(now - window), None),
        other => other,
    };
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(Open311Error::bad(format, "start_date must not be after end_date"));
        }
        if capped && e - s > window {
            return Err(Open311Error::bad(format, format!("the range between start_date and end_date must not exceed {WINDOW_DAYS} days")));
        }
    }
    filter.created_from = start;
    filter.created_to = end;
    let number = |name: &str, default: u32| -> Result<u32> {
        params.get(name).map_or(Ok(default), |v| {
            v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| Open311Error::bad(format, format!("{name}: must be a whole number from 1")))
        })
    };
    if capped {
        filter.limit = number("page_size", MAX_REQUESTS)?.min(MAX_REQUESTS);
        filter.offset = (number("page", 1)? - 1).saturating_mul(filter.limit);
    }
    Ok(filter)
}

async fn requests(state: &AppState, params: &Params, headers: &HeaderMap, format: Format) -> Result<Response> {
    check_jurisdiction(state, params, format)?;
    let filter = requests_filter(params, format, Utc::now(), true)?;
    let requests = state.app.store.list_requests(&filter).await.map_err(internal(format))?;
    let names = Names::for_requests(state, &requests, english(params, headers), format).await?;
    Ok(render_requests(state, &names, &requests, format))
}

async fn one_request(state: &AppState, id: &str, params: &Params, headers: &HeaderMap, format: Format) -> Result<Response> {
    check_jurisdiction(state, params, format)?;
    let not_found = || Open311Error::new(StatusCode::NOT_FOUND, format, format!("service_request_id {id:?} not found"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let request = state.app.store.request(RequestId(id)).await.map_err(internal(format))?.ok_or_else(not_found)?;
    let names = Names::load(state, english(params, headers), format).await?;
    Ok(render_requests(state, &names, &[request], format))
}

async fn token(state: &AppState, token: &str, params: &Params, format: Format) -> Result<Response> {
    check_jurisdiction(state, params, format)?;
    let request = state.app.store.request_by_token(token).await.map_err(internal(format))?
        .ok_or_else(|| Open311Error::new(StatusCode::NOT_FOUND, format, format!("token {token:?} not found")))?;
    let id = request.id.to_string();
    Ok(render(format, json!([{"service_request_id": id, "token": token}]), |w| {
        w.open("service_requests").open("request").leaf("service_request_id", Some(&id)).leaf("token", Some(token))
            .close("request").close("service_requests");
    }))
}

/// A `media` file as uploaded.
struct Upload {
    content_type: String,
    bytes: Bytes,
}

async fn read_body(request: Request, state: &AppState, format: Format) -> Result<(Params, Option<Upload>)> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| Open311Error::new(e.status(), format, e.body_text()))?;
        return Ok((Params::read(&bytes, format)?, None));
    }
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| Open311Error::bad(format, e.body_text()))?;
    let mut params = Params::default();
    let mut upload = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| Open311Error::bad(format, e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "media" {
            let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
            let bytes = field.bytes().await.map_err(|e| Open311Error::bad(format, e.body_text()))?;
            if !bytes.is_empty() {
                upload = Some(Upload { content_type, bytes });
            }
        } else {
            let bytes = field.bytes().await.map_err(|e| Open311Error::bad(format, e.body_text()))?;
            let value = String::from_utf8(bytes.to_vec()).map_err(|_| Open311Error::bad(format, format!("{name}: not UTF-8 text")))?;
            params.0.push((name, value));
        }
    }
    Ok((params, upload))
}

async fn post_request(State(state): State<AppState>, Path(file): Path<String>, request: Request) -> Response {
    let format = match split_format(&file) {
        Some(("requests", format)) => format,
        Some((_, format)) => return Open311Error::new(StatusCode::METHOD_NOT_ALLOWED, format, "only requests accept POST").into_response(),
        None => return Open311Error::new(StatusCode::NOT_FOUND, Format::Xml, "add .json or .xml to the path").into_response(),
    };
    let query = Params::read(request.uri().query().unwrap_or_default().as_bytes(), format);
    let result = match (query, read_body(request, &state, format).await) {
        (Ok(query), Ok((mut params, upload))) => {
            let mut all = query.0;
            all.append(&mut params.0);
            file_request(&state, Params(all), upload, format).await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn file_request(state: &AppState, params: Params, upload: Option<Upload>, format: Format) -> Result<Response> {
    let forbidden = |d: &str| Open311Error::new(StatusCode::FORBIDDEN, format, d);
    let key = params.get("api_key").ok_or_else(|| forbidden("api_key is required to file a request"))?;
    let client = okno_app::access::api_key_client(&state.app, key).await.map_err(|e| Open311Error::from_api(format, e.into()))?
        .ok_or_else(|| forbidden("api_key is not valid"))?;
    state.limits.api_key.check(&client).map_err(|e| Open311Error::from_api(format, e.into()))?;
    check_jurisdiction(state, &params, format)?;
    let code = params.get("service_code").ok_or_else(|| Open311Error::bad(format, "service_code: is required"))?;
    let service = state.app.store.service(code).await.map_err(internal(format))?
        .ok_or_else(|| Open311Error::bad(format, format!("service_code: no service {code:?}")))?;
    let number = |name: &str| -> Result<Option<f64>> {
        params.get(name).map(|v| v.parse::<f64>().map_err(|_| Open311Error::bad(format, format!("{name}: {v:?} is not a number")))).transpose()
    };
    let (lat, lon) = (number("lat")?, number("long")?);
    let address = params.get("address_string").or(params.get("address_id")).map(String::from);
    if (lat.is_none() || lon.is_none()) && address.is_none() {
        return Err(Open311Error::bad(format, "a location is required: lat and long, address_string or address_id"));
    }
    let description = params.get("description").map(String::from);
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(Open311Error::bad(format, format!("description: must be at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    let media_url = match upload {
        Some(upload) => Some(store_upload(state, upload, format).await?),
        None => params.get("media_url").map(String::from),
    };
    let name = [params.get("first_name"), params.get("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let draft = RequestDraft {
        service_code: Some(service.code.to_string()),
        text: Some(description.unwrap_or_else(|| service.name_ru.clone())),
        lat,
        lon,
        address,
        media_url,
        attributes: params.attributes().into_iter().map(|(k, v)| (k, AttributeInput::Many(v))).collect(),
        contact: Contact {
            name: Some(name).filter(|n| !n.is_empty()),
            phone: params.get("phone").map(String::from),
            email: params.get("email").map(String::from),
        },
        ..RequestDraft::default()
    };
    let created = okno_app::intake::submit(&state.app, draft, Channel::Open311, Some(format!("open311:{client}")), Utc::now())
        .await
        .map_err(|e| Open311Error::from_api(format, e.into()))?;
    let id = created.request.id.to_string();
    let agency = match &created.request.agency {
        Some(code) => state.app.store.agencies().await.map_err(internal(format))?.into_iter().find(|a| &a.code == code).map(|a| a.name_ru),
        None => None,
    };
    let mut notice = format!("Обращение зарегистрировано. Ответственный: {}.", agency.as_deref().unwrap_or("будет назначен"));
    if let Some(due) = created.request.due_at {
        notice += &format!(" Ответ ожидается до {}.", due.with_timezone(&state.config.open311.timezone).format("%d.%m.%Y"));
    }
    Ok(render(format, json!([{"service_request_id": id, "service_notice": notice, "account_id": Value::Null}]), |w| {
        w.open("service_requests").open("request").leaf("service_request_id", Some(&id)).leaf("service_notice", Some(&notice))
            .leaf("account_id", None).close("request").close("service_requests");
    }))
}

async fn store_upload(state: &AppState, upload: Upload, format: Format) -> Result<String> {
    if upload.bytes.len() > state.config.open311.max_media_bytes {
        return Err(Open311Error::new(StatusCode::PAYLOAD_TOO_LARGE, format, "media: the file is too large"));
    }
    let token = okno_app::media::store_photo(&state.app, &upload.content_type, &upload.bytes, Utc::now())
        .await
        .map_err(|e| Open311Error::from_api(format, e.into()))?;
    Ok(format!("{}/media/{token}", state.config.public_url))
}

/// Serves an uploaded photo. Only checked image types are ever stored; they are served with a
/// sandboxing content security policy all the same.
pub async fn media(State(state): State<AppState>, Path(token): Path<String>) -> std::result::Result<Response, ApiError> {
    let media = okno_app::media::photo(&state.app, &token).await?;
    let content_type = HeaderValue::from_str(&media.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400, immutable")),
        ],
        media.bytes,
    )
        .into_response())
}

/// The columns of the bulk export.
pub const BULK_COLUMNS: [&str; 17] = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
    "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
    "lat", "long", "media_url",
];

/// Pages read at a time by the bulk export.
const BULK_PAGE: u32 = 5_000;

/// `GET requests.csv`: every request matching the filters (no 90-day or 1,000-item cap), as CSV
/// with the GeoReport fields. Carries no personal data.
async fn bulk_csv(state: &AppState, params: &Params) -> Result<Response> {
    let format = Format::Json;
    check_jurisdiction(state, params, format)?;
    let mut filter = requests_filter(params, format, Utc::now(), false)?;
    filter.limit = BULK_PAGE;
    filter.order = RequestOrder::NewestId;
    let names = Names::load(state, params.get("locale").is_some_and(|l| l.starts_with("en")), format).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(BULK_COLUMNS).map_err(|e| Open311Error::from_api(format, ApiError::Internal(e.to_string())))?;
    loop {
        let page = state.app.store.list_requests(&filter).await.map_err(internal(format))?;
        for r in &page {
            let s = show(state, &names, r);
            let mut row: Vec<String> = s.fields.into_iter().map(|(_, v)| v.unwrap_or_default()).collect();
            row.insert(14, s.lat.map(|v| v.to_string()).unwrap_or_default());
            row.insert(15, s.long.map(|v| v.to_string()).unwrap_or_default());
            out.write_record(&row).map_err(|e| Open311Error::from_api(format, ApiError::Internal(e.to_string())))?;
        }
        match page.last() {
            Some(last) if page.len() == BULK_PAGE as usize => filter.before_id = Some(last.id),
            _ => break,
        }
    }
    let body = out.into_inner().map_err(|e| Open311Error::from_api(format, ApiError::Internal(e.to_string())))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"))], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_treat_empty_as_absent_and_collect_attributes() {
        let p = Params::parse(b"jurisdiction_id=&api_key=k&attribute[size]=small&attribute[kinds][]=a&attribute[kinds][]=b&attribute[]=x").unwrap();
        assert_eq!(p.get("jurisdiction_id"), None);
        assert_eq!(p.get("api_key"), Some("k"));
        let attrs = p.attributes();
        assert_eq!(attrs["size"], ["small"]);
        assert_eq!(attrs["kinds"], ["a", "b"]);
        assert_eq!(attrs.len(), 2);
    }

    #[test]
    fn form_text_is_decoded_strictly() {
        let p = Params::parse(b"description=%D0%AF%D0%BC%D0%B0+%D1%83+%D0%B4%D0%BE%D0%BC%D0%B0&a&b=1%2B1").unwrap();
        assert_eq!((p.get("description"), p.get("b")), (Some("Яма у дома"), Some("1+1")));
        assert!(Params::parse(b"description=%FF%FE").is_err(), "not UTF-8");
        assert!(Params::parse(b"description=\xd0").is_err(), "raw bytes that are not UTF-8");
    }

    #[test]
    fn formats_come_from_the_suffix() {
        assert_eq!(split_format("services.json"), Some(("services", Format::Json)));
        assert_eq!(split_format("spb-189.xml"), Some(("spb-189", Format::Xml)));
        assert_eq!(split_format("services"), None);
    }

    #[test]
    fn the_default_window_is_ninety_days_and_longer_ranges_are_refused() {
        let now = DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let f = requests_filter(&Params::default(), Format::Json, now, true).unwrap();
        assert_eq!(f.created_from, Some(now - Duration::days(90)));
        assert_eq!(f.limit, MAX_REQUESTS);
        let long = Params::parse(b"start_date=2025-01-01T00:00:00Z&end_date=2025-05-01T00:00:00Z").unwrap();
        assert!(requests_filter(&long, Format::Json, now, true).is_err());
        assert!(requests_filter(&long, Format::Json, now, false).is_ok(), "bulk export has no cap");
        let bad = Params::parse(b"start_date=yesterday").unwrap();
        assert!(requests_filter(&bad, Format::Json, now, true).is_err());
        let paged = Params::parse(b"page=3&page_size=50&status=open").unwrap();
        let f = requests_filter(&paged, Format::Json, now, true).unwrap();
        assert_eq!((f.limit, f.offset), (50, 100));
        assert!(f.statuses.iter().all(|s| s.open311() == Open311Status::Open));
    }
}
