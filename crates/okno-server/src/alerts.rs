//! Spike alerts: the scan that raises them from the in-memory rollups, and the endpoints staff
//! read and handle them through.
//!
//! A scan tests every topic in every territory and in the whole region for the day and the
//! calendar week ending on the scanned day (see [`okno_analytics::spikes`]) and records what it
//! finds; a period already alerted is updated, keeping its state. Serving scans yesterday and
//! today every `--alert-interval` seconds; `okno alerts scan` scans any days.

use crate::api::RequestPage;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::{ApiPath, ApiQuery, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use okno_analytics::spikes::SpikeRules;
use okno_analytics::{Cube, Filter, Window};
use okno_core::alert::{Alert, AlertFilter, AlertState, Period};
use okno_core::{RequestFilter, Role};
use okno_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScanReport {
    /// Days scanned.
    pub days: usize,
    /// Alerts raised by this scan (a week's alert found on several of its days counts once).
    pub raised: usize,
    /// Alerts raised before this scan whose counts it updated.
    pub updated: usize,
}

/// Scans the days `[from, to]` (local dates) with `rules` and records the spikes at `now`.
pub async fn scan(analytics: &crate::analytics::Analytics, store: &dyn Store, from: NaiveDate, to: NaiveDate, rules: &SpikeRules, now: DateTime<Utc>) -> okno_store::Result<ScanReport> {
    // As stored (to the microsecond), so that an alert raised now is told from one updated.
    let now = now.trunc_subsecs(6);
    let mut report = ScanReport::default();
    let (mut raised, mut updated) = (std::collections::HashSet::new(), std::collections::HashSet::new());
    let mut day = from;
    while day <= to {
        let drafts = analytics.read(|cube| cube.spikes(day, rules));
        for alert in store.record_alerts(&drafts, now).await? {
            if alert.detected_at == now { raised.insert(alert.id) } else { updated.insert(alert.id) };
        }
        report.days += 1;
        day += Duration::days(1);
    }
    report.raised = raised.len();
    report.updated = updated.len();
    Ok(report)
}

/// Scans yesterday (now complete) and today (so far) in the region's time zone.
pub async fn scan_recent(state: &AppState, now: DateTime<Utc>) -> okno_store::Result<ScanReport> {
    let today = now.with_timezone(&state.analytics.read(Cube::zone)).date_naive();
    scan(&state.analytics, state.store.as_ref(), today - Duration::days(1), today, &state.config.spike_rules, now).await
}

/// An alert with what a reader needs beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// The territory's name in Russian (`null` for the whole region or an unknown code).
    pub territory_name: Option<String>,
    /// Where the requests it counts are listed.
    pub requests_url: String,
}

/// A page of alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertPage {
    /// Newest first.
    pub items: Vec<AlertView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Which alerts to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AlertQuery {
    /// States, comma-separated (`new`, `acknowledged`, `resolved`); all by default.
    pub state: Option<String>,
    /// `day` or `week`.
    pub period: Option<String>,
    /// Only this topic (source category).
    pub category: Option<String>,
    /// Only this territory code.
    pub territory: Option<String>,
    /// Only alerts whose period ends on or after this local date.
    pub since: Option<NaiveDate>,
    /// `next_before` of the previous page.
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// Russian names of the territories by code.
pub(crate) async fn territory_names(state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    Ok(state.store.territories().await?.into_iter().map(|t| (t.code, t.name_ru)).collect())
}

fn view(names: &HashMap<String, String>, alert: Alert) -> AlertView {
    let territory_name = alert.spike.territory.as_ref().and_then(|code| names.get(code).cloned());
    let requests_url = format!("/api/v1/alerts/{}/requests", alert.id);
    AlertView { alert, territory_name, requests_url }
}

/// Lists spike alerts, newest first (staff).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = AlertPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<AlertQuery>) -> Result<Json<AlertPage>, ApiError> {
    caller.staff()?;
    let states: Vec<AlertState> = crate::parse_list("state", q.state.as_deref())?;
    let period = q.period.as_deref().map(|p| p.parse::<Period>().map_err(|e| ApiError::field("period", e))).transpose()?;
    let limit = crate::page_limit(q.limit)?;
    let filter = AlertFilter { states, period, category: q.category, territory: q.territory, since: q.since, before_id: q.before, limit };
    let alerts = state.store.alerts(&filter).await?;
    let next_before = crate::next_before(&alerts, limit, |a| a.id);
    let names = territory_names(&state).await?;
    Ok(Json(AlertPage { items: alerts.into_iter().map(|a| view(&names, a)).collect(), next_before }))
}

async fn stored(state: &AppState, id: i64) -> Result<Alert, ApiError> {
    state.store.alert(id).await?.ok_or_else(|| ApiError::NotFound(format!("no alert {id}")))
}

