//! How well the spike detector finds spikes whose place and size are known: series drawn from a
//! model of real request counts (weekday pattern, trend, over-dispersed noise), some with one
//! injected spike, scanned day by day exactly as the server scans the cube.

use okno_analytics::spikes::{test, weekday_profile, SpikeRules};
use okno_core::alert::Period;
use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, Poisson};

/// The synthetic data set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scenario {
    /// Series (topic × territory pairs).
    pub series: usize,
    /// Days per series (the first `history_days + 7` only feed the baseline).
    pub days: usize,
    /// Mean daily counts are drawn log-uniformly from this range.
    pub rates: (f64, f64),
    /// Gamma shape of the day-to-day noise (negative binomial `size`; smaller is noisier).
    pub noise_shape: f64,
    /// Share of series given one spike.
    pub spike_share: f64,
    /// A spike multiplies the expected count of its days by this.
    pub magnitude: f64,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario { series: 400, days: 200, rates: (2.0, 40.0), noise_shape: 30.0, spike_share: 0.3, magnitude: 3.0, seed: 7 }
    }
}

/// Weekday factors of the synthetic series (a workday peak, a quiet weekend), Monday first.
const WEEKDAYS: [f64; 7] = [1.2, 1.1, 1.05, 1.05, 1.0, 0.85, 0.75];

/// An injected spike.
#[derive(Debug, Clone, Copy)]
struct Injected {
    first: usize,
    days: usize,
    found: bool,
}

/// What the detector found on a scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// The scenario.
    pub scenario: Scenario,
    /// Spikes injected (half of one day, half of seven days).
    pub injected: usize,
    /// Injected spikes with an alert over one of their days.
    pub found: usize,
    /// Alerts raised (both periods, every day tested).
    pub alerts: usize,
    /// Alerts whose period overlaps an injected spike.
    pub true_alerts: usize,
    /// `true_alerts / alerts`.
    pub precision: f64,
    /// `found / injected`.
    pub recall: f64,
    /// Recall of the one-day spikes.
    pub recall_day: f64,
    /// Recall of the seven-day spikes (any seven days, not calendar weeks).
    pub recall_week: f64,
    /// Alerts on series without any spike, per 1,000 series-days tested.
    pub false_alerts_per_1000_days: f64,
}

/// Draws the scenario and scans every testable day of every series with both periods.
pub fn evaluate(scenario: Scenario, rules: &SpikeRules) -> Evaluation {
    let mut random = rand::rngs::StdRng::seed_from_u64(scenario.seed);
    let first_day = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
    let mean = WEEKDAYS.iter().sum::<f64>() / 7.0;
    let history = usize::try_from(rules.history_days).unwrap_or(0);
    let tested_from = history + 7;
    let (mut injected_all, mut alerts, mut true_alerts, mut quiet_alerts, mut quiet_days) = (Vec::new(), 0, 0, 0, 0);
    for _ in 0..scenario.series {
        let rate = (random.gen_range(scenario.rates.0.ln()..scenario.rates.1.ln())).exp();
        let trend = random.gen_range(-0.5..0.5);
        let noise = Gamma::new(scenario.noise_shape, 1.0 / scenario.noise_shape).expect("a positive shape");
        let expected: Vec<f64> = (0..scenario.days)
            .map(|d| rate * (1.0 + trend * (d as f64 / scenario.days as f64 - 0.5)) * WEEKDAYS[d % 7] / mean)
            .collect();
        let mut spike = (random.gen_bool(scenario.spike_share) && scenario.days > tested_from + 7).then(|| Injected {
            first: random.gen_range(tested_from..scenario.days - 7),
            days: if random.gen_bool(0.5) { 1 } else { 7 },
            found: false,
        });
        let counts: Vec<Option<i64>> = expected
            .iter()
            .enumerate()
            .map(|(d, &e)| {
                let boosted = match spike {
                    Some(s) if (s.first..s.first + s.days).contains(&d) => e * scenario.magnitude,
                    _ => e,
                };
                let lambda = boosted * noise.sample(&mut random);
                Some(if lambda <= 0.0 { 0 } else { Poisson::new(lambda).map_or(0, |p| p.sample(&mut random) as i64) })
            })
            .collect();
        for end in tested_from..scenario.days {
            let window = &counts[end + 1 - tested_from..=end];
            let window_first = first_day + chrono::Duration::days((end + 1 - tested_from) as i64);
            let profile = weekday_profile(&window[..history], window_first);
            let day = window_first + chrono::Duration::days(tested_from as i64 - 1);
            for period in [Period::Day, Period::Week] {
                let period_days = period.days_ending(day);
                if period == Period::Week && period_days == 1 {
                    continue;
                }
                let skip = tested_from - history - period_days as usize;
                let slice_first = window_first + chrono::Duration::days(skip as i64);
                if test(&window[skip..], slice_first, period_days, &profile, rules).is_none() {
                    continue;
                }
                alerts += 1;
                let alert_days = end + 1 - period_days as usize..end + 1;
                match spike.as_mut() {
                    Some(s) if alert_days.start < s.first + s.days && s.first < alert_days.end => {
                        true_alerts += 1;
                        s.found = true;
                    }
                    Some(_) => {}
                    None => quiet_alerts += 1,
                }
            }
        }
        if spike.is_none() {
            quiet_days += scenario.days - tested_from;
        }
        injected_all.extend(spike);
    }
    let found = injected_all.iter().filter(|s| s.found).count();
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let recall_of = |days: usize| {
        let of_period = injected_all.iter().filter(|s| s.days == days);
        ratio(of_period.clone().filter(|s| s.found).count(), of_period.count())
    };
    Evaluation {
        scenario,
        injected: injected_all.len(),
        found,
        alerts,
        true_alerts,
        precision: ratio(true_alerts, alerts),
        recall: ratio(found, injected_all.len()),
        recall_day: recall_of(1),
        recall_week: recall_of(7),
        false_alerts_per_1000_days: 1000.0 * ratio(quiet_alerts, quiet_days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tripled_counts_are_found_and_quiet_series_stay_quiet() {
        let e = evaluate(Scenario::default(), &SpikeRules::default());
        assert!(e.injected > 80, "{e:?}");
        // A tripled day is beyond chance from about five requests a day, a tripled week from
        // about one (a week split across two calendar weeks is counted in two parts).
        assert!(e.recall_week >= 0.8 && e.recall_day >= 0.4, "{e:?}");
        assert!(e.precision >= 0.9, "{e:?}");
        assert!(e.false_alerts_per_1000_days < 1.5, "{e:?}");
    }

    #[test]
    fn without_spikes_there_is_nothing_to_find() {
        let e = evaluate(Scenario { spike_share: 0.0, magnitude: 1.0, ..Scenario::default() }, &SpikeRules::default());
        assert_eq!((e.injected, e.true_alerts), (0, 0));
        assert!(e.false_alerts_per_1000_days < 1.0, "{e:?}");
    }
}
