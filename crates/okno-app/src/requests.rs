//! Requests as staff and citizens read and act on them: who may read which, the public view,
//! audited reads of the citizen's contact, and the lifecycle actions (by staff, and by the
//! citizen holding the tracking token).

use okno_core::ErrorCode;
use okno_core::privacy::mask_personal_data;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Utc};
use okno_core::workflow::{plan, ActionInput, Actor, CatalogItem};
use okno_core::{Action, AgencyCode, ServiceCode, TerritoryCode, Channel, Contact, Coordinates, Event, EventKind, Open311Status, Principal, Request, RequestDraft, RequestId, Status};
use serde::Serialize;
use utoipa::ToSchema;

/// What the public (and the citizen holding the token) may see of a request: never contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRequest {
    /// Request id.
    pub id: RequestId,
    /// Tracking token (absent when the request is shown to someone who only follows it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Service code.
    pub service_code: ServiceCode,
    /// Fine-grained status.
    pub status: Status,
    /// Open311 status.
    #[schema(value_type = String)]
    pub open311_status: Open311Status,
    /// What was written.
    pub text: String,
    /// Address.
    pub address: Option<String>,
    /// Place.
    pub coordinates: Option<Coordinates>,
    /// Territory code.
    pub territory: Option<TerritoryCode>,
    /// Responsible agency code.
    pub agency: Option<AgencyCode>,
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Answer due.
    pub due_at: Option<DateTime<Utc>>,
    /// Finished.
    pub closed_at: Option<DateTime<Utc>>,
    /// Latest answer.
    pub last_answer: Option<String>,
    /// Rating given.
    pub rating: Option<i16>,
    /// Photo link.
    pub media_url: Option<String>,
    /// Public timeline (staff comments and staff names left out).
    pub timeline: Vec<PublicEvent>,
    /// The request this one was merged into: follow that one for the answer.
    pub duplicate_of: Option<RequestId>,
    /// How many other citizens' requests were merged into this one (they follow it too).
    pub followers: i64,
}

/// One step of the public timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// Status after it.
    pub status: Option<Status>,
    /// Agency involved.
    pub agency: Option<AgencyCode>,
    /// Answer or reason.
    pub text: Option<String>,
    /// New deadline.
    pub new_due_at: Option<DateTime<Utc>>,
}

/// The citizen's view of `r`, with its tracking token, its timeline (staff comments left out)
/// and followers.
pub async fn public_view(app: &App, r: Request) -> Result<PublicRequest> {
    let timeline = app
        .store
        .events(r.id)
        .await?
        .into_iter()
        .filter(|e| e.kind != EventKind::Comment || e.actor == "citizen")
        .map(|e| PublicEvent { at: e.at, kind: e.kind, status: e.status, agency: e.agency, text: e.text, new_due_at: e.new_due_at })
        .collect();
    let followers = app.store.duplicate_count(r.id).await?;
    Ok(PublicRequest {
        id: r.id, token: r.token, service_code: r.service_code, status: r.status, open311_status: r.status.open311(),
        text: r.text, address: r.address, coordinates: r.coordinates, territory: r.territory, agency: r.agency,
        created_at: r.created_at, updated_at: r.updated_at, due_at: r.due_at, closed_at: r.closed_at,
        last_answer: r.last_answer, rating: r.rating, media_url: r.media_url, timeline, duplicate_of: r.duplicate_of,
        followers,
    })
}

/// A request just filed, as its filer sees it: the citizen who filed it gets its tracking token,
/// staff who entered it on a citizen's behalf do not (the token is the citizen's secret and goes
/// to the citizen's contact).
pub async fn filed_view(app: &App, filer: Option<&Principal>, request: Request) -> Result<PublicRequest> {
    let view = public_view(app, request).await?;
    Ok(if filer.is_some() { PublicRequest { token: String::new(), ..view } } else { view })
}

/// Request `id` as anyone following it sees it: without its tracking token (which lets its
/// author rate and reopen it), without contacts, and with the personal data typed into its
/// texts masked ([`okno_core::privacy`]).
pub async fn public(app: &App, id: RequestId) -> Result<PublicRequest> {
    let request = app.store.request(id).await?.ok_or_else(|| AppError::NotFound(format!("no request {id}")))?;
    let mut view = public_view(app, request).await?;
    view.token.clear();
    let mask = |text: &mut String| *text = mask_personal_data(text).into_owned();
    mask(&mut view.text);
    view.address.iter_mut().chain(view.last_answer.iter_mut()).for_each(mask);
    view.timeline.iter_mut().filter_map(|e| e.text.as_mut()).for_each(mask);
    Ok(view)
}

/// The request whose tracking token is `token`.
pub async fn tracked(app: &App, token: &str) -> Result<Request> {
    app.store.request_by_token(token).await?.ok_or_else(|| AppError::NotFound("no request with this token".into()))
}