/// One day of an alert's series.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    /// Local date.
    pub date: NaiveDate,
    /// Requests of the alert's topic and place created that day.
    pub count: i64,
}

/// An alert with its daily counts over the baseline's history and its period.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetail {
    /// The alert.
    #[serde(flatten)]
    pub alert: AlertView,
    /// Counts per day from the start of the history the baseline was fitted to.
    pub days: Vec<DayCount>,
}

/// One alert with its series (staff).
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")),
    responses((status = 200, body = AlertDetail), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<AlertDetail>, ApiError> {
    caller.staff()?;
    let alert = stored(&state, id).await?;
    let from = alert.spike.first_day - Duration::days(i64::from(state.config.spike_rules.history_days));
    let window = Window::new(from, alert.spike.last_day + Duration::days(1))?;
    let filter = Filter { category: Some(alert.spike.category.clone()), territory: alert.spike.territory.clone(), ..Filter::default() };
    let days = state.analytics.read(|c| c.series(window, &filter)).into_iter().map(|(date, count)| DayCount { date, count }).collect();
    Ok(Json(AlertDetail { alert: view(&territory_names(&state).await?, alert), days }))
}

/// A page of the requests an alert counts.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AlertRequestsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
}

/// The requests of an alert's topic and place created in its period, newest first (staff;
/// agency staff see their agency's only).
#[utoipa::path(get, path = "/api/v1/alerts/{id}/requests", tag = "alerts", params(("id" = i64, Path, description = "Alert id"), AlertRequestsQuery),
    responses((status = 200, body = RequestPage), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn requests(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<AlertRequestsQuery>) -> Result<Json<RequestPage>, ApiError> {
    let user = caller.staff()?;
    let alert = stored(&state, id).await?;
    let page = crate::api::ListQuery {
        territory: alert.spike.territory.clone(),
        created_from: Some(state.deadlines.start_of_day(alert.spike.first_day).to_rfc3339()),
        created_to: Some(state.deadlines.start_of_day(alert.spike.last_day + Duration::days(1)).to_rfc3339()),
        cursor: q.cursor,
        limit: q.limit,
        ..Default::default()
    };
    let filter = RequestFilter { category: Some(alert.spike.category), ..page.into_filter(&user)? };
    Ok(Json(crate::api::request_page(&state, filter).await?))
}

/// A change of an alert's state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertChange {
    /// `acknowledged` or `resolved` (or `new` to reopen).
    pub state: AlertState,
    /// What was done or why it is dismissed.
    pub note: Option<String>,
}

/// Longest note on an alert, in characters.
const MAX_NOTE_CHARS: usize = 2_000;

/// Acknowledges, resolves or reopens an alert (operators, analysts, admins).
#[utoipa::path(post, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")), request_body = AlertChange,
    responses((status = 200, body = AlertView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>, crate::ApiJson(change): crate::ApiJson<AlertChange>) -> Result<Json<AlertView>, ApiError> {
    let user = caller.staff()?;
    if user.role == Role::AgencyStaff {
        return Err(ApiError::Forbidden("alerts are handled by the center's operators and analysts".into()));
    }
    let note = change.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::field("note", format!("at most {MAX_NOTE_CHARS} characters")));
    }
    let alert = state.store.set_alert_state(id, change.state, &user.login, note, Utc::now()).await?.ok_or_else(|| ApiError::NotFound(format!("no alert {id}")))?;
    Ok(Json(view(&territory_names(&state).await?, alert)))
}

/// Days to scan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// First local date (default: yesterday).
    pub from: Option<NaiveDate>,
    /// Last local date (default: today).
    pub to: Option<NaiveDate>,
}

/// Most days one scan request may cover.
const MAX_SCAN_DAYS: i64 = 366;

/// Scans days for spikes now (admins).
#[utoipa::path(post, path = "/api/v1/alerts/scan", tag = "alerts", request_body = ScanRequest,
    responses((status = 200, body = ScanReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn scan_now(State(state): State<AppState>, caller: Caller, crate::ApiJson(body): crate::ApiJson<ScanRequest>) -> Result<Json<ScanReport>, ApiError> {
    caller.admin()?;
    let now = Utc::now();
    let today = now.with_timezone(&state.analytics.read(Cube::zone)).date_naive();
    let to = body.to.unwrap_or(today);
    let from = body.from.unwrap_or(to - Duration::days(1));
    if to < from {
        return Err(ApiError::field("to", "must not be before `from`"));
    }
    if (to - from).num_days() >= MAX_SCAN_DAYS {
        return Err(ApiError::field("to", format!("at most {MAX_SCAN_DAYS} days per scan")));
    }
    Ok(Json(scan(&state.analytics, state.store.as_ref(), from, to, &state.config.spike_rules, now).await?))
}
