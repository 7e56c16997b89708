//! `okno-bench classify`: Okno's classifiers trained and evaluated on the fixed St. Petersburg
//! split, beside the scikit-learn pipeline the issue names run on the same rows in the same run.
//!
//! Both sides run on one core. Prediction speed is the median of `--repeat` passes over the test
//! texts, end to end (normalization, features, scores, top 3; for the agency, the reason model
//! first, as at intake). Besides the targets, the figures with the kind of place the
//! citizen picked on the form (`city_object`) read beside the text.

use crate::suites::{ratio, run_python, write_results};
use okno::classify::{evaluate_model, predict_all, split_rows, train_model, LabelledRow, Target, Topics};
use anyhow::Result;
use okno_classify::{FeatureConfig, Model, TrainParams};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The form field naming the kind of place (building, yard, street…) the citizen picked: the
/// `*_with_city_object` figures show what asking for it adds.
const PLACE_KIND: &str = "city_object";

/// What `okno-bench classify` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassifyArgs {
    /// The portal's appeals.csv.gz.
    #[arg(long, default_value = "../shared/data/ru_spb_appeals/appeals.csv.gz")]
    pub appeals: PathBuf,
    /// The folder with train_ids.txt and test_ids.txt.
    #[arg(long, default_value = "../shared/data/ru_spb_appeals/split")]
    pub split: PathBuf,
    /// A Python with scikit-learn for the baseline (`scripts/bench/python-env.sh` makes it);
    /// the baseline is skipped, with the reason in the results, when it cannot run.
    #[arg(long, default_value = ".venv/bin/python")]
    pub python: PathBuf,
    /// The baseline script.
    #[arg(long, default_value = "scripts/bench/sklearn_baseline.py")]
    pub baseline_script: PathBuf,
    /// Timed prediction passes over the test texts; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results/classify.json")]
    pub out: PathBuf,
}

/// Trains and evaluates every target, runs the baseline, and writes both with their ratios.
pub fn classify(args: ClassifyArgs) -> Result<Value> {
    anyhow::ensure!(args.appeals.exists() && args.split.is_dir(), "the St. Petersburg data or its split is not at {}", args.appeals.display());
    let (train, test) = split_rows(&args.appeals, &args.split)?;
    let mut results = json!({
        "machine": {"cores": std::thread::available_parallelism().map_or(0, |n| n.get())},
        "data": {"appeals": args.appeals, "split": args.split, "train_rows": train.len(), "test_rows": test.len()},
    });
    let mut okno = serde_json::Map::new();
    let trained = |target: Target, extra_fields: Option<&[&str]>| -> Result<(Model, f64)> {
        eprintln!("== training the {target:?} model (extra fields: {extra_fields:?})");
        let extra_fields = extra_fields.map(|fields| fields.iter().map(|f| (*f).to_owned()).collect());
        train_model(&train, target, extra_fields, FeatureConfig::default(), TrainParams::default())
    };
    let (category, category_seconds) = trained(Target::Category, None)?;
    let (reason, reason_seconds) = trained(Target::Reason, None)?;
    let (agency, agency_seconds) = trained(Target::Agency, None)?;
    let (reason_kind, reason_kind_seconds) = trained(Target::Reason, Some(&[PLACE_KIND]))?;
    let (agency_kind, agency_kind_seconds) = trained(Target::Agency, Some(&["district", PLACE_KIND]))?;
    let measured = [
        ("category", &category, Topics::Unknown, category_seconds),
        ("reason", &reason, Topics::Unknown, reason_seconds),
        ("agency", &agency, Topics::Predicted(&reason), agency_seconds + reason_seconds),
        ("agency_text_and_place", &agency, Topics::Unknown, agency_seconds),
        ("agency_given_topic", &agency, Topics::Given, agency_seconds),
        ("reason_with_city_object", &reason_kind, Topics::Unknown, reason_kind_seconds),
        ("agency_with_city_object", &agency_kind, Topics::Predicted(&reason_kind), agency_kind_seconds + reason_kind_seconds),
    ];
    for (name, model, topics, train_seconds) in measured {
        eprintln!("== evaluating {name}");
        okno.insert(name.to_owned(), figures(model, topics, &test, train_seconds, args.repeat)?);
    }
    results["okno"] = Value::Object(okno);
    write_results(&args.out, &results)?;
    eprintln!("== the scikit-learn baseline (about a minute)");
    let repeat = args.repeat.to_string();
    results["baseline"] = run_python(&args.python, &args.baseline_script, &[args.appeals.as_os_str(), args.split.as_os_str(), "--repeat".as_ref(), repeat.as_ref()])
        .unwrap_or_else(|e| {
            eprintln!("baseline skipped: {e:#}");
            json!({"skipped": format!("{e:#}")})
        });
    let ratios: serde_json::Map<String, Value> = [("category", "category"), ("reason", "reason"), ("agency", "agency_lookup")]
        .into_iter()
        .map(|(ours, theirs)| {
            let (a, b) = (&results["okno"][ours], &results["baseline"][theirs]);
            let each = ["accuracy", "macro_f1", "top3", "predict_texts_per_s"].map(|key| (key.to_owned(), ratio(a, b, key)));
            let mut each: serde_json::Map<String, Value> = each.into_iter().collect();
            each.insert("train_speedup".to_owned(), ratio(b, a, "train_seconds"));
            (ours.to_owned(), Value::Object(each))
        })
        .collect();
    results["ratios"] = Value::Object(ratios);
    write_results(&args.out, &results)?;
    eprintln!("results written to {}", args.out.display());
    Ok(results)
}

/// A model's figures on the test rows: quality from one pass, speed as the median of `repeat`.
fn figures(model: &Model, topics: Topics<'_>, test: &[LabelledRow], train_seconds: f64, repeat: usize) -> Result<Value> {
    let evaluation = evaluate_model(model, topics, test)?;
    let rows: Vec<&LabelledRow> = test.iter().collect();
    let mut speeds: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let (ranked, seconds) = predict_all(model, topics, &rows);
            ranked.len() as f64 / seconds.max(1e-9)
        })
        .collect();
    speeds.sort_by(f64::total_cmp);
    Ok(json!({
        "examples": evaluation["examples"], "accuracy": evaluation["accuracy"], "macro_f1": evaluation["macro_f1"],
        "weighted_f1": evaluation["weighted_f1"], "top3": evaluation["top3_accuracy"], "calibration_error": evaluation["calibration_error"],
        "train_seconds": train_seconds, "predict_texts_per_s": speeds[speeds.len() / 2], "predict_runs_texts_per_s": speeds,
    }))
}
