//! Deadlines over whole timelines: recomputing every stored deadline under the current regimes,
//! calibrating a regime table from an imported source's own deadline changes, and checking how
//! many of that source's deadlines Okno reproduces.

use crate::error::{AppError, Result};
use chrono::{DateTime, Utc};
use okno_core::clock::{replay, ClockState, DeadlineRules, DueChange};
use okno_core::deadline::DeadlineConfig;
use okno_core::{Channel, EventKind, NewEvent, RequestId, Status};
use okno_store::{DeadlineUpdate, Store, Timeline};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Timelines read per round trip.
const BATCH: u32 = 5_000;

/// Walks every stored timeline in id order, batch by batch.
pub async fn for_each_batch(store: &dyn Store, mut visit: impl AsyncFnMut(Vec<Timeline>) -> Result<()>) -> Result<()> {
    let mut after = RequestId(0);
    loop {
        let batch = store.timelines(after, BATCH).await?;
        let Some(last) = batch.last() else { return Ok(()) };
        after = last.request_id;
        visit(batch).await?;
    }
}

/// The regime each service's catalog entry names.
pub async fn catalog_regimes(store: &dyn Store) -> Result<HashMap<String, String>> {
    Ok(store.services().await?.into_iter().map(|s| (s.code.into(), s.deadline_regime)).collect())
}

/// The rules of a service: the configuration's choice, else its catalog regime.
pub fn rules_of<'c>(config: &'c DeadlineConfig, catalog: &HashMap<String, String>, service: &str) -> Option<DeadlineRules<'c>> {
    config.rules_for(service, catalog.get(service).map_or("", String::as_str))
}

/// A stored timeline replayed under `rules`.
pub fn replay_timeline(rules: DeadlineRules<'_>, timeline: &Timeline) -> (ClockState, Vec<DueChange>) {
    replay(rules, timeline.events.iter().map(|e| e.fact()))
}

/// What a recomputation did.
#[derive(Debug, Default, Serialize)]
pub struct RecomputeReport {
    /// Requests read.
    pub requests: u64,
    /// Requests whose timelines were replayed.
    pub replayed: u64,
    /// Requests whose deadline or pause state changed (and got a `deadline_recomputed` event).
    pub changed: u64,
    /// Imported requests left with their source's deadlines.
    pub imported_kept: u64,
    /// Requests whose service has no known regime.
    pub no_regime: u64,
}

/// Replays every request's timeline under `config` and stores the deadlines that differ, each
/// with a `deadline_recomputed` event. Imported requests keep the deadlines their source set
/// unless `include_imported`; `dry_run` counts without writing.
pub async fn recompute(store: &dyn Store, config: &DeadlineConfig, include_imported: bool, dry_run: bool, now: DateTime<Utc>) -> Result<RecomputeReport> {
    let catalog = catalog_regimes(store).await?;
    let mut report = RecomputeReport::default();
    for_each_batch(store, async |batch| {
        let mut updates = Vec::new();
        for t in &batch {
            report.requests += 1;
            if t.channel == Channel::Import && !include_imported {
                report.imported_kept += 1;
                continue;
            }
            let Some(rules) = rules_of(config, &catalog, &t.service_code) else {
                report.no_regime += 1;
                continue;
            };
            report.replayed += 1;
            let (state, _) = replay_timeline(rules, t);
            if state.due_at != t.due_at || state.paused_at != t.paused_at {
                let mut event = NewEvent::new(now, EventKind::DeadlineRecomputed, "system");
                event.old_due_at = t.due_at;
                event.new_due_at = state.due_at;
                event.text = Some(format!("recomputed from the timeline under the {} regime", rules.regime.code));
                updates.push(DeadlineUpdate { request_id: t.request_id, due_at: state.due_at, paused_at: state.paused_at, event });
            }
        }
        report.changed += updates.len() as u64;
        if !dry_run && !updates.is_empty() {
            store.set_deadlines(&updates).await?;
        }
        Ok(())
    })
    .await?;
    Ok(report)
}

