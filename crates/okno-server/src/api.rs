//! The JSON API under `/api/v1`: catalog, agencies, territories, requests and their lifecycle.

use okno_core::ErrorCode;
use crate::auth::{Caller, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CommaList};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use okno_core::lifecycle::ALL_ACTIONS;
use okno_app::requests::PublicRequest;
use okno_core::workflow::{ActionInput, CITIZEN_ACTIONS};
use okno_core::{Action, Agency, AgencyCode, ServiceCode, TerritoryCode, BBox, Channel, Contact, Event, FieldErrors, Principal, Request, RequestDraft, RequestFilter, RequestId, Service, Status, Territory};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most requests returned by one list call.
pub const MAX_PAGE: u32 = 500;

/// The service catalog.
#[utoipa::path(get, path = "/api/v1/services", tag = "catalog", responses((status = 200, body = [Service])))]
pub async fn list_services(State(state): State<AppState>) -> Result<Json<Vec<Service>>, ApiError> {
    Ok(Json(state.app.store.services().await?))
}

/// One service with its form fields.
#[utoipa::path(get, path = "/api/v1/services/{code}", tag = "catalog", params(("code" = String, Path, description = "Service code")),
    responses((status = 200, body = Service), (status = 404, body = Problem)))]
pub async fn get_service(State(state): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<Json<Service>, ApiError> {
    state.app.store.service(&code).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no service {code:?}")))
}

/// All agencies.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "catalog", responses((status = 200, body = [Agency])))]
pub async fn list_agencies(State(state): State<AppState>) -> Result<Json<Vec<Agency>>, ApiError> {
    Ok(Json(state.app.store.agencies().await?))
}

/// All territories.
#[utoipa::path(get, path = "/api/v1/territories", tag = "catalog", responses((status = 200, body = [Territory])))]
pub async fn list_territories(State(state): State<AppState>) -> Result<Json<Vec<Territory>>, ApiError> {
    Ok(Json(state.app.store.territories().await?))
}

/// Files a request. Anyone may; anonymous callers are rate-limited per address. A repeated
/// `source_id` from the same client, or a repeated `Idempotency-Key` header with the same body,
/// returns the first request (200) instead of a new one (201).
/// The answer carries the tracking token only for the citizen who filed it, not for staff
/// entering a request on a citizen's behalf.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = RequestDraft,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "A key of the client's choosing (e.g. a UUID), 1–255 visible ASCII characters: a retry with the same key and body returns the first request")),
    responses((status = 201, body = PublicRequest), (status = 200, body = PublicRequest),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create_request(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(draft): ApiJson<RequestDraft>,
) -> Result<Response, ApiError> {
    let channel = draft.channel.unwrap_or(Channel::Api);
    if caller.principal.is_none() {
        state.limits.submit.check(&caller.ip)?;
    }
    let mut draft = draft;
    let mut source_system = okno_app::requests::intake_source(caller.principal.as_ref(), channel, &draft)?;
    if let Some(key) = headers.get("idempotency-key") {
        let key = key.to_str().map_err(|_| ApiError::from(okno_app::AppError::field("Idempotency-Key", ErrorCode::InvalidFormat, "must be visible ASCII")))?;
        source_system = okno_app::requests::with_idempotency_key(key, source_system, &mut draft)?;
    }
    let created = okno_app::intake::submit(&state.app, draft, channel, source_system, Utc::now()).await?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    let location = match caller.principal {
        None => format!("/api/v1/track/{}", created.request.token),
        Some(_) => format!("/api/v1/requests/{}", created.request.id),
    };
    let view = okno_app::requests::filed_view(&state.app, caller.principal.as_ref(), created.request).await?;
    let mut response = (status, Json(view)).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Filters for listing requests. Lists are comma-separated; times are RFC 3339.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Service codes.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    #[serde(default)]
    pub service: CommaList<String>,
    /// Statuses.
    #[param(value_type = Option<Vec<Status>>, style = Form, explode = false)]
    #[serde(default)]
    pub status: CommaList<Status>,
    /// Agency code.
    pub agency: Option<String>,
    /// Territory code.
    pub territory: Option<String>,
    /// Topic (source category), as the heat map's `category`.
    pub category: Option<String>,
    /// Only requests placed in this H3 cell of the heat map (its `cell`, resolution 0–10).
    #[param(pattern = "^([0-9a-f]{15})?$")]
    pub cell: Option<String>,
    /// Channel.
    #[param(inline)]
    pub channel: Option<Channel>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Only requests whose point lies in `min_lon,min_lat,max_lon,max_lat`.
    #[param(inline)]
    pub bbox: Option<BBox>,
    /// Words in the text or address.
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only the duplicates merged into this request.
    pub duplicate_of: Option<RequestId>,
    /// `newest` first (the default, paged by `cursor`), or `due`: the soonest deadline first,
    /// one page of up to `limit` (for a desk that works the oldest deadline first; no
    /// `next_cursor`).
    #[param(inline)]
    pub order: Option<ListOrder>,
}

query_names! {
    /// The order of a list of requests.
    ListOrder {
        /// Newest first.
        Newest,
        /// Soonest deadline first.
        Due,
    }
}

/// Which page of a list of requests.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The store's filter of this page as `user` may read it; the caller narrows it further.
    pub(crate) fn into_filter(self, user: &Principal) -> Result<RequestFilter, ApiError> {
        ListQuery { cursor: self.cursor, limit: self.limit, ..Default::default() }.into_filter(user)
    }
}

/// A page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    /// The requests, newest first.
    pub items: Vec<Request>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    /// The store's filter for this query as `user` may run it (agency staff: their agency only).
    pub(crate) fn into_filter(self, user: &Principal) -> Result<RequestFilter, ApiError> {
        let mut errors = FieldErrors::default();
        let before_id = present(&self.cursor).and_then(|c| {
            c.parse::<RequestId>().map_err(|_| errors.add("cursor", ErrorCode::InvalidFormat, "is not a cursor returned by this API")).ok()
        });
        let order = match self.order {
            None | Some(ListOrder::Newest) => okno_core::request::RequestOrder::NewestId,
            Some(ListOrder::Due) => okno_core::request::RequestOrder::DueSoonest,
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            errors.add("limit", ErrorCode::OutOfRange, format!("must be 1 to {MAX_PAGE}"));
        }
        let h3_cells = present(&self.cell).and_then(|c| okno_app::places::stored_cells_within(c).map_err(|why| errors.add("cell", ErrorCode::InvalidFormat, why)).ok());
        let agency = okno_app::requests::scope_agency(user, present(&self.agency).map(AgencyCode::from))?;
        let filter = RequestFilter {
            services: self.service.0.into_iter().map(ServiceCode::from).collect(),
            statuses: self.status.0,
            agency,
            territory: present(&self.territory).map(TerritoryCode::from),
            category: present(&self.category).map(String::from),
            h3_cells,
            channel: self.channel,
            created_from: self.created_from,
            created_to: self.created_to,
            bbox: self.bbox,
            text: present(&self.q).map(String::from),
            before_id,
            limit,
            duplicate_of: self.duplicate_of,
            order,
            ..RequestFilter::default()
        };
        Ok(errors.finish(filter)?)
    }
}