/// Request `id`, if `user` may read it (agency staff: their agency's).
pub async fn readable(app: &App, user: &Principal, id: RequestId) -> Result<Request> {
    let request = app.store.request(id).await?.ok_or_else(|| AppError::NotFound(format!("no request {id}")))?;
    if !user.can_read_request(request.agency.as_deref()) {
        return Err(AppError::Forbidden("this request belongs to another agency".into()));
    }
    Ok(request)
}

/// The agency whose requests `user` lists: agency staff their own, everyone else the one they
/// asked for, if any.
pub fn scope_agency(user: &Principal, asked: Option<AgencyCode>) -> Result<Option<AgencyCode>> {
    crate::access::scope_agency(user, asked, "agency staff see their own agency's requests only")
}

/// Request `id` as `user` sees it, if they may read it: the personal data in its texts masked
/// for those who do not read personal data ([`shown_to`]).
pub async fn view(app: &App, user: &Principal, id: RequestId) -> Result<Request> {
    Ok(shown_to(user, readable(app, user, id).await?))
}

/// `request` as `user` sees it: analysts read its free texts with personal data masked.
pub fn shown_to(user: &Principal, mut request: Request) -> Request {
    if !user.reads_personal_data() {
        okno_core::privacy::mask_request(&mut request);
    }
    request
}

/// The requests `filter` finds (the caller scoped it to what `user` may read), as `user` sees them.
pub async fn list_for(app: &App, user: &Principal, filter: &okno_core::RequestFilter) -> Result<Vec<Request>> {
    Ok(app.store.list_requests(filter).await?.into_iter().map(|r| shown_to(user, r)).collect())
}

/// The timeline of request `id`, if `user` may read it (texts masked as in [`shown_to`]).
pub async fn events(app: &App, user: &Principal, id: RequestId) -> Result<Vec<Event>> {
    readable(app, user, id).await?;
    let mut events = app.store.events(id).await?;
    if !user.reads_personal_data() {
        events.iter_mut().for_each(okno_core::privacy::mask_event);
    }
    Ok(events)
}

/// The citizen's contact of request `id`, if `user`'s role may see personal data; every read
/// is written to the audit log.
pub async fn contact(app: &App, user: &Principal, id: RequestId, now: DateTime<Utc>) -> Result<Contact> {
    let refusal = match readable(app, user, id).await {
        Ok(request) if user.can_read_contact(request.agency.as_deref()) => None,
        Ok(_) => Some(AppError::Forbidden("your role may not see citizens' personal data".into())),
        Err(e @ AppError::Forbidden(_)) => Some(e),
        Err(e) => return Err(e),
    };
    if let Some(refusal) = refusal {
        app.store.audit(&user.login, "contact.refused", Some(id), None, now).await?;
        return Err(refusal);
    }
    Ok(app.store.read_contact(id, user, now).await?.unwrap_or_default())
}

/// The source system a new request is recorded under, after checking that `user` may file it
/// through `channel` ([`okno_core::access::may_file_through`]): staff as `user:LOGIN`;
/// anonymous callers without their own ids.
pub fn intake_source(user: Option<&Principal>, channel: Channel, draft: &RequestDraft) -> Result<Option<String>> {
    if !okno_core::access::may_file_through(user, channel) {
        let allowed = okno_core::access::FILING_CHANNELS
            .into_iter()
            .filter(|c| okno_core::access::may_file_through(user, *c))
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(AppError::field("channel", ErrorCode::NotAllowed, format!("must be one of: {allowed}")));
    }
    match user {
        Some(user) => Ok(Some(format!("user:{}", user.login))),
        None if draft.source_id.is_some() => Err(AppError::field("source_id", ErrorCode::NotAllowed, "only authenticated clients may send their own ids")),
        None => Ok(None),
    }
}

/// The source system of requests filed with an `Idempotency-Key` but no caller of their own.
pub const IDEMPOTENCY_SOURCE: &str = "idempotency-key";

/// Binds a client's `Idempotency-Key` to its draft, so that a retry (after a lost answer or a
/// server crash) finds the request the first attempt filed instead of filing it twice. The key is
/// kept only as a fingerprint of itself and the whole draft: whoever sends the same key with
/// other content files a new request and learns nothing of the first. Returns the source system
/// to file under (the caller's, or [`IDEMPOTENCY_SOURCE`] for anonymous callers).
pub fn with_idempotency_key(key: &str, source_system: Option<String>, draft: &mut RequestDraft) -> Result<Option<String>> {
    use sha2::{Digest, Sha256};
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::field("Idempotency-Key", ErrorCode::InvalidFormat, "must be 1 to 255 visible ASCII characters"));
    }
    if draft.source_id.is_some() {
        return Err(AppError::field("Idempotency-Key", ErrorCode::NotAllowed, "send either an Idempotency-Key or a source_id, not both"));
    }
    let content = serde_json::to_vec(&draft).map_err(|e| AppError::Internal(format!("fingerprinting a draft: {e}")))?;
    let mut fingerprint = Sha256::new();
    fingerprint.update(key.as_bytes());
    fingerprint.update([0]);
    fingerprint.update(&content);
    draft.source_id = Some(format!("key:{}", hex::encode(fingerprint.finalize())));
    Ok(Some(source_system.unwrap_or_else(|| IDEMPOTENCY_SOURCE.to_owned())))
}

