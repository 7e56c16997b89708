//! Systemic problems: the scan that proposes them from recent requests, the attachment of new
//! requests at intake, and the endpoints operators handle them through. See
//! [`okno_core::problem`] for how requests are clustered.
//!
//! Serving scans every `--problem-interval` seconds; `okno problems scan` scans on demand.
//! A new request is attached at intake, after it is stored, to the open problem it matches
//! best: a failure there is logged and leaves the request stored (the next scan links it).

use crate::api::RequestPage;
use crate::auth::Caller;
use crate::error::{ApiError, Problem as ProblemDetails};
use crate::{ApiJson, ApiPath, ApiQuery, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use okno_core::calendar::monday_of;
use okno_core::problem::{self, Member, Problem, ProblemFilter, ProblemRules, ProblemState, ProblemUpdate};
use okno_core::{Principal, Request, RequestFilter, RequestOrder, Role};
use okno_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Requests read from the store per page while scanning.
const SCAN_PAGE: u32 = 5_000;

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProblemScanReport {
    /// Requests with a point filed in the period scanned.
    pub requests: usize,
    /// Clusters that qualified.
    pub clusters: usize,
    /// New proposals.
    pub created: usize,
    /// Existing problems that gained requests.
    pub extended: usize,
}

/// The requests with a point filed in the `rules.days` up to `now`, as cluster members.
async fn recent_members(store: &dyn Store, rules: &ProblemRules, now: DateTime<Utc>) -> okno_store::Result<Vec<Member>> {
    let mut members = Vec::new();
    let mut filter = RequestFilter {
        created_from: Some(now - Duration::days(rules.days)),
        created_to: Some(now),
        order: RequestOrder::NewestId,
        limit: SCAN_PAGE,
        ..RequestFilter::default()
    };
    loop {
        let page = store.list_requests(&filter).await?;
        members.extend(page.iter().filter_map(Member::of));
        match page.last() {
            Some(last) if page.len() == SCAN_PAGE as usize => filter.before_id = Some(last.id),
            _ => return Ok(members),
        }
    }
}

/// Clusters the requests of the last `rules.days` and stores what is new (days counted in `zone`).
pub async fn scan(store: &dyn Store, rules: &ProblemRules, zone: chrono_tz::Tz, now: DateTime<Utc>) -> okno_store::Result<ProblemScanReport> {
    let now = now.trunc_subsecs(6);
    let members = recent_members(store, rules, now).await?;
    let drafts = problem::find(&members, rules, zone);
    let ids: Vec<i64> = drafts.iter().flat_map(|d| d.members.iter().copied()).collect();
    let links = store.problem_links(&ids).await?;
    let changes = problem::reconcile(&drafts, &members, &links, rules, zone);
    let created = changes.iter().filter(|c| matches!(c, problem::ProblemChange::Create(_))).count();
    store.record_problems(&changes, now).await?;
    Ok(ProblemScanReport { requests: members.len(), clusters: drafts.len(), created, extended: changes.len() - created })
}

/// Attaches a just-filed request to the open problem it matches best, if any; the problem's id.
pub async fn attach(state: &AppState, request: &Request, now: DateTime<Utc>) -> okno_store::Result<Option<i64>> {
    let Some(member) = Member::of(request) else { return Ok(None) };
    let rules = &state.config.problem_rules;
    let filter = ProblemFilter { states: vec![ProblemState::Proposed, ProblemState::Accepted], topic: Some(member.topic.clone()), limit: 10_000, ..Default::default() };
    let best = state
        .store
        .problems(&filter)
        .await?
        .into_iter()
        .filter_map(|p| problem::match_score(&p, &member, rules).map(|score| (score, p.id)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, id)) if state.store.attach_to_problem(id, request.id, now).await? => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// A problem with what a reader needs beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemView {
    /// The problem.
    #[serde(flatten)]
    pub problem: Problem,
    /// The territory's name in Russian.
    pub territory_name: Option<String>,
    /// Where its requests are listed.
    pub requests_url: String,
}

/// A page of problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemPage {
    /// Newest first.
    pub items: Vec<ProblemView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Which problems to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProblemQuery {
    /// States, comma-separated (`proposed`, `accepted`, `dismissed`, `closed`); all by default.
    pub state: Option<String>,
    /// Only this topic.
    pub topic: Option<String>,
    /// Only those owned by this agency.
    pub owner: Option<String>,
    /// `next_before` of the previous page.
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

async fn views(state: &AppState, problems: Vec<Problem>) -> Result<Vec<ProblemView>, ApiError> {
    let names = crate::alerts::territory_names(state).await?;
    Ok(problems
        .into_iter()
        .map(|p| ProblemView {
            territory_name: p.summary.territory.as_ref().and_then(|c| names.get(c).cloned()),
            requests_url: format!("/api/v1/problems/{}/requests", p.id),
            problem: p,
        })
        .collect())
}

/// Agency staff see the problems their agency owns; the center's staff see all.
fn may_read(user: &Principal, p: &Problem) -> bool {
    user.role != Role::AgencyStaff || (p.owner.is_some() && p.owner == user.agency)
}

/// Lists systemic problems, newest first (staff; agency staff: those their agency owns).
#[utoipa::path(get, path = "/api/v1/problems", tag = "problems", params(ProblemQuery),
    responses((status = 200, body = ProblemPage), (status = 401, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn list(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<ProblemQuery>) -> Result<Json<ProblemPage>, ApiError> {
    let user = caller.staff()?;
    let states: Vec<ProblemState> = crate::parse_list("state", q.state.as_deref())?;
    let limit = crate::page_limit(q.limit)?;
    let owner = if user.role == Role::AgencyStaff { user.agency.clone() } else { q.owner };
    let filter = ProblemFilter { states, topic: q.topic, owner, before_id: q.before, limit };
    let found = state.store.problems(&filter).await?;
    let next_before = crate::next_before(&found, limit, |p| p.id);
    Ok(Json(ProblemPage { items: views(&state, found).await?, next_before }))
}

async fn readable(state: &AppState, user: &Principal, id: i64) -> Result<Problem, ApiError> {
    let found = state.store.problem(id).await?.ok_or_else(|| ApiError::NotFound(format!("no problem {id}")))?;
    if !may_read(user, &found) {
        return Err(ApiError::Forbidden("this problem is not your agency's".into()));
    }
    Ok(found)
}

/// Requests of a problem filed in one week.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekCount {
    /// Monday of the week (local date).
    pub week: NaiveDate,
    /// Requests filed that week.
    pub count: i64,
}

/// A problem with its weekly trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDetail {
    /// The problem.
    #[serde(flatten)]
    pub problem: ProblemView,
    /// Requests per week from its first to its latest (of its latest 2,000 requests).
    pub weeks: Vec<WeekCount>,
}

/// Most member requests read for a problem's trend.
const TREND_MEMBERS: u32 = 2_000;

/// One problem with its weekly trend (staff who may read it).
#[utoipa::path(get, path = "/api/v1/problems/{id}", tag = "problems", params(("id" = i64, Path, description = "Problem id")),
    responses((status = 200, body = ProblemDetail), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<ProblemDetail>, ApiError> {
    let found = readable(&state, &caller.staff()?, id).await?;
    let filter = RequestFilter { problem: Some(id), limit: TREND_MEMBERS, ..RequestFilter::default() };
    let requests = state.store.list_requests(&filter).await?;
    let zone = state.deadlines.timezone;
    let monday = |t: DateTime<Utc>| monday_of(t.with_timezone(&zone).date_naive());
    let mut weeks: std::collections::BTreeMap<NaiveDate, i64> = std::collections::BTreeMap::new();
    if let (Some(first), Some(last)) = (requests.iter().map(|r| r.created_at).min(), requests.iter().map(|r| r.created_at).max()) {
        let mut week = monday(first);
        while week <= monday(last) {
            weeks.insert(week, 0);
            week += Duration::days(7);
        }
    }
    for r in &requests {
        *weeks.entry(monday(r.created_at)).or_default() += 1;
    }
    let problem = views(&state, vec![found]).await?.remove(0);
    Ok(Json(ProblemDetail { problem, weeks: weeks.into_iter().map(|(week, count)| WeekCount { week, count }).collect() }))
}

/// A page of a problem's requests.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProblemRequestsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
}

/// The requests of a problem, newest first (staff who may read it; agency staff see their
/// agency's requests only).
#[utoipa::path(get, path = "/api/v1/problems/{id}/requests", tag = "problems", params(("id" = i64, Path, description = "Problem id"), ProblemRequestsQuery),
    responses((status = 200, body = RequestPage), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)))]
