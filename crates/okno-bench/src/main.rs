//! `okno-bench foundation|open311|sla|classify|analytics|alerts`: Okno's figures measured end to
//! end, side by side with their baselines in one run, written as JSON. No thresholds: these are
//! measurements. Kept out of the `okno` binary; servers it measures are the real `okno` binary
//! (by default the one built beside this one), started as child processes.

mod alerts;
mod analytics;
mod classify;
mod spike_evaluation;
mod suites;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// The same allocator as `okno`'s, so that imports and rollup loads measured in this process
/// cost what they cost in the product.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Okno's benchmarks.
#[derive(Debug, Parser)]
#[command(name = "okno-bench", version, about)]
struct Cli {
    /// The `okno` binary whose server is measured (default: the one beside this binary).
    #[arg(long, global = true, env = "OKNO_BIN")]
    okno: Option<PathBuf>,
    /// Which figures.
    #[command(subcommand)]
    suite: Suite,
}

/// Benchmark suites.
#[derive(Debug, Subcommand)]
enum Suite {
    /// Import speed, durable POST throughput and latency, server memory.
    Foundation(suites::FoundationArgs),
    /// Open311 GET and POST throughput and latency on the imported St. Petersburg data.
    Open311(suites::Open311Args),
    /// Deadline computation, full recomputation and scorecard latency.
    Sla(suites::SlaArgs),
    /// Classifier quality, training time and prediction speed against scikit-learn.
    Classify(classify::ClassifyArgs),
    /// Heat map, series and backlog queries on N resampled requests against DuckDB.
    Analytics(analytics::AnalyticsArgs),
    /// Spike detection: precision and recall on injected spikes, findings and scan time on
    /// the real St. Petersburg and Los Angeles requests.
    Alerts(alerts::AlertsArgs),
}

static OKNO_BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The `okno` binary to start servers from.
pub fn okno_binary() -> Result<PathBuf> {
    if let Some(path) = OKNO_BINARY.get() {
        return Ok(path.clone());
    }
    let beside = std::env::current_exe()?.with_file_name("okno");
    anyhow::ensure!(beside.exists(), "no okno binary at {}: build it (cargo build --release -p okno) or pass --okno PATH", beside.display());
    Ok(beside)
}

async fn run(cli: Cli) -> Result<serde_json::Value> {
    if let Some(path) = cli.okno {
        anyhow::ensure!(path.exists(), "--okno {}: no such file", path.display());
        let _ = OKNO_BINARY.set(path);
    }
    match cli.suite {
        Suite::Foundation(args) => suites::foundation(args).await,
        Suite::Open311(args) => suites::open311(args).await,
        Suite::Sla(args) => suites::sla(args).await,
        Suite::Classify(args) => classify::classify(args),
        Suite::Analytics(args) => analytics::analytics(args).await,
        Suite::Alerts(args) => alerts::alerts(args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OKNO_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Runtime::new().context("starting the runtime").and_then(|runtime| runtime.block_on(run(cli)));
    match result.and_then(|results| Ok(serde_json::to_string_pretty(&results)?)) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
