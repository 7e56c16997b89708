//! The periodic work `okno serve` does, as jobs for the [`JobRunner`]: deadline checks and
//! escalation, spike scans of yesterday and today, systemic-problem scans, and webhook delivery
//! from the outbox. A zero interval switches a job off.

use crate::jobs::{JobRunner, RunResult};
use crate::App;
use chrono::Utc;
use std::future::Future;
use std::time::Duration;

/// How often each job runs.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Deadline check and escalation.
    pub deadline_check: Duration,
    /// Spike scan of yesterday and today.
    pub spike_scan: Duration,
    /// Systemic-problem scan.
    pub problem_scan: Duration,
    /// Webhook delivery from the outbox.
    pub webhook_delivery: Duration,
}

/// The jobs of `app`, not started.
pub fn jobs(app: &App, every: Intervals) -> JobRunner {
    let mut jobs = JobRunner::new();
    let app = &App { jobs: jobs.board(), ..app.clone() };
    add(&mut jobs, app, "deadline-check", every.deadline_check, |app| async move {
        let r = crate::deadlines::sla_check(app.store.as_ref(), &app.deadlines, Utc::now()).await.map_err(|e| e.to_string())?;
        Ok(if r.escalated > 0 { format!("{} overdue, {} escalated", r.overdue, r.escalated) } else { String::new() })
    });
    add(&mut jobs, app, "spike-scan", every.spike_scan, |app| async move {
        let r = crate::alerts::scan_recent(&app, Utc::now()).await.map_err(|e| e.to_string())?;
        Ok(if r.raised > 0 { format!("{} spikes raised, {} updated", r.raised, r.updated) } else { String::new() })
    });
    add(&mut jobs, app, "problem-scan", every.problem_scan, |app| async move {
        let r = crate::problems::scan_now(&app, Utc::now()).await.map_err(|e| e.to_string())?;
        Ok(if r.created + r.extended > 0 { format!("{} systemic problems proposed, {} extended", r.created, r.extended) } else { String::new() })
    });
    let client = reqwest::Client::new();
    add(&mut jobs, app, "webhook-delivery", every.webhook_delivery, move |app| {
        let client = client.clone();
        async move {
            let r = crate::outbox::deliver_webhooks(app.store.as_ref(), &client, Utc::now()).await.map_err(|e| e.to_string())?;
            Ok(if r.delivered + r.failed > 0 { format!("{} webhooks delivered, {} failed", r.delivered, r.failed) } else { String::new() })
        }
    });
    jobs
}

/// Adds job `name`, each run given its own handle on `app`.
fn add<F, Fut>(jobs: &mut JobRunner, app: &App, name: &'static str, every: Duration, run: F)
where
    F: Fn(App) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = RunResult> + Send + 'static,
{
    let app = app.clone();
    jobs.add(name, every, move || run(app.clone()));
}
