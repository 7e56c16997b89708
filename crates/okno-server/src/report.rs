//! Reports over HTTP: agency and territory scorecards over a period (see [`okno_app::reports`]).

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use okno_app::reports::{scorecard_report, Period, ScorecardReport};
use okno_core::FieldErrors;
use okno_store::ScoreBy;
use serde::Deserialize;
use utoipa::IntoParams;

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
    let today = now.with_timezone(&state.app.deadlines.timezone).date_naive();
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
    let min = q.min.unwrap_or(state.app.rules.scorecard_min_requests).max(1);
    errors.finish(())?;
    Ok(Json(scorecard_report(state.app.store.as_ref(), &state.app.deadlines, by, Period { from, to }, min, now).await?))
}