pub async fn requests(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<ProblemRequestsQuery>) -> Result<Json<RequestPage>, ApiError> {
    let user = caller.staff()?;
    readable(&state, &user, id).await?;
    let page = crate::api::ListQuery { cursor: q.cursor, limit: q.limit, ..Default::default() }.into_filter(&user)?;
    let filter = RequestFilter { problem: Some(id), ..page };
    Ok(Json(crate::api::request_page(&state, filter).await?))
}

/// Longest title of a problem, in characters.
const MAX_TITLE_CHARS: usize = 200;
/// Longest note on a problem, in characters.
const MAX_NOTE_CHARS: usize = 2_000;

/// Accepts (with a name and, usually, an owner), dismisses, closes or reopens a problem
/// (operators, analysts, admins).
#[utoipa::path(post, path = "/api/v1/problems/{id}", tag = "problems", params(("id" = i64, Path, description = "Problem id")), request_body = ProblemUpdate,
    responses((status = 200, body = ProblemView), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn change(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>, ApiJson(change): ApiJson<ProblemUpdate>) -> Result<Json<ProblemView>, ApiError> {
    let user = caller.staff()?;
    if user.role == Role::AgencyStaff {
        return Err(ApiError::Forbidden("systemic problems are handled by the center's operators and analysts".into()));
    }
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    let change = ProblemUpdate { title: trimmed(&change.title), owner: trimmed(&change.owner), note: trimmed(&change.note), ..change };
    let mut errors = okno_core::FieldErrors::default();
    if change.title.as_ref().is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS) {
        errors.add("title", format!("at most {MAX_TITLE_CHARS} characters"));
    }
    if change.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        errors.add("note", format!("at most {MAX_NOTE_CHARS} characters"));
    }
    if let Some(owner) = &change.owner
        && !state.store.agencies().await?.iter().any(|a| &a.code == owner)
    {
        errors.add("owner", format!("no agency with code {owner:?}"));
    }
    let current = state.store.problem(id).await?.ok_or_else(|| ApiError::NotFound(format!("no problem {id}")))?;
    if change.state == ProblemState::Accepted && change.title.is_none() && current.title.is_none() {
        errors.add("title", "a problem is named when it is accepted");
    }
    errors.finish(())?;
    let updated = state.store.update_problem(id, &change, &user.login, Utc::now()).await?.ok_or_else(|| ApiError::NotFound(format!("no problem {id}")))?;
    Ok(Json(views(&state, vec![updated]).await?.remove(0)))
}

/// Scans the recent requests for systemic problems now (admins).
#[utoipa::path(post, path = "/api/v1/problems/scan", tag = "problems",
    responses((status = 200, body = ProblemScanReport), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails)))]
pub async fn scan_now(State(state): State<AppState>, caller: Caller) -> Result<Json<ProblemScanReport>, ApiError> {
    caller.admin()?;
    Ok(Json(scan(state.store.as_ref(), &state.config.problem_rules, state.deadlines.timezone, Utc::now()).await?))
}
