//! `okno problems`: scan recent requests for systemic problems and list them, from the command line.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use okno_core::problem::{Problem, ProblemFilter, ProblemRules, ProblemState};
use okno_store::Store;
use std::path::PathBuf;

/// Systemic problem commands.
#[derive(Debug, Subcommand)]
pub enum ProblemCommand {
    /// Cluster the requests of the last `days` (see the rules) and store new proposals and new
    /// requests of known problems; prints the report and the largest problems found.
    Scan {
        /// Clustering rules as TOML (radius_m, min_similarity, min_neighbours, min_members,
        /// min_days, max_radius_m, days); the defaults otherwise.
        #[arg(long, env = "OKNO_PROBLEM_RULES")]
        rules: Option<PathBuf>,
        /// Deadline configuration, whose time zone days are counted in (the shipped one if absent).
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
        /// Scan as of the end of this local date instead of now (for imported history).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        /// How many of the largest problems to print.
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// List problems, newest first, one per line.
    List {
        /// Only this state: proposed, accepted, dismissed or closed.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// One problem as a line of text.
fn line(p: &Problem) -> String {
    let f = &p.summary;
    format!(
        "#{:<5} {:<9} {:>5} requests  {}..{}  {:<28} r={:>4.0} m  ({:.5}, {:.5})  {}",
        p.id, p.state.as_str(), p.members, f.first_at.date_naive(), f.last_at.date_naive(), f.topic,
        f.radius_m, f.centre.lat, f.centre.lon, p.title.as_deref().unwrap_or(&f.sample_text).chars().take(70).collect::<String>(),
    )
}

/// Scans with `rules` as of `at`, days counted in `zone`; returns the report and the seconds it took.
async fn scan_stored(store: &dyn Store, rules: &ProblemRules, zone: chrono_tz::Tz, at: DateTime<Utc>) -> Result<(okno_app::problems::ProblemScanReport, f64)> {
    let started = std::time::Instant::now();
    let report = okno_app::problems::scan(store, rules, zone, at).await?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// Runs a problem command on `store`.
pub async fn run(store: &dyn Store, command: ProblemCommand) -> Result<()> {
    match command {
        ProblemCommand::Scan { rules, deadlines, until, top } => {
            let deadlines = crate::config::load_deadlines(deadlines.as_deref())?;
            let rules = crate::config::load_rules(rules.as_deref(), "problem rules", ProblemRules::validated)?;
            let at = until.map_or_else(Utc::now, |day| deadlines.start_of_day(day + chrono::Duration::days(1)));
            let (report, seconds) = scan_stored(store, &rules, deadlines.timezone, at).await?;
            println!("{}", serde_json::json!({ "report": report, "seconds": seconds }));
            let mut found = store.problems(&ProblemFilter { limit: 100_000, ..Default::default() }).await?;
            found.sort_by_key(|p| std::cmp::Reverse(p.members));
            for p in found.iter().take(top) {
                println!("{}", line(p));
            }
            Ok(())
        }
        ProblemCommand::List { state, limit } => {
            let states = state.map(|s| s.parse::<ProblemState>().map_err(anyhow::Error::msg)).transpose()?.into_iter().collect();
            for p in store.problems(&ProblemFilter { states, limit, ..Default::default() }).await? {
                println!("{}", line(&p));
            }
            Ok(())
        }
    }
}
