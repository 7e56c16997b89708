//! Training: multinomial logistic regression by stochastic gradient descent with L2
//! regularization, on TF-IDF weighted hashed features; the softmax temperature is fitted on the
//! newest examples held out from a first pass. Deterministic: the same examples, settings and
//! seed give the same model, byte for byte.

use crate::features::{extra_bucket, FeatureConfig, Featurizer, Scratch, HASH_BITS};
use crate::roles::RoleTable;
use crate::routing::RoutingTable;
pub use crate::model::TrainParams;
use crate::model::{row_index, scores_into, softmax, vectorize_with, Model, ModelInfo, Vector, FORMAT_VERSION};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// One training example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example<'a> {
    /// The request's text.
    pub text: &'a str,
    /// Tokens given beside the text (`district:…`), the same fields for every example.
    pub extras: Vec<String>,
    /// The class.
    pub label: &'a str,
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Nothing to learn from.
    #[error("need examples of at least two classes, got {examples} examples of {classes}")]
    TooFewClasses {
        /// Examples given.
        examples: usize,
        /// Distinct labels among them.
        classes: usize,
    },
}

/// What to train: the target's name, the extra fields, features and settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSpec {
    /// Target name stored in the model.
    pub target: String,
    /// Names of the extra fields the examples carry, stored in the model.
    pub extra_fields: Vec<String>,
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Settings.
    pub params: TrainParams,
    /// For agency models: the roles the labels stand for.
    pub roles: Option<RoleTable>,
    /// For agency models: agencies by place and topic.
    pub routing: Option<RoutingTable>,
}

