//! Reports over HTTP: agency and territory scorecards over a period (see [`okno_app::reports`]).

use crate::auth::Staff;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use okno_app::reports::{league_table, ScorecardReport};
use okno_store::ScoreBy;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

query_names! {
    /// What a league table ranks.
    ScorecardBy {
        /// Agencies.
        Agency,
        /// Territories.
        Territory,
    }
}

/// Scorecard filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScorecardQuery {
    /// `agency` (default) or `territory`.
    #[param(inline)]
    pub by: Option<ScorecardBy>,
    /// First day, YYYY-MM-DD (default: 30 days ago).
    pub from: Option<NaiveDate>,
    /// Day after the last, YYYY-MM-DD (default: tomorrow).
    pub to: Option<NaiveDate>,
    /// Fewest requests to be ranked, 0–1,000,000 (default: the server's setting).
    #[param(minimum = 0, maximum = 1000000)]
    pub min: Option<u32>,
}

/// Scorecards per agency or territory over a period, as a league table (staff only).
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "reports", params(ScorecardQuery),
    responses((status = 200, body = ScorecardReport), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn scorecards_endpoint(
    State(state): State<AppState>,
    Staff(_user): Staff,
    ApiQuery(q): ApiQuery<ScorecardQuery>,
) -> Result<Json<ScorecardReport>, ApiError> {
    let by = match q.by {
        None | Some(ScorecardBy::Agency) => ScoreBy::Agency,
        Some(ScorecardBy::Territory) => ScoreBy::Territory,
    };
    let (from, to) = (q.from, q.to);
    let min = q.min.map(|m| okno_app::paging::within("min", Some(m), 0, 0..=1_000_000)).transpose()?;
    Ok(Json(league_table(&state.app, by, from, to, min.map(u64::from), Utc::now()).await?))
}
