//! How well predictions match the truth: accuracy, macro- and weighted-F1, top-k accuracy,
//! per-class precision/recall/F1, the most frequent confusions, and calibration.

use serde::Serialize;
use std::collections::BTreeMap;

/// Stands for "no prediction" among the confusions (an outcome with nothing ranked counts as wrong).
pub const NO_PREDICTION: &str = "(none)";

/// One class's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    /// The class.
    pub label: String,
    /// Of the predictions of this class, the share right.
    pub precision: f64,
    /// Of the examples of this class, the share found.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Examples of this class.
    pub support: usize,
}

/// A frequent mistake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// The true class.
    pub truth: String,
    /// What was predicted instead.
    pub predicted: String,
    /// How often.
    pub count: usize,
}

/// An evaluation's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Examples evaluated.
    pub examples: usize,
    /// Share predicted right.
    pub accuracy: f64,
    /// F1 averaged over classes (those in the truth or the predictions), unweighted.
    pub macro_f1: f64,
    /// F1 averaged over classes weighted by support.
    pub weighted_f1: f64,
    /// Share whose true class is among the three most probable.
    pub top3_accuracy: f64,
    /// Expected calibration error of the top probability (10 equal-width bins).
    pub calibration_error: f64,
    /// Per class, by label.
    pub per_class: Vec<ClassScore>,
    /// The most frequent mistakes, most frequent first.
    pub confusions: Vec<Confusion>,
}

/// One example's outcome: its true class and the ranked predictions (label, probability).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<'a> {
    /// The true class.
    pub truth: &'a str,
    /// Predictions, most probable first (none: counted as a miss).
    pub ranked: Vec<(&'a str, f32)>,
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 }
}

/// Scores outcomes; `confusions` caps the list of mistakes.
pub fn evaluate(outcomes: &[Outcome<'_>], confusions: usize) -> Evaluation {
    let n = outcomes.len();
    let mut support: BTreeMap<&str, usize> = BTreeMap::new();
    let mut predicted: BTreeMap<&str, usize> = BTreeMap::new();
    let mut right: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mistakes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let (mut correct, mut top3) = (0usize, 0usize);
    let mut bins = [(0usize, 0f64, 0usize); 10];
    for o in outcomes {
        let (first, probability) = o.ranked.first().copied().unwrap_or((NO_PREDICTION, 0.0));
        *support.entry(o.truth).or_default() += 1;
        if first != NO_PREDICTION {
            *predicted.entry(first).or_default() += 1;
        }
        let hit = first == o.truth && first != NO_PREDICTION;
        if hit {
            correct += 1;
            *right.entry(first).or_default() += 1;
        } else {
            *mistakes.entry((o.truth, first)).or_default() += 1;
        }
        top3 += usize::from(o.ranked.iter().take(3).any(|(l, _)| *l == o.truth));
        let bin = ((probability.clamp(0.0, 1.0) * 10.0) as usize).min(9);
        bins[bin].0 += 1;
        bins[bin].1 += f64::from(probability);
        bins[bin].2 += usize::from(hit);
    }
    let mut labels: Vec<&str> = support.keys().chain(predicted.keys()).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let per_class: Vec<ClassScore> = labels
        .iter()
        .map(|&label| {
            let (tp, s, p) = (right.get(label).copied().unwrap_or(0), support.get(label).copied().unwrap_or(0), predicted.get(label).copied().unwrap_or(0));
            let precision = if p > 0 { tp as f64 / p as f64 } else { 0.0 };
            let recall = if s > 0 { tp as f64 / s as f64 } else { 0.0 };
            ClassScore { label: label.to_owned(), precision, recall, f1: f1(precision, recall), support: s }
        })
        .collect();
    let share = |k: usize| if n > 0 { k as f64 / n as f64 } else { 0.0 };
    let mut confusions_list: Vec<Confusion> = mistakes
        .into_iter()
        .map(|((truth, predicted), count)| Confusion { truth: truth.to_owned(), predicted: predicted.to_owned(), count })
        .collect();
    confusions_list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.truth.cmp(&b.truth)).then_with(|| a.predicted.cmp(&b.predicted)));
    confusions_list.truncate(confusions);
    Evaluation {
        examples: n,
        accuracy: share(correct),
        macro_f1: if per_class.is_empty() { 0.0 } else { per_class.iter().map(|c| c.f1).sum::<f64>() / per_class.len() as f64 },
        weighted_f1: if n > 0 { per_class.iter().map(|c| c.f1 * c.support as f64).sum::<f64>() / n as f64 } else { 0.0 },
        top3_accuracy: share(top3),
        calibration_error: bins.iter().map(|&(count, confidence, hits)| if count > 0 { (confidence - hits as f64).abs() / n as f64 } else { 0.0 }).sum(),
        per_class,
        confusions: confusions_list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome<'a>(truth: &'a str, ranked: &[&'a str]) -> Outcome<'a> {
        Outcome { truth, ranked: ranked.iter().map(|l| (*l, 0.5)).collect() }
    }

    #[test]
    fn figures_match_a_hand_count() {
        let outcomes = [outcome("a", &["a", "b"]), outcome("a", &["b", "a"]), outcome("b", &["b", "a"]), outcome("c", &["b", "a", "c"])];
        let e = evaluate(&outcomes, 5);
        assert_eq!(e.accuracy, 0.5);
        assert_eq!(e.top3_accuracy, 1.0);
        // a: p 1, r 1/2, f1 2/3; b: p 1/3, r 1, f1 1/2; c: 0
        assert!((e.macro_f1 - (2.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
        assert!((e.weighted_f1 - (2.0 * 2.0 / 3.0 + 0.5) / 4.0).abs() < 1e-12);
        assert_eq!(e.confusions[0], Confusion { truth: "a".into(), predicted: "b".into(), count: 1 });
        assert!((e.calibration_error - 0.0).abs() < 1e-12, "confidence 0.5, accuracy 0.5");
        let none = evaluate(&[outcome("a", &[]), outcome("a", &["a"])], 5);
        assert_eq!((none.examples, none.accuracy, none.per_class.len()), (2, 0.5, 1));
    }
}