/// How often Okno's deadlines meet a source's, by local date.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Agreement {
    /// Deadlines compared.
    pub compared: u64,
    /// Same local date.
    pub exact: u64,
    /// At most one working day apart.
    pub within_one_working_day: u64,
    /// Okno's deadline earlier than the source's (by more than a working day).
    pub okno_earlier: u64,
    /// Okno's deadline later than the source's (by more than a working day).
    pub okno_later: u64,
    /// Share exact.
    pub exact_share: f64,
    /// Share within one working day.
    pub within_one_share: f64,
    /// Working days Okno's deadline lies after the source's (negative: before) → count, from −10 to 10.
    pub differences: BTreeMap<i64, u64>,
}

impl Agreement {
    fn add(&mut self, config: &DeadlineConfig, source: DateTime<Utc>, okno: Option<DateTime<Utc>>) {
        self.compared += 1;
        let Some(okno) = okno else {
            self.okno_later += 1;
            return;
        };
        let apart = config.working_days_apart(source, okno);
        let same_date = config.local_date(source) == config.local_date(okno);
        self.exact += u64::from(same_date);
        if same_date || apart.abs() <= 1 {
            self.within_one_working_day += 1;
        } else if apart < 0 {
            self.okno_earlier += 1;
        } else {
            self.okno_later += 1;
        }
        *self.differences.entry(apart.clamp(-10, 10)).or_default() += 1;
    }

    fn finish(&mut self) {
        let n = self.compared.max(1) as f64;
        self.exact_share = self.exact as f64 / n;
        self.within_one_share = self.within_one_working_day as f64 / n;
    }
}

/// Okno's replayed deadlines set against the ones an imported source set itself.
#[derive(Debug, Default, Serialize)]
pub struct Comparison {
    /// The source system.
    pub source: String,
    /// Its requests replayed.
    pub requests: u64,
    /// New deadlines the source set when it re-routed a request, against Okno's after the
    /// same re-routing.
    pub rerouting: Agreement,
    /// Open requests never re-routed: the source's current deadline against Okno's.
    pub open_not_rerouted: Agreement,
    /// Open requests that were re-routed.
    pub open_rerouted: Agreement,
    /// Open requests with an interim answer, where the source shows the date the agency
    /// promised (planned works) rather than a term any regime computes.
    pub open_after_interim_answer: Agreement,
}

/// Replays the timelines of requests imported from `source` under `config` and compares the
/// deadlines with the source's own: those its re-routing events set, and the current
/// deadline of each open request.
pub async fn compare(store: &dyn Store, config: &DeadlineConfig, source: &str) -> Result<Comparison> {
    let catalog = catalog_regimes(store).await?;
    let mut out = Comparison { source: source.to_owned(), ..Default::default() };
    for_each_batch(store, async |batch| {
        for t in batch.iter().filter(|t| t.source_system.as_deref() == Some(source)) {
            let Some(rules) = rules_of(config, &catalog, &t.service_code) else { continue };
            out.requests += 1;
            let (state, changes) = replay_timeline(rules, t);
            let due_after = |index: usize| changes.iter().take_while(|c| c.index <= index).last().and_then(|c| c.new);
            let mut rerouted = false;
            for (i, e) in t.events.iter().enumerate() {
                if let (EventKind::Routed, Some(source_due)) = (e.kind, e.new_due_at) {
                    rerouted = true;
                    out.rerouting.add(config, source_due, due_after(i));
                }
            }
            if let (Some(source_due), true) = (t.due_at, t.status.awaits_agency()) {
                let class = match (t.status, rerouted) {
                    (Status::IntermediateAnswer, _) => &mut out.open_after_interim_answer,
                    (_, true) => &mut out.open_rerouted,
                    (_, false) => &mut out.open_not_rerouted,
                };
                class.add(config, source_due, state.due_at);
            }
        }
        Ok(())
    })
    .await?;
    for a in [&mut out.rerouting, &mut out.open_not_rerouted, &mut out.open_rerouted, &mut out.open_after_interim_answer] {
        a.finish();
    }
    Ok(out)
}