/// Lists requests with filters, newest first, a page at a time. Agency staff see their agency's only.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(ListQuery),
    responses((status = 200, body = RequestPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_requests(
    State(state): State<AppState>,
    Staff(user): Staff,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RequestPage>, ApiError> {
    Ok(Json(request_page(&state, &user, query.into_filter(&user)?).await?))
}

/// A page of the requests `filter` finds, as `user` sees them, with the cursor of the next.
pub(crate) async fn request_page(state: &AppState, user: &Principal, filter: RequestFilter) -> Result<RequestPage, ApiError> {
    let items = okno_app::requests::list_for(&state.app, user, &filter).await?;
    let next_cursor = (items.len() == filter.limit as usize && filter.order == okno_core::request::RequestOrder::NewestId)
        .then(|| items.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(RequestPage { items, next_cursor })
}

/// One request (staff).
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = Request), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_request(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<RequestId>) -> Result<Json<Request>, ApiError> {
    Ok(Json(okno_app::requests::view(&state.app, &user, id).await?))
}

/// A request's whole timeline (staff).
#[utoipa::path(get, path = "/api/v1/requests/{id}/events", tag = "requests", params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = [Event]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn request_events(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<RequestId>) -> Result<Json<Vec<Event>>, ApiError> {
    Ok(Json(okno_app::requests::events(&state.app, &user, id).await?))
}

/// The citizen's contact. Every read and every refused attempt is written to the audit log;
/// analysts may not read it. Never cached.
#[utoipa::path(get, path = "/api/v1/requests/{id}/contact", tag = "requests", params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = Contact), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn request_contact(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<RequestId>) -> Result<Response, ApiError> {
    let contact = okno_app::requests::contact(&state.app, &user, id, Utc::now()).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(contact)).into_response())
}

