//! Deadline control: the control queues (requests past their deadline, due today, due within N
//! working days, without a first reaction, and not routed to an agency in time — for the whole
//! center or one agency; agency staff see their own), and the deadline check that escalates
//! overdue requests.

use crate::paging::within;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Utc};
use okno_core::deadline::DeadlineConfig;
use okno_core::lifecycle::ALL_STATUSES;
use okno_core::{AgencyCode, Principal, Request, RequestFilter, RequestOrder};
use okno_store::QueueCounts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Default horizon of the "due soon" queue, in working days.
pub const DEFAULT_SOON_DAYS: u32 = 3;

/// A control queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum Queue {
    /// Past the answer deadline.
    Overdue,
    /// Due before the end of today.
    DueToday,
    /// Due within the horizon.
    DueSoon,
    /// Past the first-reaction deadline without a reaction.
    NoFirstReaction,
    /// Past the routing deadline without an agency (the center's own desk).
    Unrouted,
}

impl std::str::FromStr for Queue {
    type Err = AppError;
    /// A queue by its name in URLs: `overdue`, `due-today`, `due-soon`, `no-first-reaction`, `unrouted`.
    fn from_str(name: &str) -> Result<Queue> {
        match name {
            "overdue" => Ok(Queue::Overdue),
            "due-today" => Ok(Queue::DueToday),
            "due-soon" => Ok(Queue::DueSoon),
            "no-first-reaction" => Ok(Queue::NoFirstReaction),
            "unrouted" => Ok(Queue::Unrouted),
            other => Err(AppError::NotFound(format!("no queue {other:?}; queues: overdue, due-today, due-soon, no-first-reaction, unrouted"))),
        }
    }
}

/// The end of today and of the horizon `days` working days on, in the region's time.
pub fn horizons(config: &DeadlineConfig, now: DateTime<Utc>, days: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&config.timezone).date_naive();
    (config.end_of_day(today), config.end_of_day(config.calendar.add_working_days(today, days)))
}

/// The filter that selects a queue's requests at `now`.
pub fn queue_filter(queue: Queue, config: &DeadlineConfig, now: DateTime<Utc>, days: u32) -> RequestFilter {
    let (today_end, soon_end) = horizons(config, now, days);
    let mut filter = RequestFilter {
        statuses: ALL_STATUSES.into_iter().filter(|s| s.awaits_agency()).collect(),
        order: RequestOrder::DueSoonest,
        ..RequestFilter::default()
    };
    match queue {
        Queue::Overdue => filter.due_before = Some(now),
        Queue::DueToday => (filter.due_from, filter.due_before) = (Some(now), Some(today_end)),
        Queue::DueSoon => (filter.due_from, filter.due_before) = (Some(now), Some(soon_end)),
        Queue::NoFirstReaction => filter.no_reaction_by = Some(now),
        Queue::Unrouted => filter.unrouted_by = Some(now),
    }
    filter
}

/// The agency whose queues `user` sees: agency staff their own (asking for another is
/// refused), everyone else the one they asked for, if any.
pub fn scope_agency(user: &Principal, asked: Option<AgencyCode>) -> Result<Option<AgencyCode>> {
    crate::access::scope_agency(user, asked, "agency staff see their own agency's queues only")
}

/// Which queues' sizes to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Only this agency (agency staff: always their own).
    pub agency: Option<AgencyCode>,
    /// Horizon of `due-soon` in working days, 0–60 (default 3).
    #[param(minimum = 0, maximum = 60)]
    pub days: Option<u32>,
}

/// Which part of a queue to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only this agency (agency staff: always their own).
    pub agency: Option<AgencyCode>,
    /// Horizon of `due-soon` in working days, 0–60 (default 3).
    #[param(minimum = 0, maximum = 60)]
    pub days: Option<u32>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Page number, 1–100,000 (default 1).
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
}

/// Largest page of a queue.
pub const MAX_QUEUE_PAGE: u32 = 500;
/// Most pages of a queue one may ask for.
pub const MAX_QUEUE_PAGES: u32 = 100_000;
/// Longest horizon of `due-soon`, in working days.
pub const MAX_SOON_DAYS: u32 = 60;

/// A page of a queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// Soonest deadline first.
    pub items: Vec<Request>,
    /// Page number.
    pub page: u32,
}

