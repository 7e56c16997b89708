//! Systemic problems: the scan that proposes them from recent requests, the attachment of new
//! requests at intake, and how staff read and handle them. See [`okno_core::problem`] for how
//! requests are clustered.
//!
//! Serving scans every `--problem-interval` seconds; `okno problems scan` scans on demand.
//! A new request is attached at intake, after it is stored, to the open problem it matches
//! best: a failure there is logged and leaves the request stored (the next scan links it).

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use okno_core::calendar::monday_of;
use okno_core::problem::{self, Member, Problem, ProblemFilter, ProblemRules, ProblemState, ProblemUpdate};
use okno_core::{AgencyCode, Principal, ProblemId, Request, RequestFilter, RequestId, RequestOrder, Role};
use okno_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

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
pub async fn scan(store: &dyn Store, rules: &ProblemRules, zone: chrono_tz::Tz, now: DateTime<Utc>) -> Result<ProblemScanReport> {
    let now = now.trunc_subsecs(6);
    let members = recent_members(store, rules, now).await?;
    let drafts = problem::find(&members, rules, zone);
    let ids: Vec<RequestId> = drafts.iter().flat_map(|d| d.members.iter().copied()).collect();
    let links = store.problem_links(&ids).await?;
    let changes = problem::reconcile(&drafts, &members, &links, rules, zone);
    let created = changes.iter().filter(|c| matches!(c, problem::ProblemChange::Create(_))).count();
    store.record_problems(&changes, now).await?;
    Ok(ProblemScanReport { requests: members.len(), clusters: drafts.len(), created, extended: changes.len() - created })
}

/// Scans with the rules in force, now.
pub async fn scan_now(app: &App, now: DateTime<Utc>) -> Result<ProblemScanReport> {
    scan(app.store.as_ref(), &app.rules.problems, app.deadlines.timezone, now).await
}

/// Attaches a just-filed request to the open problem it matches best, if any; the problem's id.
pub async fn attach(store: &dyn Store, rules: &ProblemRules, request: &Request, now: DateTime<Utc>) -> Result<Option<ProblemId>> {
    let Some(member) = Member::of(request) else { return Ok(None) };
    let filter = ProblemFilter { states: vec![ProblemState::Proposed, ProblemState::Accepted], topic: Some(member.topic.clone()), limit: 10_000, ..Default::default() };
    let best = store
        .problems(&filter)
        .await?
        .into_iter()
        .filter_map(|p| problem::match_score(&p, &member, rules).map(|score| (score, p.id)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, id)) if store.attach_to_problem(id, request.id, now).await? => Ok(Some(id)),
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
    pub next_before: Option<ProblemId>,
}

async fn views(app: &App, problems: Vec<Problem>) -> Result<Vec<ProblemView>> {
    let names = crate::catalog::territory_names(app).await?;
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

/// Problems by `filter`, newest first; agency staff see those their agency owns.
pub async fn list(app: &App, user: &Principal, mut filter: ProblemFilter) -> Result<ProblemPage> {
    if user.role == Role::AgencyStaff {
        filter.owner.clone_from(&user.agency);
    }
    let found = app.store.problems(&filter).await?;
    let next_before = crate::paging::next_before(&found, filter.limit, |p| p.id);
    Ok(ProblemPage { items: views(app, found).await?, next_before })
}

/// Problem `id`, if `user` may read it.
pub async fn readable(app: &App, user: &Principal, id: ProblemId) -> Result<Problem> {
    let found = app.store.problem(id).await?.ok_or_else(|| AppError::NotFound(format!("no problem {id}")))?;
    if !may_read(user, &found) {
        return Err(AppError::Forbidden("this problem is not your agency's".into()));
    }
    Ok(found)
}

/// The requests of problem `id`, if `user` may read it, on the page of `page`.
pub async fn requests_filter(app: &App, user: &Principal, id: ProblemId, page: RequestFilter) -> Result<RequestFilter> {
    readable(app, user, id).await?;
    Ok(RequestFilter { problem: Some(id), ..page })
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

/// Problem `id` with its weekly trend, if `user` may read it.
pub async fn detail(app: &App, user: &Principal, id: ProblemId) -> Result<ProblemDetail> {
    let found = readable(app, user, id).await?;
    let filter = RequestFilter { problem: Some(id), limit: TREND_MEMBERS, ..RequestFilter::default() };
    let requests = app.store.list_requests(&filter).await?;
    let zone = app.deadlines.timezone;
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
    let problem = views(app, vec![found]).await?.remove(0);
    Ok(ProblemDetail { problem, weeks: weeks.into_iter().map(|(week, count)| WeekCount { week, count }).collect() })
}

/// Longest title of a problem, in characters.
const MAX_TITLE_CHARS: usize = 200;
/// Longest note on a problem, in characters.
const MAX_NOTE_CHARS: usize = 2_000;

/// Accepts (with a name and, usually, an owner), dismisses, closes or reopens a problem, for
/// the center's operators, analysts and administrators.
pub async fn change(app: &App, user: &Principal, id: ProblemId, change: ProblemUpdate, now: DateTime<Utc>) -> Result<ProblemView> {
    if user.role == Role::AgencyStaff {
        return Err(AppError::Forbidden("systemic problems are handled by the center's operators and analysts".into()));
    }
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    let owner = trimmed(&change.owner.map(String::from)).map(AgencyCode::from);
    let change = ProblemUpdate { title: trimmed(&change.title), owner, note: trimmed(&change.note), ..change };
    let mut errors = okno_core::FieldErrors::default();
    if change.title.as_ref().is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS) {
        errors.add("title", ErrorCode::TooLong, format!("at most {MAX_TITLE_CHARS} characters"));
    }
    if change.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        errors.add("note", ErrorCode::TooLong, format!("at most {MAX_NOTE_CHARS} characters"));
    }
    if let Some(owner) = &change.owner
        && !app.store.agencies().await?.iter().any(|a| &a.code == owner)
    {
        errors.add("owner", ErrorCode::UnknownValue, format!("no agency with code {owner:?}"));
    }
    let current = app.store.problem(id).await?.ok_or_else(|| AppError::NotFound(format!("no problem {id}")))?;
    if change.state == ProblemState::Accepted && change.title.is_none() && current.title.is_none() {
        errors.add("title", ErrorCode::Required, "a problem is named when it is accepted");
    }
    errors.finish(())?;
    let updated = app.store.update_problem(id, &change, &user.login, now).await?.ok_or_else(|| AppError::NotFound(format!("no problem {id}")))?;
    Ok(views(app, vec![updated]).await?.remove(0))
}
