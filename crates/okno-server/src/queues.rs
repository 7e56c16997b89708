//! The control queues over HTTP: the requests in one queue and the queue sizes per agency (see
//! [`okno_app::deadlines`]).

use crate::auth::Staff;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use okno_app::deadlines::{Queue, QueuePage, QueueQuery, QueueSummary, SummaryQuery};

/// The requests in one queue: `overdue`, `due-today`, `due-soon`, `no-first-reaction`, `unrouted`.
#[utoipa::path(get, path = "/api/v1/queues/{queue}", tag = "control", params(("queue" = inline(Queue), Path), QueueQuery),
    responses((status = 200, body = QueuePage), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn queue(
    State(state): State<AppState>,
    Staff(user): Staff,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<QueuePage>, ApiError> {
    let queue: Queue = name.parse()?;
    Ok(Json(okno_app::deadlines::queue_page(&state.app, &user, queue, q, Utc::now()).await?))
}

/// Queue sizes per agency (agency staff: their own).
#[utoipa::path(get, path = "/api/v1/queues", tag = "control", params(SummaryQuery),
    responses((status = 200, body = QueueSummary), (status = 401, body = Problem)))]
pub async fn summary(State(state): State<AppState>, Staff(user): Staff, ApiQuery(q): ApiQuery<SummaryQuery>) -> Result<Json<QueueSummary>, ApiError> {
    Ok(Json(okno_app::deadlines::summary(&state.app, &user, q, Utc::now()).await?))
}
