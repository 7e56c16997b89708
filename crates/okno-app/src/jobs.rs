//! Periodic work as named jobs under one runner. Each job runs at once when started, then every
//! interval; a run that fails or panics is logged with the job's name and retried with a growing
//! delay (backoff) up to the interval; each job's last run, its duration and outcome are kept on
//! a [`JobBoard`] the HTTP edge shows to administrators; and [`RunningJobs::stop`] ends them all
//! cleanly on shutdown, letting a run in progress finish within a grace period.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What one run of a job returns: a one-line summary of what it did (empty when there was
/// nothing to do), or why it failed.
pub type RunResult = Result<String, String>;

/// The delay before the first retry of a failed job; each further failure doubles it, up to
/// the job's interval.
pub const RETRY_BASE: Duration = Duration::from_secs(5);

type RunFn = Arc<dyn Fn() -> BoxFuture<'static, RunResult> + Send + Sync>;

struct Job {
    name: &'static str,
    every: Duration,
    run: RunFn,
}

/// How a job's last run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It did its work.
    Ok,
    /// It returned an error.
    Failed,
    /// It panicked (caught; the job goes on).
    Panicked,
}

/// A job's state, as the board shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobStatus {
    /// The job's name (`deadline-check`, `spike-scan`…).
    pub name: &'static str,
    /// Seconds between runs when all goes well.
    pub every_s: u64,
    /// Whether a run is in progress.
    pub running: bool,
    /// Runs finished since the runner started.
    pub runs: u64,
    /// Runs that failed or panicked since the runner started.
    pub failures: u64,
    /// Failures in a row up to now (0 after a run that did its work).
    pub failing_in_a_row: u32,
    /// When the last run started.
    pub last_started_at: Option<DateTime<Utc>>,
    /// How long the last finished run took, in milliseconds.
    pub last_duration_ms: Option<u64>,
    /// How the last finished run ended.
    pub last_outcome: Option<Outcome>,
    /// What the last finished run said: its summary, or its error.
    pub last_message: Option<String>,
    /// When the next run is due.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The jobs' states, shared between the runner and whoever shows them.
#[derive(Debug, Clone, Default)]
pub struct JobBoard(Arc<RwLock<BTreeMap<&'static str, JobStatus>>>);

impl JobBoard {
    /// Every job's state, by name.
    pub fn snapshot(&self) -> Vec<JobStatus> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    fn update(&self, name: &'static str, change: impl FnOnce(&mut JobStatus)) {
        if let Some(status) = self.0.write().unwrap_or_else(PoisonError::into_inner).get_mut(name) {
            change(status);
        }
    }
}

/// Named periodic jobs, added before the runner starts them.
pub struct JobRunner {
    jobs: Vec<Job>,
    board: JobBoard,
    retry_base: Duration,
}

impl Default for JobRunner {
    fn default() -> Self {
        JobRunner { jobs: Vec::new(), board: JobBoard::default(), retry_base: RETRY_BASE }
    }
}

impl JobRunner {
    /// A runner without jobs, retrying failures after [`RETRY_BASE`] at first.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same, retrying failures after `retry_base` at first.
    pub fn with_retry_base(retry_base: Duration) -> Self {
        JobRunner { retry_base, ..Self::default() }
    }

    /// Adds job `name`, run every `every` (a zero interval adds nothing: the job is switched off).
    pub fn add<F, Fut>(&mut self, name: &'static str, every: Duration, run: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RunResult> + Send + 'static,
    {
        if every.is_zero() {
            return;
        }
        let status = JobStatus {
            name, every_s: every.as_secs(), running: false, runs: 0, failures: 0, failing_in_a_row: 0,
            last_started_at: None, last_duration_ms: None, last_outcome: None, last_message: None, next_run_at: None,
        };
        self.board.0.write().unwrap_or_else(PoisonError::into_inner).insert(name, status);
        self.jobs.push(Job { name, every, run: Arc::new(move || run().boxed()) });
    }

    /// The board the jobs report to (empty of runs until they start).
    pub fn board(&self) -> JobBoard {
        self.board.clone()
    }

    /// Starts every job on the current Tokio runtime.
    pub fn start(self) -> RunningJobs {
        let (stop, stopped) = watch::channel(false);
        let tasks = self
            .jobs
            .into_iter()
            .map(|job| tokio::spawn(run_job(job, self.board.clone(), self.retry_base, stopped.clone())))
            .collect();
        RunningJobs { stop, tasks, board: self.board }
    }
}

/// The jobs while they run.
pub struct RunningJobs {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    board: JobBoard,
}

impl RunningJobs {
    /// The board the jobs report to.
    pub fn board(&self) -> JobBoard {
        self.board.clone()
    }

    /// Stops every job: none starts another run; a run in progress may finish within `grace`,
    /// after which it is abandoned (its transaction, if any, rolls back).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + grace;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                tracing::warn!("a job did not finish within {} s of shutdown and was stopped", grace.as_secs());
            }
        }
    }
}

/// The delay before retrying a job that failed `failures` times in a row.
fn retry_delay(base: Duration, every: Duration, failures: u32) -> Duration {
    base.saturating_mul(1 << failures.saturating_sub(1).min(20)).min(every)
}