/// What a calibration found.
#[derive(Debug, Default, Serialize)]
pub struct Calibration {
    /// Services with enough observations to get their own term.
    pub calibrated_services: usize,
    /// Services left with their catalog regime.
    pub uncalibrated_services: usize,
    /// Deadline changes observed.
    pub observations: u64,
    /// Observations that equal their service's chosen term.
    pub observations_matching: u64,
    /// Distinct terms, in working days → number of services.
    pub terms: BTreeMap<u32, usize>,
}

/// Derives each service's answer term, in working days, from the deadlines `source` set when it
/// re-routed requests (the most common distance from the re-routing day to the new deadline),
/// for services with at least `min_observations`, counted on `config`'s calendar. Returns the
/// deadline configuration `base` (the TOML `config` was loaded from) extended with one regime per term (a copy of the service's regime with that term) and a
/// `[services]` table pointing each calibrated service to its regime (the caller checks the
/// result loads before using it).
pub async fn calibrate(store: &dyn Store, config: &DeadlineConfig, mut table: toml::Table, source: &str, min_observations: u64) -> Result<(String, Calibration)> {
    let catalog = catalog_regimes(store).await?;
    let mut observed: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    for_each_batch(store, async |batch| {
        for t in batch.iter().filter(|t| t.source_system.as_deref() == Some(source)) {
            for e in t.events.iter().filter(|e| e.kind == EventKind::Routed) {
                if let Some(term) = e.new_due_at.and_then(|due| u32::try_from(config.working_days_apart(e.at, due)).ok()) {
                    *observed.entry(t.service_code.to_string()).or_default().entry(term).or_default() += 1;
                }
            }
        }
        Ok(())
    })
    .await?;
    let mut report = Calibration::default();
    let mut services = toml::Table::new();
    let mut new_regimes = toml::Table::new();
    for (service, terms) in &observed {
        let total: u64 = terms.values().sum();
        report.observations += total;
        let Some(base_code) = catalog.get(service) else { continue };
        let base_regime = table.get("regimes").and_then(|r| r.get(base_code)).and_then(toml::Value::as_table).cloned();
        let (Some(mut regime), true) = (base_regime, total >= min_observations) else {
            report.uncalibrated_services += 1;
            continue;
        };
        let (&term, &matching) = terms.iter().max_by_key(|(term, count)| (**count, std::cmp::Reverse(**term))).expect("observed terms are not empty");
        report.observations_matching += matching;
        report.calibrated_services += 1;
        *report.terms.entry(term).or_default() += 1;
        let code = format!("{base_code}_{term}wd");
        if !new_regimes.contains_key(&code) {
            let title = regime.get("title").and_then(toml::Value::as_str).unwrap_or(base_code).to_owned();
            regime.insert("title".into(), format!("{title}: {term} рабочих дней").into());
            regime.insert("answer".into(), format!("{term} working_days").into());
            regime.insert("basis".into(), format!("calibrated from the deadlines {source} set when re-routing").into());
            regime.insert("verified".into(), false.into());
            new_regimes.insert(code.clone(), regime.into());
        }
        services.insert(service.clone(), code.into());
    }
    if let Some(toml::Value::Table(regimes)) = table.get_mut("regimes") {
        regimes.extend(new_regimes);
    }
    table.entry("services").or_insert_with(|| toml::Table::new().into()).as_table_mut().ok_or_else(|| AppError::Input("[services] must be a table".into()))?.extend(services);
    let text = format!(
        "# Deadline configuration calibrated by `okno sla calibrate --source {source}` from {} observed\n\
         # deadline changes; the per-service terms below are derived from the data, not from regulations.\n\n{}",
        report.observations,
        toml::to_string(&table)?
    );
    Ok((text, report))
}
