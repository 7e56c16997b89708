//! Reports for the management center: agency and territory scorecards over a period.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use okno_core::deadline::DeadlineConfig;
use okno_core::scorecard::{scorecards, Scorecard};
use okno_store::{ScoreBy, Store};
use serde::Serialize;
use utoipa::ToSchema;

/// A period of whole local days, `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Day after the last.
    pub to: NaiveDate,
}

impl std::str::FromStr for Period {
    type Err = String;
    /// Parses `YYYY-MM-DD..YYYY-MM-DD` (the end exclusive).
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s.split_once("..").ok_or_else(|| format!("{s:?}: expected FROM..TO, e.g. 2021-01-01..2021-04-01"))?;
        let day = |v: &str| v.trim().parse::<NaiveDate>().map_err(|_| format!("{v:?} is not a date (YYYY-MM-DD)"));
        let period = Period { from: day(a)?, to: day(b)? };
        if period.to <= period.from {
            return Err("the period's end must be after its start".into());
        }
        Ok(period)
    }
}

/// A scorecard report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScorecardReport {
    /// `agency` or `territory`.
    pub by: String,
    /// First day (local).
    pub from: NaiveDate,
    /// Day after the last (local).
    pub to: NaiveDate,
    /// Fewest requests a body needs to be ranked.
    pub min_requests: u64,
    /// The league table: ranked bodies first.
    pub rows: Vec<Scorecard>,
}

/// Builds the scorecards of a period.
pub async fn scorecard_report(
    store: &dyn Store,
    deadlines: &DeadlineConfig,
    by: ScoreBy,
    period: Period,
    min_requests: u64,
    now: DateTime<Utc>,
) -> Result<ScorecardReport> {
    let (from, to) = (deadlines.start_of_day(period.from), deadlines.start_of_day(period.to));
    let groups = store.score_groups(from, to, by, now).await?;
    Ok(ScorecardReport {
        by: match by { ScoreBy::Agency => "agency", ScoreBy::Territory => "territory" }.into(),
        from: period.from,
        to: period.to,
        min_requests,
        rows: scorecards(&groups, deadlines, min_requests),
    })
}

/// Days a league table covers when no start is given.
const DEFAULT_PERIOD_DAYS: i64 = 30;

/// The league table of `by` over `[from, to)` (local days; by default the 30 days up to `to`,
/// and up to today),
/// ranking bodies with at least `min_requests` (by default the configured number).
pub async fn league_table(
    app: &App,
    by: ScoreBy,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    min_requests: Option<u64>,
    now: DateTime<Utc>,
) -> Result<ScorecardReport> {
    let today = now.with_timezone(&app.deadlines.timezone).date_naive();
    let to = to.unwrap_or(today + Duration::days(1));
    let from = from.unwrap_or_else(|| okno_core::calendar::shift_days(to, -DEFAULT_PERIOD_DAYS));
    if to <= from {
        return Err(AppError::field("to", ErrorCode::OutOfRange, "must be after from"));
    }
    let min = min_requests.unwrap_or(app.rules.scorecard_min_requests).max(1);
    scorecard_report(app.store.as_ref(), &app.deadlines, by, Period { from, to }, min, now).await
}