fn parse_action(name: &str) -> Result<Action, ApiError> {
    let wanted = name.replace('-', "_");
    ALL_ACTIONS
        .into_iter()
        .find(|a| a.as_str() == wanted)
        .ok_or_else(|| ApiError::NotFound(format!("no action {name:?}")))
}

/// The names of `actions` as a path carries them (`intermediate-answer`).
fn action_names(actions: &[Action]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(actions.iter().map(|a| a.path_name())))
        .into()
}

/// The action in `/requests/{id}/{action}`: any lifecycle action.
pub struct StaffActionName;

impl utoipa::PartialSchema for StaffActionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        action_names(&ALL_ACTIONS)
    }
}

impl ToSchema for StaffActionName {}

/// The action in `/track/{token}/{action}`: what the citizen may do.
pub struct CitizenActionName;

impl utoipa::PartialSchema for CitizenActionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        action_names(&CITIZEN_ACTIONS)
    }
}

impl ToSchema for CitizenActionName {}

/// The actions the caller may take on a request now, each with the fields its body requires
/// and takes: the request page offers these and no others (staff who may read it).
#[utoipa::path(get, path = "/api/v1/requests/{id}/actions", tag = "requests", params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = [okno_app::requests::ActionChoice]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn request_actions(State(state): State<AppState>, Staff(user): Staff, ApiPath(id): ApiPath<RequestId>) -> Result<Json<Vec<okno_app::requests::ActionChoice>>, ApiError> {
    Ok(Json(okno_app::requests::actions(&state.app, &user, id).await?))
}

/// Performs a lifecycle action: `route`, `start`, `intermediate-answer`, `answer`,
/// `extend-deadline`, `pause-deadline`, `resume-deadline`, `close`, `reopen`, `reject`,
/// `mark-duplicate`, `rate`, `comment`, `reclassify`.
#[utoipa::path(post, path = "/api/v1/requests/{id}/{action}", tag = "requests", request_body = ActionInput,
    params(("id" = i64, Path), ("action" = inline(StaffActionName), Path)),
    responses((status = 200, body = Request), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn act(
    State(state): State<AppState>,
    Staff(user): Staff,
    ApiPath((id, action)): ApiPath<(RequestId, String)>,
    ApiJson(input): ApiJson<ActionInput>,
) -> Result<Json<Request>, ApiError> {
    let action = parse_action(&action)?;
    Ok(Json(okno_app::requests::act(&state.app, &user, id, action, input, Utc::now()).await?))
}

/// Tracks a request by its token (public; never shows contacts).
#[utoipa::path(get, path = "/api/v1/track/{token}", tag = "citizens", params(("token" = String, Path, description = "Tracking token", pattern = "^[A-Za-z0-9_-]{1,128}$")),
    responses((status = 200, body = PublicRequest), (status = 404, body = Problem)))]
pub async fn track(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Result<Json<PublicRequest>, ApiError> {
    let request = okno_app::requests::tracked(&state.app, &token).await?;
    Ok(Json(okno_app::requests::public_view(&state.app, request).await?))
}

/// A request as anyone following it sees it: status, answer and public timeline, without its
/// tracking token (which lets its author rate and reopen it) and without contacts. The same
/// facts Open311 publishes for every request.
#[utoipa::path(get, path = "/api/v1/public/requests/{id}", tag = "citizens", params(("id" = i64, Path)),
    responses((status = 200, body = PublicRequest), (status = 404, body = Problem)))]
pub async fn public_request(State(state): State<AppState>, ApiPath(id): ApiPath<RequestId>) -> Result<Json<PublicRequest>, ApiError> {
    Ok(Json(okno_app::requests::public(&state.app, id).await?))
}

/// The citizen rates the answer (`rate`), sends the request back (`reopen`) or adds a message (`comment`).
#[utoipa::path(post, path = "/api/v1/track/{token}/{action}", tag = "citizens", request_body = ActionInput,
    params(("token" = String, Path, description = "Tracking token", pattern = "^[A-Za-z0-9_-]{1,128}$"), ("action" = inline(CitizenActionName), Path)),
    responses((status = 200, body = PublicRequest), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn citizen_act(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((token, action)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<ActionInput>,
) -> Result<Json<PublicRequest>, ApiError> {
    state.limits.citizen.check(&caller.ip)?;
    let action = parse_action(&action)?;
    Ok(Json(okno_app::requests::act_as_citizen(&state.app, &token, action, input, Utc::now()).await?))
}
