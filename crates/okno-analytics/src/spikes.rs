//! Spike alerts: is a topic's count in a territory today, or over the last seven days, more than
//! its recent history explains?
//!
//! The model, for one daily series:
//! - **day of week**: a profile of seven factors (mean 1), taken from the topic's series for the
//!   whole region, where the counts are large enough to show it;
//! - **level and trend**: a straight line fitted by least squares to the de-seasonalised history,
//!   each day weighted by `0.5^(age / half_life)` (double exponential smoothing), extended over the
//!   period and kept between half and twice the weighted mean, so a noisy slope cannot run away;
//! - **noise**: negative binomial with variance `dispersion × mean`, the dispersion estimated from
//!   the history's Pearson residuals (each day's capped, so a past spike does not mask the next);
//!   Poisson when the history shows no over-dispersion.
//!
//! Days on which the region received nothing at all (before a system went live, a gap between
//! imported extracts) are unknown, not zero: they are left out of the fit, and a series whose
//! history is less than half known is not tested.
//!
//! The score is `−log10 P(X ≥ observed)` under that model: 4 means a count this high would be seen
//! once in 10,000 periods by chance. An alert needs the score, a minimum count and a minimum ratio
//! of observed to expected, all in [`SpikeRules`].

use chrono::{Datelike, NaiveDate};

/// When a count is a spike.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikeRules {
    /// Days of history before the period that the baseline is fitted to.
    pub history_days: i32,
    /// Age in days at which a history day weighs half as much as yesterday.
    pub half_life_days: f64,
    /// The fewest requests in the period that can be a spike.
    pub min_observed: i64,
    /// The smallest ratio of observed to expected that can be a spike.
    pub min_ratio: f64,
    /// The smallest score (`−log10` of the chance of so many) that makes an alert.
    pub min_score: f64,
}

impl Default for SpikeRules {
    fn default() -> Self {
        SpikeRules { history_days: 84, half_life_days: 14.0, min_observed: 5, min_ratio: 1.5, min_score: 4.0 }
    }
}

impl SpikeRules {
    /// The rules, or what is wrong with them.
    pub fn validated(self) -> Result<SpikeRules, String> {
        if !(14..=730).contains(&self.history_days) {
            return Err(format!("history_days must be 14 to 730, not {}", self.history_days));
        }
        if !(1.0..=365.0).contains(&self.half_life_days) {
            return Err(format!("half_life_days must be 1 to 365, not {}", self.half_life_days));
        }
        if self.min_observed < 1 {
            return Err(format!("min_observed must be at least 1, not {}", self.min_observed));
        }
        if !(1.0..=100.0).contains(&self.min_ratio) {
            return Err(format!("min_ratio must be 1 to 100, not {}", self.min_ratio));
        }
        if !(0.0..=300.0).contains(&self.min_score) {
            return Err(format!("min_score must be 0 to 300, not {}", self.min_score));
        }
        Ok(self)
    }
}

/// Factors by day of week (Monday first) with mean 1.
pub type WeekdayProfile = [f64; 7];

/// The weekday factors of a daily series whose first count is on `first` (`None` for unknown
/// days): each weekday's mean over the series' mean, with one request added to every weekday so
/// a thin series gives a flat profile rather than zeros.
pub fn weekday_profile(counts: &[Option<i64>], first: NaiveDate) -> WeekdayProfile {
    let mut sums = [1.0_f64; 7];
    let mut days = [1.0_f64; 7];
    let first_weekday = first.weekday().num_days_from_monday() as usize;
    for (i, n) in counts.iter().enumerate().filter_map(|(i, n)| Some((i, (*n)?))) {
        let weekday = (first_weekday + i) % 7;
        sums[weekday] += n as f64;
        days[weekday] += 1.0;
    }
    let rates: Vec<f64> = sums.iter().zip(days).map(|(s, d)| s / d).collect();
    let mean = rates.iter().sum::<f64>() / 7.0;
    std::array::from_fn(|i| rates[i] / mean)
}

/// What the model expects over a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectation {
    /// Expected count over the period.
    pub expected: f64,
    /// Variance over mean (1 for Poisson).
    pub dispersion: f64,
}

