//! `okno alerts`: scan days for spikes and list the alerts, from the command line.

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use okno_analytics::spikes::SpikeRules;
use okno_core::alert::{Alert, AlertFilter, AlertState};
use okno_store::Store;
use std::path::PathBuf;

/// Spike alert commands.
#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Scan days for spikes of a topic in a territory or the whole region and record the
    /// alerts (a period already alerted gets the new counts and keeps its state); prints the
    /// report and the strongest alerts of those days.
    Scan {
        /// First local date (default: yesterday).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last local date (default: today).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Spike rules as TOML (history_days, half_life_days, min_observed, min_ratio,
        /// min_score); the defaults otherwise.
        #[arg(long, env = "OKNO_ALERT_RULES")]
        rules: Option<PathBuf>,
        /// Deadline configuration, whose time zone the days are counted in (the shipped one,
        /// Europe/Moscow, if absent), as `serve` counts them.
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
        /// How many of the strongest alerts to print.
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// List alerts, newest first, one per line.
    List {
        /// Only this state: new, acknowledged or resolved.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// One alert as a line of text.
fn line(a: &Alert) -> String {
    let s = &a.spike;
    format!(
        "#{:<6} {:<12} {} {}..{}  {:<40} {:<36} observed {:>5}  expected {:>7.1}  score {:>6.1}",
        a.id, a.state.as_str(), s.period.as_str(), s.first_day, s.last_day, s.category,
        s.territory.as_deref().unwrap_or("(region)"), s.observed, s.expected, s.score,
    )
}

/// Runs an alert command on `store`.
pub async fn run(store: &dyn Store, command: AlertCommand) -> Result<()> {
    match command {
        AlertCommand::Scan { from, to, rules, deadlines, top } => {
            let zone = crate::config::load_deadlines(deadlines.as_deref())?.timezone;
            let rules = crate::config::load_rules(rules.as_deref(), "spike rules", SpikeRules::validated)?;
            let (from, to) = okno_app::alerts::scan_period(zone, from, to, Utc::now())?;
            let analytics = okno_app::analytics::Analytics::new(zone);
            analytics.reload(store).await.context("loading the rollups")?;
            let started = std::time::Instant::now();
            let report = okno_app::alerts::scan(&analytics, store, from, to, &rules, Utc::now()).await?;
            let seconds = started.elapsed().as_secs_f64();
            println!("{}", serde_json::json!({ "report": report, "seconds": seconds }));
            for a in okno_app::alerts::strongest(store, from, to, top).await? {
                println!("{}", line(&a));
            }
            Ok(())
        }
        AlertCommand::List { state, limit } => {
            let states = state.map(|s| s.parse::<AlertState>().map_err(anyhow::Error::msg)).transpose()?.into_iter().collect();
            for a in store.alerts(&AlertFilter { states, limit, ..Default::default() }).await? {
                println!("{}", line(&a));
            }
            Ok(())
        }
    }
}
