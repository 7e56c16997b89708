//! `okno-bench alerts`: how well the spike detector finds injected spikes (precision and recall
//! by spike size and by how busy a series is), what it finds in the real St. Petersburg and Los
//! Angeles requests, and how long a scan of one day takes.

use crate::suites::write_results;
use anyhow::Result;
use chrono::Duration;
use crate::spike_evaluation::{evaluate, Scenario};
use okno_analytics::spikes::SpikeRules;
use okno_core::alert::AlertDraft;
use okno_app::analytics::load_cube;
use okno_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What `okno-bench alerts` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct AlertsArgs {
    /// The St. Petersburg portal's appeals.csv.gz.
    #[arg(long, default_value = "../shared/data/ru_spb_appeals/appeals.csv.gz")]
    pub appeals: PathBuf,
    /// The Los Angeles 311 extract.
    #[arg(long, default_value = "../shared/data/la311/la311_4windows.csv")]
    pub la: PathBuf,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results/alerts.json")]
    pub out: PathBuf,
}

/// Precision and recall on synthetic series, by spike size and series volume.
fn injected_spikes(rules: &SpikeRules) -> Value {
    let mut rows = Vec::new();
    for (low, high) in [(0.5, 2.0), (2.0, 10.0), (10.0, 50.0)] {
        for magnitude in [1.5, 2.0, 3.0, 5.0] {
            let e = evaluate(Scenario { rates: (low, high), magnitude, ..Scenario::default() }, rules);
            rows.push(json!({
                "daily_rate": [low, high], "magnitude": magnitude, "injected": e.injected, "alerts": e.alerts,
                "precision": e.precision, "recall": e.recall, "recall_day": e.recall_day, "recall_week": e.recall_week,
                "false_alerts_per_1000_days": e.false_alerts_per_1000_days,
            }));
        }
        let quiet = evaluate(Scenario { rates: (low, high), spike_share: 0.0, ..Scenario::default() }, rules);
        rows.push(json!({ "daily_rate": [low, high], "magnitude": null, "alerts": quiet.alerts,
            "false_alerts_per_1000_days": quiet.false_alerts_per_1000_days }));
    }
    json!({ "scenario": Scenario::default(), "rows": rows })
}

/// Scans every day of a store's requests that has a full history before it; reports the alerts
/// by period, month and topic, the strongest, and the scan time per day.
async fn real_scan(store: &dyn Store, zone: chrono_tz::Tz, rules: &SpikeRules) -> Result<Value> {
    let cube = load_cube(store, zone).await?;
    let names: HashMap<okno_core::TerritoryCode, String> = store.territories().await?.into_iter().map(|t| (t.code, t.name_ru)).collect();
    let Some((first, last)) = store.rollup_hours().await? else { return Ok(json!({ "skipped": "no requests" })) };
    let day_of = |hour: i64| chrono::DateTime::from_timestamp(hour * 3600, 0).unwrap_or_default().with_timezone(&zone).date_naive();
    let (first, last) = (day_of(first), day_of(last));
    let start = first + Duration::days(i64::from(rules.history_days));
    let mut found: Vec<AlertDraft> = Vec::new();
    let mut seconds = Vec::new();
    let mut day = start;
    while day <= last {
        let began = Instant::now();
        let today = cube.spikes(day, rules);
        seconds.push(began.elapsed().as_secs_f64());
        // A week's alert is kept as of its last scanned day, as the store keeps it.
        for alert in today {
            found.retain(|a| !(a.period == alert.period && a.first_day == alert.first_day && a.category == alert.category && a.territory == alert.territory));
            found.push(alert);
        }
        day += Duration::days(1);
    }
    seconds.sort_by(f64::total_cmp);
    let median_ms = seconds.get(seconds.len() / 2).map_or(0.0, |s| s * 1000.0);
    let count_by = |key: &dyn Fn(&AlertDraft) -> String| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for a in &found {
            *counts.entry(key(a)).or_default() += 1;
        }
        counts
    };
    let by_period = count_by(&|a| a.period.as_str().to_owned());
    let by_month = count_by(&|a| a.first_day.format("%Y-%m").to_string());
    let by_topic = count_by(&|a| a.category.clone());
    let describe = |a: &AlertDraft| {
        let place = a.territory.as_ref().map_or("(whole region)".to_owned(), |t| names.get(t).cloned().unwrap_or_else(|| t.to_string()));
        json!({ "period": a.period, "first_day": a.first_day, "last_day": a.last_day, "topic": a.category, "place": place,
                "observed": a.observed, "expected": (a.expected * 10.0).round() / 10.0, "score": (a.score * 10.0).round() / 10.0 })
    };
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let region: Vec<Value> = found.iter().filter(|a| a.territory.is_none()).map(describe).collect();
    Ok(json!({
        "days_scanned": seconds.len(), "first_day": start, "last_day": last, "alerts": found.len(),
        "alerts_per_day": if seconds.is_empty() { 0.0 } else { found.len() as f64 / seconds.len() as f64 },
        "scan_ms_per_day_median": median_ms, "by_period": by_period, "by_month": by_month, "by_topic": by_topic,
        "strongest": found.iter().take(15).map(describe).collect::<Vec<_>>(), "whole_region": region,
    }))
}

/// Runs the bench and writes the results.
pub async fn alerts(args: AlertsArgs) -> Result<Value> {
    let rules = SpikeRules::default();
    let mut results = json!({ "rules": rules, "injected_spikes": injected_spikes(&rules) });
    if args.appeals.exists() {
        let store = okno_store::open("sqlite::memory:").await?;
        okno_app::imports::spb::import(store.clone(), &args.appeals, None).await?;
        results["st_petersburg"] = real_scan(&*store, chrono_tz::Europe::Moscow, &rules).await?;
    } else {
        results["st_petersburg"] = json!({ "skipped": format!("{} is absent", args.appeals.display()) });
    }
    if args.la.exists() {
        let store: Arc<dyn Store> = okno_store::open("sqlite::memory:").await?;
        okno_app::imports::us311::import(store.clone(), &args.la, okno_app::imports::us311::Profile::La).await?;
        // The four windows are a few days each, a year apart: a baseline of two weeks is the
        // most they hold, and it only exists inside a window (the rest of the history is empty).
        let short = SpikeRules { history_days: 14, half_life_days: 7.0, ..rules };
        results["los_angeles"] = real_scan(&*store, chrono_tz::America::Los_Angeles, &short).await?;
        results["los_angeles"]["rules"] = json!(short);
    } else {
        results["los_angeles"] = json!({ "skipped": format!("{} is absent", args.la.display()) });
    }
    write_results(&args.out, &results)?;
    Ok(results)
}
