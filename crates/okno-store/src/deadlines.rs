//! Deadline control: the queues of requests awaiting their agency, escalation of overdue ones
//! (with the notifications it sends), and recomputing deadlines from the timelines.

use crate::dialect::{get_time, parse_stored, Dialect, Row, SqlStore};
use crate::outbox::Notification;
use crate::query::AWAITING_STATUSES;
use crate::requests::insert_event;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::{AgencyCode, Channel, EventKind, NewEvent, RequestId, ServiceCode, Status};

/// How many of an agency's open requests are in each queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    /// Agency code (`None`: not routed yet).
    pub agency: Option<AgencyCode>,
    /// Past their answer deadline.
    pub overdue: i64,
    /// Due before the end of today.
    pub due_today: i64,
    /// Due before the end of the horizon (today plus N working days).
    pub due_soon: i64,
    /// Past their first-reaction deadline without a reaction.
    pub no_first_reaction: i64,
    /// Past their routing deadline without an agency (counted under `agency: null`).
    pub unrouted: i64,
}

/// A request's deadline state and the events that decide it, for recomputing its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The request.
    pub request_id: RequestId,
    /// Its service (which decides the regime).
    pub service_code: ServiceCode,
    /// How it arrived (imported histories keep their source's deadlines).
    pub channel: Channel,
    /// The system it came from.
    pub source_system: Option<String>,
    /// Its status now.
    pub status: Status,
    /// Its stored answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When its clock stopped, if it stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// Its events, oldest first.
    pub events: Vec<TimelineEvent>,
}

/// The part of an event that matters to the deadline clock.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// Status after it.
    pub status: Option<Status>,
    /// Agency it names.
    pub agency: Option<AgencyCode>,
    /// Deadline it set.
    pub new_due_at: Option<DateTime<Utc>>,
}

impl TimelineEvent {
    /// The event as the clock sees it.
    pub fn fact(&self) -> okno_core::clock::Fact<'_> {
        okno_core::clock::Fact { at: self.at, kind: self.kind, status: self.status, agency: self.agency.as_deref(), new_due_at: self.new_due_at }
    }
}

/// A recomputed deadline to store, with the event that records the change.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineUpdate {
    /// The request.
    pub request_id: RequestId,
    /// Its new answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When its clock stopped, if it stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// The `deadline_recomputed` event (old and new deadline, reason).
    pub event: NewEvent,
}

/// Deadlines, queues and escalations.
#[async_trait]
pub trait DeadlineStore: Send + Sync {
    /// Queue sizes per agency, for requests awaiting their agency: overdue at `now`, due before
    /// `today_end`, due before `soon_end`, first reaction missing at `now`.
    async fn queue_counts(&self, now: DateTime<Utc>, today_end: DateTime<Utc>, soon_end: DateTime<Utc>) -> Result<Vec<QueueCounts>>;
    /// Raises a request's escalation level to `level` with its event and notifications, in one
    /// transaction; `false` (nothing written) if the request is already at that level or higher.
    async fn escalate(&self, request: RequestId, level: i16, event: &NewEvent, notifications: &[Notification]) -> Result<bool>;
    /// Up to `limit` requests with ids above `after_id`, in id order, with their timelines.
    async fn timelines(&self, after_id: RequestId, limit: u32) -> Result<Vec<Timeline>>;
    /// Stores recomputed deadlines with their events, in one transaction; a changed deadline
    /// resets the escalation level.
    async fn set_deadlines(&self, updates: &[DeadlineUpdate]) -> Result<()>;
}

