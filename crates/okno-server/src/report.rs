//! Reports for the management center: agency and territory scorecards over a period.

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::{ApiQuery, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use okno_core::deadline::DeadlineConfig;
use okno_core::scorecard::{scorecards, Scorecard};
use okno_core::FieldErrors;
use okno_store::{ScoreBy, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
) -> Result<ScorecardReport, ApiError> {
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

/// Scorecard filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ScorecardQuery {
    /// `agency` (default) or `territory`.
    pub by: Option<String>,
    /// First day, YYYY-MM-DD (default: 30 days ago).
    pub from: Option<String>,
    /// Day after the last, YYYY-MM-DD (default: tomorrow).
    pub to: Option<String>,
    /// Fewest requests to be ranked (default: the server's setting).
    pub min: Option<u64>,
}

/// Scorecards per agency or territory over a period, as a league table (staff only).
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "reports", params(ScorecardQuery),
    responses((status = 200, body = ScorecardReport), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn scorecards_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ScorecardQuery>,
) -> Result<Json<ScorecardReport>, ApiError> {
    caller.staff()?;
    let mut errors = FieldErrors::default();
    let by = match q.by.as_deref().unwrap_or("agency") {
        "agency" => ScoreBy::Agency,
        "territory" => ScoreBy::Territory,
        _ => {
            errors.add("by", "must be agency or territory");
            ScoreBy::Agency
        }
    };
    let now = Utc::now();
    let today = now.with_timezone(&state.deadlines.timezone).date_naive();
    let day = |errors: &mut FieldErrors, field: &str, v: &Option<String>, default: NaiveDate| match v {
        Some(v) => v.parse::<NaiveDate>().unwrap_or_else(|_| {
            errors.add(field, "must be a date, YYYY-MM-DD");
            default
        }),
        None => default,
    };
    let from = day(&mut errors, "from", &q.from, today - chrono::Duration::days(30));
    let to = day(&mut errors, "to", &q.to, today + chrono::Duration::days(1));
    if to <= from {
        errors.add("to", "must be after from");
    }
    let min = q.min.unwrap_or(state.config.scorecard_min_requests).max(1);
    errors.finish(())?;
    Ok(Json(scorecard_report(&*state.store, &state.deadlines, by, Period { from, to }, min, now).await?))
}