/// The expectation for the `period_days` days right after `history` (whose first day is
/// `first`; `None` for unknown days), given the weekday profile.
pub fn expect(history: &[Option<i64>], first: NaiveDate, period_days: i32, profile: &WeekdayProfile, half_life_days: f64) -> Expectation {
    let weekday_of = |i: i64| profile[((i64::from(first.weekday().num_days_from_monday()) + i).rem_euclid(7)) as usize];
    let len = history.len() as i64;
    let decay = 0.5_f64.powf(1.0 / half_life_days);
    // Weighted least squares of the de-seasonalised counts on the day's offset from the period.
    let (mut sw, mut st, mut sy, mut stt, mut sty) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let known = || history.iter().enumerate().filter_map(|(i, n)| Some((i, (*n)?)));
    for (i, n) in known() {
        let t = i as f64 - len as f64;
        let w = decay.powf(-t - 1.0);
        let y = n as f64 / weekday_of(i as i64);
        sw += w;
        st += w * t;
        sy += w * y;
        stt += w * t * t;
        sty += w * t * y;
    }
    let floor = 1.0 / (len.max(1) as f64);
    if sw == 0.0 {
        return Expectation { expected: floor * f64::from(period_days), dispersion: 1.0 };
    }
    let mean = sy / sw;
    let spread = stt - st * st / sw;
    // The slope counts only by as much as it exceeds twice its standard error (Poisson noise
    // around the mean level assumed), so noise in a thin series is not extended as a trend.
    let raw_slope = if spread > 1e-9 { (sty - st * sy / sw) / spread } else { 0.0 };
    let error = (mean.max(floor) / spread.max(1e-9)).sqrt();
    let slope = raw_slope.signum() * (raw_slope.abs() - TREND_ERRORS * error).max(0.0);
    let at = |t: f64| (mean + slope * (t - st / sw)).clamp(0.5 * mean, 2.0 * mean).max(floor);
    let expected = (0..i64::from(period_days)).map(|k| at(k as f64) * weekday_of(len + k)).sum::<f64>();
    let (mut residuals, mut weights, mut squared_weights) = (0.0, 0.0, 0.0);
    for (i, n) in known() {
        let t = i as f64 - len as f64;
        let w = decay.powf(-t - 1.0);
        let fitted = at(t) * weekday_of(i as i64);
        residuals += w * ((n as f64 - fitted).powi(2) / fitted).min(MAX_SQUARED_RESIDUAL);
        weights += w;
        squared_weights += w * w;
    }
    // The estimate is raised by one standard error (a chi-square's, over the history's effective
    // number of days), since an under-estimated dispersion is what turns noise into alerts.
    let effective_days = weights * weights / squared_weights;
    let dispersion = (residuals / weights * (1.0 + (2.0 / effective_days).sqrt())).clamp(1.0, MAX_DISPERSION);
    Expectation { expected, dispersion }
}

/// Standard errors a trend must exceed before it is extended over the period.
const TREND_ERRORS: f64 = 1.0;
/// The cap on one day's squared Pearson residual in the dispersion (a five-sigma day).
const MAX_SQUARED_RESIDUAL: f64 = 25.0;
/// The largest dispersion the model assumes.
const MAX_DISPERSION: f64 = 25.0;
/// The largest score reported (the tail is then below 1e-300).
pub const MAX_SCORE: f64 = 300.0;

/// `−log10 P(X ≥ observed)` under the expectation's distribution; 0 when `observed` is not above
/// the expected count.
pub fn score(observed: i64, expectation: Expectation) -> f64 {
    let Expectation { expected: mean, dispersion } = expectation;
    if observed <= 0 || (observed as f64) <= mean || mean <= 0.0 {
        return 0.0;
    }
    let poisson = dispersion <= 1.0 + 1e-6;
    let r = mean / (dispersion - 1.0);
    let (log_q, log_rest) = ((1.0 / dispersion).ln(), (1.0 - 1.0 / dispersion).ln());
    let log_pmf = |k: f64| {
        if poisson {
            k * mean.ln() - mean - libm::lgamma(k + 1.0)
        } else {
            libm::lgamma(k + r) - libm::lgamma(r) - libm::lgamma(k + 1.0) + r * log_q + k * log_rest
        }
    };
    let first = log_pmf(observed as f64);
    let mut relative_sum = 0.0;
    for k in observed..observed + 100_000 {
        let term = (log_pmf(k as f64) - first).exp();
        relative_sum += term;
        if term < 1e-12 * relative_sum && (k as f64) > mean {
            break;
        }
    }
    let log_tail = first + relative_sum.ln();
    (-log_tail / std::f64::consts::LN_10).clamp(0.0, MAX_SCORE)
}

