//! Prometheus metrics at `/metrics`: requests and their latency per route, and, read from the
//! records at each scrape, the queues of requests, the outbox and the periodic jobs. Admins read
//! them on the main address (a bearer token suits a scraper); `--metrics-listen` serves them
//! without sign-in on an address of their own, for a network only monitoring reaches.

use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Instant;

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A route as it was matched (its template, never the ids or tokens in the path) and the method.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// A route and the status it answered.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    method: String,
    route: String,
    status: String,
}

/// The HTTP metrics, counted as requests are answered.
pub struct HttpMetrics {
    registry: Registry,
    answers: Family<AnswerLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let answers = Family::<AnswerLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let mut registry = Registry::with_prefix("okno_http");
        registry.register("requests", "HTTP requests answered, by route, method and status", answers.clone());
        registry.register("request_duration_seconds", "Time from a request's arrival to its answer, by route and method", latency.clone());
        HttpMetrics { registry, answers, latency }
    }
}

/// Buckets from 1 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Counts each routed request and times it (a layer on the routes; requests no route matches are
/// not counted).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RouteLabels { method, route };
    state.metrics.latency.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    let answer = AnswerLabels { method: labels.method, route: labels.route, status: response.status().as_u16().to_string() };
    state.metrics.answers.get_or_create(&answer).inc();
    response
}

/// The metrics for admins on the main address.
pub async fn for_admins(State(state): State<AppState>, Admin(_admin): Admin) -> Result<Response, ApiError> {
    exposition(&state).await
}

/// The metrics on the monitoring address, where no one signs in.
pub async fn for_monitoring(State(state): State<AppState>) -> Result<Response, ApiError> {
    exposition(&state).await
}

/// The OpenMetrics text of the HTTP metrics and of the work's state now.
async fn exposition(state: &AppState) -> Result<Response, ApiError> {
    let work = okno_app::monitoring::work_state(&state.app, Utc::now()).await?;
    let mut registry = Registry::with_prefix("okno");
    let queues = Family::<Vec<(String, String)>, Gauge>::default();
    registry.register("queue_requests", "Requests in each deadline queue, by agency (`none`: not routed)", queues.clone());
    for counts in &work.queues {
        let agency = counts.agency.as_deref().unwrap_or("none").to_owned();
        for (queue, n) in [("overdue", counts.overdue), ("due_today", counts.due_today), ("due_soon", counts.due_soon),
            ("no_first_reaction", counts.no_first_reaction), ("unrouted", counts.unrouted)] {
            queues.get_or_create(&vec![("queue".into(), queue.into()), ("agency".into(), agency.clone())]).set(n);
        }
    }
    let outbox = Family::<Vec<(String, String)>, Gauge>::default();
    registry.register("outbox_notifications", "Notifications not delivered: waiting for an attempt, or given up after the last one failed", outbox.clone());
    outbox.get_or_create(&vec![("state".into(), "waiting".into())]).set(work.outbox.waiting);
    outbox.get_or_create(&vec![("state".into(), "given_up".into())]).set(work.outbox.given_up);
    let runs = Family::<Vec<(String, String)>, Gauge>::default();
    let failures = Family::<Vec<(String, String)>, Gauge>::default();
    let running = Family::<Vec<(String, String)>, Gauge>::default();
    let duration = Family::<Vec<(String, String)>, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    registry.register("job_runs", "Runs of each periodic job finished since the server started", runs.clone());
    registry.register("job_failures", "Runs of each periodic job that failed since the server started", failures.clone());
    registry.register("job_running", "Whether the job is running now (1) or not (0)", running.clone());
    registry.register("job_last_duration_seconds", "How long the job's last finished run took", duration.clone());
    for job in &work.jobs {
        let labels = vec![("job".to_owned(), job.name.to_owned())];
        runs.get_or_create(&labels).set(i64::try_from(job.runs).unwrap_or(i64::MAX));
        failures.get_or_create(&labels).set(i64::try_from(job.failures).unwrap_or(i64::MAX));
        running.get_or_create(&labels).set(i64::from(job.running));
        if let Some(ms) = job.last_duration_ms {
            duration.get_or_create(&labels).set(ms as f64 / 1000.0);
        }
    }
    let mut text = String::new();
    let encoded = prometheus_client::encoding::text::encode_registry(&mut text, &state.metrics.registry)
        .and_then(|()| prometheus_client::encoding::text::encode_registry(&mut text, &registry))
        .and_then(|()| prometheus_client::encoding::text::encode_eof(&mut text));
    encoded.map_err(|e| ApiError::Internal(format!("encoding the metrics: {e}")))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS))], text).into_response())
}