/// A page of `queue` for `user`, as `q` asks.
pub async fn queue_page(app: &App, user: &Principal, queue: Queue, q: QueueQuery, now: DateTime<Utc>) -> Result<QueuePage> {
    let limit = within("limit", q.limit, 50, 1..=MAX_QUEUE_PAGE)?;
    let page = within("page", q.page, 1, 1..=MAX_QUEUE_PAGES)?;
    let mut filter = queue_filter(queue, &app.deadlines, now, within("days", q.days, DEFAULT_SOON_DAYS, 0..=MAX_SOON_DAYS)?);
    filter.agency = scope_agency(user, q.agency)?;
    filter.limit = limit;
    filter.offset = (page - 1).saturating_mul(limit);
    Ok(QueuePage { items: crate::requests::list_for(app, user, &filter).await?, page })
}

/// Queue sizes per agency and for the whole center.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueSummary {
    /// Horizon of `due_soon`, working days.
    pub days: u32,
    /// Per agency (`agency: null` = not routed yet).
    #[schema(value_type = Vec<Object>)]
    pub agencies: Vec<QueueCounts>,
    /// Sums over the agencies shown.
    #[schema(value_type = Object)]
    pub total: QueueCounts,
}

/// Queue sizes per agency (agency staff: their own), as `q` asks.
pub async fn summary(app: &App, user: &Principal, q: SummaryQuery, now: DateTime<Utc>) -> Result<QueueSummary> {
    let agency = scope_agency(user, q.agency)?;
    let days = within("days", q.days, DEFAULT_SOON_DAYS, 0..=MAX_SOON_DAYS)?;
    let (today_end, soon_end) = horizons(&app.deadlines, now, days);
    let mut agencies = app.store.queue_counts(now, today_end, soon_end).await?;
    if agency.is_some() {
        agencies.retain(|c| c.agency == agency);
    }
    let mut total = QueueCounts { agency: None, overdue: 0, due_today: 0, due_soon: 0, no_first_reaction: 0, unrouted: 0 };
    for c in &agencies {
        total.overdue += c.overdue;
        total.due_today += c.due_today;
        total.due_soon += c.due_soon;
        total.no_first_reaction += c.no_first_reaction;
        total.unrouted += c.unrouted;
    }
    Ok(QueueSummary { days, agencies, total })
}

/// What one deadline check did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaReport {
    /// Requests found past their deadline.
    pub overdue: u64,
    /// Of them, escalated one or more steps now.
    pub escalated: u64,
}

/// Requests read per page by the deadline check.
const SLA_PAGE: u32 = 1_000;

fn notifications(config: &DeadlineConfig, r: &Request, due: DateTime<Utc>, level: i16) -> Vec<okno_store::Notification> {
    let subject = format!("Просрочено обращение № {} (уровень эскалации {level})", r.id);
    let mut out = Vec::new();
    if let Some(url) = &config.escalation.webhook {
        let body = serde_json::json!({
            "event": "escalated", "request_id": r.id, "service_code": r.service_code, "agency": r.agency,
            "status": r.status, "due_at": due, "level": level,
        });
        out.push(okno_store::Notification { channel: "webhook".into(), recipient: url.clone(), subject: subject.clone(), body: body.to_string() });
    }
    for address in &config.escalation.email {
        let body = format!(
            "Обращение № {} ({}), ответственный: {}, срок: {}, статус: {}. Уровень эскалации: {level}.",
            r.id, r.service_code, r.agency.as_deref().unwrap_or("не назначен"),
            due.with_timezone(&config.timezone).format("%d.%m.%Y %H:%M"), r.status.as_str()
        );
        out.push(okno_store::Notification { channel: "email".into(), recipient: address.clone(), subject: subject.clone(), body });
    }
    out
}

/// Finds overdue requests and escalates each to the step it has reached, writing an
/// `escalated` event and outbox notifications in one transaction per request. Run by
/// `okno sla check` and periodically by `okno serve`; running it twice changes nothing more.
pub async fn sla_check(store: &dyn okno_store::Store, config: &DeadlineConfig, now: DateTime<Utc>) -> Result<SlaReport> {
    let mut filter = queue_filter(Queue::Overdue, config, now, 0);
    filter.limit = SLA_PAGE;
    let mut report = SlaReport::default();
    loop {
        let page = store.list_requests(&filter).await?;
        for r in &page {
            let Some(due) = r.due_at else { continue };
            report.overdue += 1;
            let level = config.escalation_level(due, now);
            if level <= r.escalation_level {
                continue;
            }
            let mut event = okno_core::NewEvent::new(now, okno_core::EventKind::Escalated, "system");
            event.status = Some(r.status);
            event.agency = r.agency.clone();
            event.text = Some(level.to_string());
            event.old_due_at = Some(due);
            if store.escalate(r.id, level, &event, &notifications(config, r, due, level)).await? {
                report.escalated += 1;
            }
        }
        if page.len() < SLA_PAGE as usize {
            return Ok(report);
        }
        filter.offset += SLA_PAGE;
    }
}