/// Tests one series: `counts` holds the history days followed by the `period_days` days
/// counted, the first on `first` (`None` for unknown days); the weekday profile is the series'
/// topic's. The count, the expectation and the score when the rules call it a spike.
pub fn test(counts: &[Option<i64>], first: NaiveDate, period_days: i32, profile: &WeekdayProfile, rules: &SpikeRules) -> Option<(i64, Expectation, f64)> {
    let split = counts.len().checked_sub(usize::try_from(period_days).ok()?)?;
    let observed: i64 = counts[split..].iter().flatten().sum();
    if observed < rules.min_observed || counts[..split].iter().flatten().count() * 2 < split {
        return None;
    }
    let expectation = expect(&counts[..split], first, period_days, profile, rules.half_life_days);
    if (observed as f64) < rules.min_ratio * expectation.expected {
        return None;
    }
    let score = score(observed, expectation);
    (score >= rules.min_score).then_some((observed, expectation, score))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2021, 1, 4).expect("a date")
    }

    #[test]
    fn poisson_tail_matches_the_closed_form() {
        // P(X ≥ 3 | Poisson(1)) = 1 − e^{-1}(1 + 1 + 1/2).
        let p = 1.0 - (-1.0_f64).exp() * 2.5;
        let s = score(3, Expectation { expected: 1.0, dispersion: 1.0 });
        assert!((s - (-p.log10())).abs() < 1e-9, "{s}");
        assert_eq!(score(1, Expectation { expected: 2.0, dispersion: 1.0 }), 0.0);
    }

    #[test]
    fn over_dispersion_lowers_the_score() {
        let poisson = score(20, Expectation { expected: 8.0, dispersion: 1.0 });
        let wide = score(20, Expectation { expected: 8.0, dispersion: 3.0 });
        assert!(poisson > wide && wide > 0.5, "{poisson} {wide}");
        // Geometric (dispersion 2, mean 1): P(X ≥ k) = (1/2)^k.
        let geometric = score(10, Expectation { expected: 1.0, dispersion: 2.0 });
        assert!((geometric - 10.0 * 2.0_f64.log10()).abs() < 1e-9, "{geometric}");
    }

    #[test]
    fn huge_counts_are_scored_without_overflow() {
        let s = score(5_000, Expectation { expected: 10.0, dispersion: 1.0 });
        assert_eq!(s, MAX_SCORE);
        assert!(score(1_000_000, Expectation { expected: 900_000.0, dispersion: 2.0 }).is_finite());
    }

    #[test]
    fn the_baseline_follows_weekdays_and_trend() {
        let profile = [1.2, 1.2, 1.2, 1.0, 1.0, 0.7, 0.7];
        // 10 a day on average, growing by 0.1 a day, shaped by the profile; then a Saturday.
        let history: Vec<Option<i64>> =
            (0..82).map(|i| Some(((10.0 + 0.1 * (f64::from(i) - 82.0)) * profile[(i % 7) as usize]).round() as i64)).collect();
        let e = expect(&history, monday(), 1, &profile, 14.0);
        // Day 82 is a Saturday (82 % 7 = 5): about 10 × 0.7 = 7.
        assert!((e.expected - 7.0).abs() < 0.5, "{e:?}");
        assert!(e.dispersion < 1.5, "{e:?}");
    }

    #[test]
    fn a_quiet_topic_with_a_sudden_burst_is_a_spike() {
        let mut counts = vec![Some(0_i64); 84];
        counts.push(Some(6));
        let profile = [1.0; 7];
        let hit = test(&counts, monday(), 1, &profile, &SpikeRules::default());
        assert!(hit.is_some_and(|(observed, _, score)| observed == 6 && score > 8.0), "{hit:?}");
        counts[84] = Some(4);
        assert_eq!(test(&counts, monday(), 1, &profile, &SpikeRules::default()), None, "below min_observed");
    }

    #[test]
    fn a_history_mostly_unknown_is_no_baseline() {
        // The first day of data after a gap is not a spike against the gap.
        let mut counts = vec![None; 60];
        counts.extend(vec![Some(0_i64); 24]);
        counts.push(Some(30));
        assert_eq!(test(&counts, monday(), 1, &[1.0; 7], &SpikeRules::default()), None);
        counts[..20].fill(Some(0));
        assert!(test(&counts, monday(), 1, &[1.0; 7], &SpikeRules::default()).is_some(), "44 known days of 84 are enough");
    }

    #[test]
    fn rules_out_of_range_are_refused() {
        assert!(SpikeRules { history_days: 3, ..SpikeRules::default() }.validated().is_err());
        assert!(SpikeRules { min_ratio: 0.5, ..SpikeRules::default() }.validated().is_err());
        assert!(SpikeRules::default().validated().is_ok());
    }
}