/// A staff member's lifecycle action on request `id`, if their role allows it on this request.
pub async fn act(app: &App, user: &Principal, id: RequestId, action: Action, input: ActionInput, now: DateTime<Utc>) -> Result<Request> {
    let request = readable(app, user, id).await?;
    if !user.can_act(action, request.agency.as_deref()) {
        return Err(AppError::Forbidden(format!("your role may not {} this request", action.as_str())));
    }
    perform(app, &request, action, input, Actor::User(user), now).await
}

/// The citizen's action (rate, reopen, comment) on the request whose token is `token`; the
/// request's public view after it.
pub async fn act_as_citizen(app: &App, token: &str, action: Action, input: ActionInput, now: DateTime<Utc>) -> Result<PublicRequest> {
    let request = tracked(app, token).await?;
    let updated = perform(app, &request, action, input, Actor::Citizen, now).await?;
    public_view(app, updated).await
}

/// An action a user may take on a request now, with the details it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ActionChoice {
    /// The action, as its path names it (`mark-duplicate`).
    pub action: String,
    /// Fields of the body it requires.
    pub required: Vec<String>,
    /// Fields of the body it also takes.
    pub optional: Vec<String>,
}

/// The actions `user` may take on request `id` now — theirs to take, allowed from its status
/// and with its deadline clock as it stands — each with the details it asks for.
pub async fn actions(app: &App, user: &Principal, id: RequestId) -> Result<Vec<ActionChoice>> {
    let request = readable(app, user, id).await?;
    let service = app.store.service(&request.service_code).await?;
    let rules = service.as_ref().and_then(|s| app.deadlines.rules_for(&s.code, &s.deadline_regime));
    let actor = Actor::User(user);
    let names = |fields: &[&str]| fields.iter().map(|f| (*f).to_owned()).collect();
    Ok(okno_core::lifecycle::ALL_ACTIONS
        .into_iter()
        .filter(|action| okno_core::workflow::refusal(&request, *action, &actor, rules).is_none())
        .map(|action| {
            let fields = okno_core::workflow::action_fields(action);
            ActionChoice { action: action.path_name(), required: names(fields.required), optional: names(fields.optional) }
        })
        .collect())
}

/// Applies `action` to `request` (as read by the caller). The deadline regime is looked up
/// from its service; reclassification keeps the deadlines already set (the term runs from
/// registration whatever the topic), so the regime read here holds inside the store's
/// transaction.
async fn perform(app: &App, request: &Request, action: Action, input: ActionInput, actor: Actor<'_>, now: DateTime<Utc>) -> Result<Request> {
    let agencies: Vec<AgencyCode> = if action == Action::Route {
        app.store.agencies().await?.into_iter().map(|a| a.code).collect()
    } else {
        Vec::new()
    };
    let services: Vec<ServiceCode> = if action == Action::Reclassify {
        app.store.services().await?.into_iter().map(|s| s.code).collect()
    } else {
        Vec::new()
    };
    let input = match (action, &actor, input.duplicate_of) {
        (Action::MarkDuplicate, Actor::User(user), Some(original)) => ActionInput { duplicate_of: Some(merge_target(app, user, original).await?), ..input },
        _ => input,
    };
    let service = app.store.service(&request.service_code).await?;
    let rules = service.as_ref().and_then(|s| app.deadlines.rules_for(&s.code, &s.deadline_regime));
    let planner = |r: &Request| plan(r, action, &input, &actor, now, &|item, code| match item {
        CatalogItem::Agency => agencies.iter().any(|a| a == code),
        CatalogItem::Service => services.iter().any(|s| s == code),
    }, rules);
    let id = request.id;
    app.store.apply(id, &planner).await?.ok_or_else(|| AppError::NotFound(format!("no request {id}")))
}

/// The request a duplicate is merged into when the user names `original`: that one, or the
/// request it was itself merged into (so every duplicate points at the live original), provided
/// the user may read it.
async fn merge_target(app: &App, user: &Principal, original: RequestId) -> Result<RequestId> {
    let unknown = || AppError::field("duplicate_of", ErrorCode::UnknownValue, format!("no request {original}"));
    let mut target = app.store.request(original).await?.ok_or_else(unknown)?;
    if let Some(root) = target.duplicate_of {
        target = app.store.request(root).await?.ok_or_else(unknown)?;
    }
    if !user.can_read_request(target.agency.as_deref()) {
        return Err(AppError::field("duplicate_of", ErrorCode::NotAllowed, format!("request {} belongs to another agency", target.id)));
    }
    Ok(target.id)
}