/// SHA-256 over the examples' texts, extras and labels, in order.
pub fn fingerprint(examples: &[Example<'_>]) -> String {
    let mut sha = Sha256::new();
    for e in examples {
        for part in std::iter::once(e.text).chain(e.extras.iter().map(String::as_str)).chain(std::iter::once(e.label)) {
            sha.update((part.len() as u64).to_le_bytes());
            sha.update(part.as_bytes());
        }
    }
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The examples as sparse vectors over the kept features.
struct Prepared {
    rows: Vec<u32>,
    idf: Vec<f32>,
    vectors: Vec<Vector>,
    labels: Vec<usize>,
}

fn prepare(featurizer: &Featurizer, examples: &[Example<'_>], classes: &BTreeMap<&str, usize>, min_df: u32) -> Prepared {
    let mut scratch = Scratch::default();
    let mut df = vec![0u32; 1 << HASH_BITS];
    let mut extra_buckets = BTreeSet::new();
    for e in examples {
        for &(bucket, _) in featurizer.count(e.text, &mut scratch) {
            df[bucket as usize] += 1;
        }
        extra_buckets.extend(e.extras.iter().map(|x| extra_bucket(x)));
    }
    let n = examples.len() as f32;
    let mut rows = Vec::new();
    let mut idf = Vec::new();
    for (bucket, &count) in df.iter().enumerate() {
        let bucket = bucket as u32;
        if count >= min_df.max(1) || extra_buckets.contains(&bucket) {
            rows.push(bucket);
            idf.push(((1.0 + n) / (1.0 + count as f32)).ln() + 1.0);
        }
    }
    let row_of = row_index(&rows);
    let vectors = examples
        .iter()
        .map(|e| {
            let extras: Vec<&str> = e.extras.iter().map(String::as_str).collect();
            let mut v = Vector::new();
            vectorize_with(featurizer, &row_of, &idf, e.text, &extras, &mut scratch, &mut v);
            v
        })
        .collect();
    let labels = examples.iter().map(|e| classes[e.label]).collect();
    Prepared { rows, idf, vectors, labels }
}

/// A small deterministic generator (SplitMix64) for the example order.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Fits weights and biases on the given examples (indices into `data`).
fn sgd(data: &Prepared, examples: &[usize], classes: usize, params: &TrainParams) -> (Vec<f32>, Vec<f32>) {
    let mut weights = vec![0f32; data.rows.len() * classes];
    let mut bias = vec![0f32; classes];
    let mut scale = 1f32;
    let mut order = examples.to_vec();
    let mut rng = SplitMix(params.seed);
    let (mut scores, mut t) = (Vec::with_capacity(classes), 0f32);
    let (lr0, l2, per_epoch) = (params.learning_rate, params.l2, examples.len().max(1) as f32);
    let averaged = params.averaged_epochs.clamp(1, params.epochs.max(1));
    let mut average = Average::new(weights.len(), classes);
    for epoch in 0..params.epochs {
        if epoch > params.epochs - averaged {
            average.add(&weights, scale, &bias);
        }
        rng.shuffle(&mut order);
        for &i in &order {
            let vector = &data.vectors[i];
            let lr = lr0 / (1.0 + t / per_epoch);
            t += 1.0;
            scores_into(&weights, &bias, vector, &mut scores);
            bias.iter().zip(scores.iter_mut()).for_each(|(b, s)| *s = b + (*s - b) * scale);
            softmax(&mut scores, 1.0);
            scores[data.labels[i]] -= 1.0;
            scale *= 1.0 - lr * l2;
            for &(row, value) in vector {
                let step = lr * value / scale;
                let w = &mut weights[row as usize * classes..(row as usize + 1) * classes];
                for (w, g) in w.iter_mut().zip(&scores) {
                    *w -= step * g;
                }
            }
            for (b, g) in bias.iter_mut().zip(&scores) {
                *b -= lr * g;
            }
            if scale < 1e-6 {
                weights.iter_mut().for_each(|w| *w *= scale);
                scale = 1.0;
            }
        }
    }
    average.add(&weights, scale, &bias);
    average.mean()
}

/// The running sum of the weights at the ends of the last epochs.
struct Average {
    weights: Vec<f32>,
    bias: Vec<f32>,
    count: u32,
}

impl Average {
    fn new(weights: usize, classes: usize) -> Average {
        Average { weights: vec![0.0; weights], bias: vec![0.0; classes], count: 0 }
    }

    /// Adds the weights as they are now (`weights` times `scale`, see [`sgd`]).
    fn add(&mut self, weights: &[f32], scale: f32, bias: &[f32]) {
        self.weights.iter_mut().zip(weights).for_each(|(sum, w)| *sum += w * scale);
        self.bias.iter_mut().zip(bias).for_each(|(sum, b)| *sum += b);
        self.count += 1;
    }

    fn mean(mut self) -> (Vec<f32>, Vec<f32>) {
        let n = self.count.max(1) as f32;
        self.weights.iter_mut().chain(self.bias.iter_mut()).for_each(|v| *v /= n);
        (self.weights, self.bias)
    }
}

/// Mean negative log-likelihood of the held-out examples at a temperature.
fn held_out_loss(data: &Prepared, held_out: &[usize], weights: &[f32], bias: &[f32], temperature: f32) -> f32 {
    let mut scores = Vec::new();
    let total: f32 = held_out
        .iter()
        .map(|&i| {
            scores_into(weights, bias, &data.vectors[i], &mut scores);
            softmax(&mut scores, temperature);
            -scores[data.labels[i]].max(1e-9).ln()
        })
        .sum();
    total / held_out.len().max(1) as f32
}

/// The temperature that minimizes the held-out loss (golden-section search over its logarithm).
fn fit_temperature(data: &Prepared, held_out: &[usize], weights: &[f32], bias: &[f32]) -> f32 {
    let loss = |log_t: f32| held_out_loss(data, held_out, weights, bias, log_t.exp());
    let ratio = (5f32.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (-2.5f32, 2.5f32);
    for _ in 0..30 {
        let (a, b) = (hi - ratio * (hi - lo), lo + ratio * (hi - lo));
        if loss(a) < loss(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// Trains a model on examples given oldest first (the newest are held out for calibration).
pub fn train(examples: &[Example<'_>], spec: &TrainSpec) -> Result<Model, TrainError> {
    let labels: BTreeSet<&str> = examples.iter().map(|e| e.label).collect();
    if labels.len() < 2 {
        return Err(TrainError::TooFewClasses { examples: examples.len(), classes: labels.len() });
    }
    let classes: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let featurizer = Featurizer::new(spec.features);
    let data = prepare(&featurizer, examples, &classes, spec.params.min_df);
    let all: Vec<usize> = (0..examples.len()).collect();
    let held = ((examples.len() as f32 * spec.params.calibration_share.clamp(0.0, 0.5)) as usize).min(examples.len() / 2);
    let temperature = if held > 0 {
        let (fit, held_out) = all.split_at(examples.len() - held);
        let (weights, bias) = sgd(&data, fit, classes.len(), &spec.params);
        fit_temperature(&data, held_out, &weights, &bias)
    } else {
        1.0
    };
    let (weights, bias) = sgd(&data, &all, classes.len(), &spec.params);
    let info = ModelInfo {
        format_version: FORMAT_VERSION,
        target: spec.target.clone(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        extra_fields: spec.extra_fields.clone(),
        features: spec.features,
        training: spec.params,
        data_fingerprint: fingerprint(examples),
        examples: examples.len(),
        temperature,
        roles: spec.roles.clone(),
        routing: spec.routing.clone(),
    };
    Ok(Model::new(info, data.rows, data.idf, &weights, bias))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelError, Query, Workspace};

    const CORPUS: [(&str, &str); 8] = [
        ("Яма на дороге у дома", "roads"),
        ("Глубокие ямы на проезжей части", "roads"),
        ("Разбит асфальт, ямы на дороге", "roads"),
        ("Не убран снег во дворе", "snow"),
        ("Сосульки и снег на крыше", "snow"),
        ("Двор завален снегом, не чистят", "snow"),
        ("Pothole on the road", "roads"),
        ("Snow not cleared in the yard", "snow"),
    ];

    fn spec() -> TrainSpec {
        TrainSpec {
            target: "topic".into(),
            extra_fields: vec!["district".into()],
            features: FeatureConfig::default(),
            params: TrainParams { epochs: 30, min_df: 1, calibration_share: 0.25, ..TrainParams::default() },
            roles: None,
            routing: None,
        }
    }

    fn examples() -> Vec<Example<'static>> {
        CORPUS.iter().map(|(text, label)| Example { text, extras: vec!["district:Невский".into()], label }).collect()
    }

    #[test]
    fn learns_topics_and_explains_them() {
        let model = train(&examples(), &spec()).unwrap();
        let top = model.ranked(&Query { text: "на дороге опять яма", extras: &["district:Невский"], ..Query::default() }, 2, &mut Workspace::default());
        assert_eq!(top[0].0, "roads");
        assert!(top[0].1 > top[1].1 && (top[0].1 + top[1].1 - 1.0).abs() < 1e-5);
        let why = model.explain(&Query { text: "снег во дворе не убран", ..Query::default() }, "snow", 3);
        assert!(why.iter().any(|c| c.feature.to_string().contains("снег")), "{why:?}");
        assert!(model.explain(&Query { text: "снег", ..Query::default() }, "no such label", 3).is_empty());
    }

    #[test]
    fn training_is_deterministic_and_files_round_trip() {
        let a = train(&examples(), &spec()).unwrap().to_bytes();
        let b = train(&examples(), &spec()).unwrap().to_bytes();
        assert_eq!(a, b);
        let loaded = Model::from_bytes(&a).unwrap();
        assert_eq!(loaded.to_bytes(), a);
        assert_eq!(loaded.info().data_fingerprint, fingerprint(&examples()));
    }

    #[test]
    fn bad_model_files_are_refused_with_their_reason() {
        let bytes = train(&examples(), &spec()).unwrap().to_bytes();
        assert!(matches!(Model::from_bytes(b"PK\x03\x04 a zip file"), Err(ModelError::NotAModel)));
        let mut other_version = bytes.clone();
        other_version[8] = 99;
        assert!(matches!(Model::from_bytes(&other_version), Err(ModelError::Version { found: 99 })));
        let mut flipped = bytes.clone();
        let middle = bytes.len() / 2;
        flipped[middle] ^= 0x40;
        assert!(matches!(Model::from_bytes(&flipped), Err(ModelError::Corrupt(_))));
        assert!(matches!(Model::from_bytes(&bytes[..bytes.len() - 100]), Err(ModelError::Corrupt(_))));
    }

    #[test]
    fn one_class_is_not_enough() {
        let one: Vec<Example<'_>> = examples().into_iter().filter(|e| e.label == "snow").collect();
        assert!(matches!(train(&one, &spec()), Err(TrainError::TooFewClasses { classes: 1, .. })));
    }

    #[test]
    fn empty_binary_and_huge_texts_still_get_a_prediction() {
        let model = train(&examples(), &spec()).unwrap();
        for text in ["", "\u{0}\u{1}\u{2}", &"яма ".repeat(200_000), "Яма на road, snow во дворе"] {
            let top = model.ranked(&Query { text, ..Query::default() }, 2, &mut Workspace::default());
            assert_eq!(top.len(), 2);
            assert!(top.iter().all(|s| s.1.is_finite()));
        }
    }
}