/// A panic's message, as far as it can be read.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

async fn run_job(job: Job, board: JobBoard, retry_base: Duration, mut stopped: watch::Receiver<bool>) {
    let mut failing = 0_u32;
    while !*stopped.borrow() {
        board.update(job.name, |s| {
            s.running = true;
            s.last_started_at = Some(Utc::now());
        });
        let begun = Instant::now();
        let result = AssertUnwindSafe((job.run)()).catch_unwind().await;
        let took = begun.elapsed();
        let (outcome, message) = match result {
            Ok(Ok(summary)) => (Outcome::Ok, summary),
            Ok(Err(error)) => (Outcome::Failed, error),
            Err(panic) => (Outcome::Panicked, panic_message(panic.as_ref())),
        };
        let delay = if outcome == Outcome::Ok {
            failing = 0;
            if !message.is_empty() {
                tracing::info!(job = job.name, ms = took.as_millis() as u64, "{message}");
            }
            job.every
        } else {
            failing += 1;
            let delay = retry_delay(retry_base, job.every, failing);
            tracing::warn!(job = job.name, failures = failing, retry_in_s = delay.as_secs(), error = %message, "job {outcome:?}");
            delay
        };
        board.update(job.name, |s| {
            s.running = false;
            s.runs += 1;
            s.failures += u64::from(outcome != Outcome::Ok);
            s.failing_in_a_row = failing;
            s.last_duration_ms = Some(took.as_millis() as u64);
            s.last_outcome = Some(outcome);
            s.last_message = Some(message);
            s.next_run_at = chrono::Duration::from_std(delay).ok().map(|d| Utc::now() + d);
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopped.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn status(board: &JobBoard, name: &str) -> JobStatus {
        board.snapshot().into_iter().find(|s| s.name == name).expect("the job is on the board")
    }

    #[test]
    fn retries_back_off_from_the_base_up_to_the_interval() {
        let (base, every) = (Duration::from_secs(5), Duration::from_secs(60));
        let delays: Vec<u64> = (1..=6).map(|n| retry_delay(base, every, n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
        assert_eq!(retry_delay(base, every, 400), every, "many failures do not overflow");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_job_is_retried_with_backoff_and_recovers() {
        let calls = Arc::new(AtomicU32::new(0));
        let mut runner = JobRunner::with_retry_base(Duration::from_secs(1));
        let counter = calls.clone();
        runner.add("flaky", Duration::from_secs(100), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(format!("failure {n}")) } else { Ok(String::new()) } }
        });
        let running = runner.start();
        let board = running.board();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the first run starts at once");
        let first = status(&board, "flaky");
        assert_eq!((first.last_outcome, first.failing_in_a_row, first.last_message.as_deref()), (Some(Outcome::Failed), 1, Some("failure 0")));
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "retried after the base delay, not the interval");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the second retry waits twice as long");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let recovered = status(&board, "flaky");
        assert_eq!((recovered.last_outcome, recovered.failing_in_a_row, recovered.failures, recovered.runs), (Some(Outcome::Ok), 0, 2, 3));
        tokio::time::sleep(Duration::from_secs(99)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3, "after a success the job waits its interval");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        running.stop(Duration::from_secs(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_job_is_caught_recorded_and_run_again() {
        let calls = Arc::new(AtomicU32::new(0));
        let mut runner = JobRunner::with_retry_base(Duration::from_secs(1));
        let counter = calls.clone();
        runner.add("boom", Duration::from_secs(10), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { panic!("the job broke") }
        });
        runner.add("steady", Duration::from_secs(10), || async { Ok("did its work".to_owned()) });
        runner.add("switched-off", Duration::ZERO, || async { Ok(String::new()) });
        let running = runner.start();
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let board = running.board();
        let boom = status(&board, "boom");
        assert_eq!((boom.last_outcome, boom.last_message.as_deref(), boom.failing_in_a_row), (Some(Outcome::Panicked), Some("the job broke"), 2));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the panic did not end the job");
        assert_eq!(status(&board, "steady").last_outcome, Some(Outcome::Ok), "other jobs go on");
        assert_eq!(board.snapshot().len(), 2, "a zero interval switches a job off");
        running.stop(Duration::from_secs(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn stop_lets_a_run_finish_within_the_grace_and_starts_no_other() {
        let (finished, calls) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let mut runner = JobRunner::new();
        let (done, counter) = (finished.clone(), calls.clone());
        runner.add("slow", Duration::from_secs(1), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let done = done.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(String::new())
            }
        });
        let running = runner.start();
        tokio::time::sleep(Duration::from_millis(500)).await;
        running.stop(Duration::from_secs(10)).await;
        assert_eq!((calls.load(Ordering::SeqCst), finished.load(Ordering::SeqCst)), (1, 1), "the run in progress finished, no other began");

        let mut runner = JobRunner::new();
        let done = finished.clone();
        runner.add("stuck", Duration::from_secs(1), move || {
            let done = done.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(String::new())
            }
        });
        let running = runner.start();
        tokio::time::sleep(Duration::from_millis(10)).await;
        running.stop(Duration::from_secs(2)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 1, "a run past the grace was abandoned");
    }
}
