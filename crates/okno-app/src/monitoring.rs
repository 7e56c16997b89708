//! What the server tells monitoring about its work: the queues of requests against their
//! deadlines, the notifications waiting in the outbox, and the periodic jobs. Read from the
//! records at the moment monitoring asks, so a figure is never older than the scrape.

use crate::deadlines::{horizons, DEFAULT_SOON_DAYS};
use crate::error::Result;
use crate::jobs::JobStatus;
use crate::App;
use chrono::{DateTime, Utc};
use okno_store::{OutboxBacklog, QueueCounts};

/// The state of the work at one moment.
#[derive(Debug, Clone)]
pub struct WorkState {
    /// Requests per agency (and unrouted) by queue: overdue, due today, due soon, without first
    /// reaction, unrouted past the routing deadline.
    pub queues: Vec<QueueCounts>,
    /// Notifications waiting for delivery, and those given up after every attempt failed.
    pub outbox: OutboxBacklog,
    /// Each periodic job's runs, failures and last duration.
    pub jobs: Vec<JobStatus>,
}

/// The state of the work at `now`.
pub async fn work_state(app: &App, now: DateTime<Utc>) -> Result<WorkState> {
    let (today_end, soon_end) = horizons(&app.deadlines, now, DEFAULT_SOON_DAYS);
    Ok(WorkState {
        queues: app.store.queue_counts(now, today_end, soon_end).await?,
        outbox: app.store.outbox_backlog(crate::outbox::MAX_ATTEMPTS).await?,
        jobs: app.jobs.snapshot(),
    })
}
