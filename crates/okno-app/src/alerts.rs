//! Spike alerts: the scan that raises them from the in-memory rollups, and how staff read and
//! handle them.
//!
//! A scan tests every topic in every territory and in the whole region for the day and the
//! calendar week ending on the scanned day (see [`okno_analytics::spikes`]) and records what it
//! finds; a period already alerted is updated, keeping its state. Serving scans yesterday and
//! today every `--alert-interval` seconds; `okno alerts scan` scans any days.

use okno_core::ErrorCode;
use crate::analytics::Analytics;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use okno_analytics::spikes::SpikeRules;
use okno_analytics::{Cube, Filter, Window};
use okno_core::alert::{Alert, AlertFilter, AlertState};
use okno_core::{AlertId, Principal, RequestFilter, Role, TerritoryCode};
use okno_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

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
pub async fn scan(analytics: &Analytics, store: &dyn Store, from: NaiveDate, to: NaiveDate, rules: &SpikeRules, now: DateTime<Utc>) -> Result<ScanReport> {
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

/// Loads the stored rollups (counting days in `zone`) and scans the days `[from, to]` as
/// serving does, for a process that keeps no rollups in memory (the command line, the demo).
pub async fn scan_stored(store: &dyn Store, zone: chrono_tz::Tz, from: NaiveDate, to: NaiveDate, rules: &SpikeRules, now: DateTime<Utc>) -> Result<ScanReport> {
    let analytics = Analytics::new(zone);
    analytics.reload(store).await?;
    scan(&analytics, store, from, to, rules, now).await
}

/// Scans yesterday (now complete) and today (so far) in the region's time zone.
pub async fn scan_recent(app: &App, now: DateTime<Utc>) -> Result<ScanReport> {
    let today = now.with_timezone(&app.analytics.read(Cube::zone)).date_naive();
    scan(&app.analytics, app.store.as_ref(), today - Duration::days(1), today, &app.rules.spikes, now).await
}

/// Most days one scan on demand may cover.
pub const MAX_SCAN_DAYS: i64 = 366;

/// The days `[from, to]` a scan on demand covers: by default `to` is today (in `zone`) and
/// `from` the day before; at most [`MAX_SCAN_DAYS`].
pub fn scan_period(zone: chrono_tz::Tz, from: Option<NaiveDate>, to: Option<NaiveDate>, now: DateTime<Utc>) -> Result<(NaiveDate, NaiveDate)> {
    let today = now.with_timezone(&zone).date_naive();
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to.pred_opt().unwrap_or(NaiveDate::MIN));
    if to < from {
        return Err(AppError::field("to", ErrorCode::OutOfRange, "must not be before `from`"));
    }
    if (to - from).num_days() >= MAX_SCAN_DAYS {
        return Err(AppError::field("to", ErrorCode::TooMany, format!("at most {MAX_SCAN_DAYS} days per scan")));
    }
    Ok((from, to))
}

/// Scans the days of [`scan_period`] on demand.
pub async fn scan_days(app: &App, from: Option<NaiveDate>, to: Option<NaiveDate>, now: DateTime<Utc>) -> Result<ScanReport> {
    let (from, to) = scan_period(app.analytics.read(Cube::zone), from, to, now)?;
    scan(&app.analytics, app.store.as_ref(), from, to, &app.rules.spikes, now).await
}

/// The `top` strongest alerts (by score) of periods ending on the days `[from, to]`.
pub async fn strongest(store: &dyn Store, from: NaiveDate, to: NaiveDate, top: usize) -> Result<Vec<Alert>> {
    let mut found = store.alerts(&AlertFilter { since: Some(from), limit: 100_000, ..Default::default() }).await?;
    found.retain(|a| a.spike.last_day <= to);
    found.sort_by(|a, b| b.spike.score.total_cmp(&a.spike.score));
    found.truncate(top);
    Ok(found)
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
    pub next_before: Option<AlertId>,
}

fn view(names: &HashMap<TerritoryCode, String>, alert: Alert) -> AlertView {
    let territory_name = alert.spike.territory.as_ref().and_then(|code| names.get(code).cloned());
    let requests_url = format!("/api/v1/alerts/{}/requests", alert.id);
    AlertView { alert, territory_name, requests_url }
}

/// Alerts by `filter`, newest first.
pub async fn list(app: &App, filter: &AlertFilter) -> Result<AlertPage> {
    let alerts = app.store.alerts(filter).await?;
    let next_before = crate::paging::next_before(&alerts, filter.limit, |a| a.id);
    let names = crate::catalog::territory_names(app).await?;
    Ok(AlertPage { items: alerts.into_iter().map(|a| view(&names, a)).collect(), next_before })
}

/// Alert `id` as stored.
pub async fn stored(app: &App, id: AlertId) -> Result<Alert> {
    app.store.alert(id).await?.ok_or_else(|| AppError::NotFound(format!("no alert {id}")))
}

/// The requests alert `id` counts — its topic and place, created in its period — on the page
/// of `page` (whose scope the reader's role already set).
pub async fn requests_filter(app: &App, id: AlertId, page: RequestFilter) -> Result<RequestFilter> {
    let spike = stored(app, id).await?.spike;
    Ok(RequestFilter {
        territory: spike.territory,
        created_from: Some(app.deadlines.start_of_day(spike.first_day)),
        created_to: Some(app.deadlines.start_of_day(spike.last_day + Duration::days(1))),
        category: Some(spike.category),
        ..page
    })
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

/// Alert `id` with its series.
pub async fn detail(app: &App, id: AlertId) -> Result<AlertDetail> {
    let alert = stored(app, id).await?;
    let from = alert.spike.first_day - Duration::days(i64::from(app.rules.spikes.history_days));
    let window = Window::new(from, alert.spike.last_day + Duration::days(1))?;
    let filter = Filter { category: Some(alert.spike.category.clone()), territory: alert.spike.territory.clone(), ..Filter::default() };
    let days = app.analytics.read(|c| c.series(window, &filter)).into_iter().map(|(date, count)| DayCount { date, count }).collect();
    Ok(AlertDetail { alert: view(&crate::catalog::territory_names(app).await?, alert), days })
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

/// Acknowledges, resolves or reopens an alert, for the center's operators, analysts and administrators.
pub async fn change(app: &App, user: &Principal, id: AlertId, change: &AlertChange, now: DateTime<Utc>) -> Result<AlertView> {
    if user.role == Role::AgencyStaff {
        return Err(AppError::Forbidden("alerts are handled by the center's operators and analysts".into()));
    }
    let note = change.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(AppError::field("note", ErrorCode::TooLong, format!("at most {MAX_NOTE_CHARS} characters")));
    }
    let alert = app.store.set_alert_state(id, change.state, &user.login, note, now).await?.ok_or_else(|| AppError::NotFound(format!("no alert {id}")))?;
    Ok(view(&crate::catalog::territory_names(app).await?, alert))
}