#[async_trait]
impl<D: Dialect> DeadlineStore for SqlStore<D> {
    async fn queue_counts(&self, now: DateTime<Utc>, today_end: DateTime<Utc>, soon_end: DateTime<Utc>) -> Result<Vec<QueueCounts>> {
        let sql = format!(
            "SELECT agency_code, \
             SUM(CASE WHEN due_at < $1 AND paused_at IS NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN due_at >= $1 AND due_at < $2 AND paused_at IS NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN due_at >= $1 AND due_at < $3 AND paused_at IS NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN first_reaction_at IS NULL AND first_reaction_due_at < $1 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN agency_code IS NULL AND routing_due_at < $1 THEN 1 ELSE 0 END) \
             FROM requests WHERE status IN ({AWAITING_STATUSES}) GROUP BY agency_code ORDER BY agency_code"
        );
        let rows = D::sql(sqlx::AssertSqlSafe(sql)).bind_time(now).bind_time(today_end).bind_time(soon_end)
            .fetch_all(&mut *self.read().await?).await?;
        let count = |r: &Row<D>, i: usize| -> Result<i64> { Ok(D::get::<Option<i64>, _>(r, i)?.unwrap_or(0)) };
        rows.iter()
            .map(|r| Ok(QueueCounts {
                agency: D::get(r, 0)?, overdue: count(r, 1)?, due_today: count(r, 2)?, due_soon: count(r, 3)?,
                no_first_reaction: count(r, 4)?,
                unrouted: count(r, 5)?,
            }))
            .collect()
    }

    async fn escalate(&self, request_id: RequestId, level: i16, event: &NewEvent, notifications: &[Notification]) -> Result<bool> {
        let mut tx = self.begin().await?;
        let raised = D::sql("UPDATE requests SET escalation_level = $1 WHERE id = $2 AND escalation_level < $1")
            .bind(level).bind(request_id).execute(&mut tx).await?;
        if raised == 0 {
            return Ok(false);
        }
        insert_event::<D>(&mut tx, request_id, event).await?;
        for n in notifications {
            D::sql("INSERT INTO outbox (created_at, channel, recipient, subject, body, request_id) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind_time(event.at).bind(&n.channel).bind(&n.recipient).bind(&n.subject).bind(&n.body).bind(request_id)
                .execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn timelines(&self, after_id: RequestId, limit: u32) -> Result<Vec<Timeline>> {
        let mut conn = self.read().await?;
        let rows = D::sql(
            "SELECT id, service_code, channel, source_system, status, due_at, paused_at FROM requests \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id).bind(i64::from(limit)).fetch_all(&mut conn).await?;
        let mut timelines = rows.iter()
            .map(|r| Ok(Timeline {
                request_id: D::get(r, "id")?, service_code: D::get(r, "service_code")?,
                channel: parse_stored("channel", &D::get::<String, _>(r, "channel")?)?, source_system: D::get(r, "source_system")?,
                status: parse_stored("status", &D::get::<String, _>(r, "status")?)?, due_at: D::get_opt_time(r, "due_at")?,
                paused_at: D::get_opt_time(r, "paused_at")?, events: Vec::new(),
            }))
            .collect::<Result<Vec<_>>>()?;
        let (Some(first), Some(last)) = (timelines.first(), timelines.last()) else { return Ok(timelines) };
        let events = D::sql(
            "SELECT request_id, at, kind, status, agency_code, new_due_at FROM events \
             WHERE request_id >= $1 AND request_id <= $2 ORDER BY request_id, at, id",
        )
        .bind(first.request_id).bind(last.request_id).fetch_all(&mut conn).await?;
        let mut index = 0;
        for e in &events {
            let request_id: RequestId = D::get(e, "request_id")?;
            while timelines[index].request_id < request_id {
                index += 1;
            }
            let status: Option<String> = D::get(e, "status")?;
            timelines[index].events.push(TimelineEvent {
                at: get_time::<D, _>(e, "at")?, kind: parse_stored("kind", &D::get::<String, _>(e, "kind")?)?,
                status: status.as_deref().map(|s| parse_stored("status", s)).transpose()?,
                agency: D::get(e, "agency_code")?, new_due_at: D::get_opt_time(e, "new_due_at")?,
            });
        }
        Ok(timelines)
    }

    async fn set_deadlines(&self, updates: &[DeadlineUpdate]) -> Result<()> {
        let mut tx = self.begin().await?;
        for u in updates {
            D::sql("UPDATE requests SET due_at = $1, paused_at = $2, escalation_level = 0 WHERE id = $3")
                .bind_opt_time(u.due_at).bind_opt_time(u.paused_at).bind(u.request_id)
                .execute(&mut tx).await?;
            insert_event::<D>(&mut tx, u.request_id, &u.event).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
