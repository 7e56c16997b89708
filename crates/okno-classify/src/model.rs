//! A trained classifier: TF-IDF weighted hashed features, one weight row per kept feature
//! (a weight per class, stored as a byte times the row's scale), calibrated softmax
//! probabilities, top-k, explanations; saved as a versioned, checksummed file.

use crate::features::{extra_bucket, FeatureConfig, FeatureName, Featurizer, Scratch, HASH_BITS};
use crate::roles::{by_probability, RoleTable};
use crate::routing::{CompiledRouting, RoutingTable, TABLE_WEIGHT};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Passes over the examples.
    pub epochs: u32,
    /// Initial learning rate; it falls as `1 / (1 + epochs done)`, so that examples with
    /// the same features and different labels (short, templated texts) settle on their
    /// shares instead of following the last ones seen.
    pub learning_rate: f32,
    /// L2 regularization strength.
    pub l2: f32,
    /// The model is the mean of the weights at the ends of this many last epochs (1: the
    /// last weights), which smooths the noise of the final steps.
    pub averaged_epochs: u32,
    /// Text features seen in fewer examples than this are dropped.
    pub min_df: u32,
    /// Share of the newest examples held out to fit the temperature (0: none).
    pub calibration_share: f32,
    /// Seed of the example order.
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams { epochs: 12, learning_rate: 2.0, l2: 2e-6, averaged_epochs: 6, min_df: 2, calibration_share: 0.1, seed: 20_210_301 }
    }
}

/// The model file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;

/// First bytes of every model file.
const MAGIC: &[u8; 8] = b"OKNOCLS\0";

/// Row index meaning "feature not kept".
const ABSENT: u32 = u32::MAX;

/// Why a model file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a model file at all.
    #[error("not an Okno classifier model (wrong magic bytes)")]
    NotAModel,
    /// Written by a build with another format.
    #[error("model format version {found}; this Okno reads version {FORMAT_VERSION} — retrain with `okno train`")]
    Version {
        /// The file's version.
        found: u32,
    },
    /// Damaged: checksum, lengths or values do not add up.
    #[error("corrupt model file: {0}")]
    Corrupt(String),
}

/// What a model is and where it came from, stored in its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// File format version.
    pub format_version: u32,
    /// What it predicts (`category`, `reason`, `agency`…).
    pub target: String,
    /// The classes, in weight order.
    pub labels: Vec<String>,
    /// Which fields were given beside the text as extra tokens (e.g. `district`).
    pub extra_fields: Vec<String>,
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Training settings.
    pub training: TrainParams,
    /// SHA-256 of the training examples (text, extras and label of each, in order).
    pub data_fingerprint: String,
    /// Training examples used.
    pub examples: usize,
    /// Softmax temperature fitted on held-out examples (1: not calibrated).
    pub temperature: f32,
    /// For agency models: the labels are roles, filled in with the request's territory.
    #[serde(default)]
    pub roles: Option<RoleTable>,
    /// For agency models: which agency answered each topic in each place, read under the
    /// topic probabilities of a [`Query`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingTable>,
}

/// What is known about a request when predicting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    /// Its text.
    pub text: &'a str,
    /// Its extra tokens, `field:value` for the model's extra fields.
    pub extras: &'a [&'a str],
    /// Its place (district name) that roles and the routing table are filled in with.
    pub place: &'a str,
    /// Topic probabilities (from a topic model, or certainty when the citizen chose the
    /// service), used by agency models with a routing table; empty: text and place only.
    pub topics: &'a [(String, f32)],
}

/// Buffers reused from one prediction to the next.
#[derive(Default)]
pub struct Workspace {
    scratch: Scratch,
    vector: Vector,
    probabilities: Vec<f32>,
}

/// A feature's pull towards a class, for explanations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The feature.
    pub feature: FeatureName,
    /// Its term in the class's score (positive: for the class).
    pub weight: f32,
}

/// A trained classifier.
pub struct Model {
    info: ModelInfo,
    featurizer: Featurizer,
    rows: Vec<u32>,
    row_of: Vec<u32>,
    idf: Vec<f32>,
    weights: QuantizedWeights,
    bias: Vec<f32>,
    routing: Option<CompiledRouting>,
}

/// A weight matrix (row per feature, column per class) kept as one signed byte per weight and
/// a scale per row: a quarter of the memory of `f32`, so a text's rows come from cache more
/// often, and the rounding (at most half a step of 1/127 of the row's largest weight) leaves
/// the predictions as they were.
struct QuantizedWeights {
    classes: usize,
    scales: Vec<f32>,
    values: Vec<i8>,
}

impl QuantizedWeights {
    fn quantize(weights: &[f32], classes: usize) -> QuantizedWeights {
        let mut scales = Vec::with_capacity(weights.len() / classes.max(1));
        let mut values = Vec::with_capacity(weights.len());
        for row in weights.chunks_exact(classes) {
            let largest = row.iter().fold(0f32, |m, w| m.max(w.abs()));
            let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
            scales.push(scale);
            values.extend(row.iter().map(|w| (w / scale).round().clamp(-127.0, 127.0) as i8));
        }
        QuantizedWeights { classes, scales, values }
    }

    fn weight(&self, row: usize, class: usize) -> f32 {
        self.scales[row] * f32::from(self.values[row * self.classes + class])
    }

    /// Class scores: bias plus each row's weights times its value.
    fn scores_into(&self, bias: &[f32], vector: &[(u32, f32)], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(bias);
        for &(row, value) in vector {
            let row = row as usize;
            let factor = value * self.scales[row];
            let weights = &self.values[row * self.classes..(row + 1) * self.classes];
            for (s, &w) in out.iter_mut().zip(weights) {
                *s += factor * f32::from(w);
            }
        }
    }
}

/// A text (and its extra tokens) as weighted feature rows.
pub type Vector = Vec<(u32, f32)>;

impl Model {
    /// Assembles a model; `rows` are the kept buckets, ascending.
    pub(crate) fn new(info: ModelInfo, rows: Vec<u32>, idf: Vec<f32>, weights: &[f32], bias: Vec<f32>) -> Model {
        let weights = QuantizedWeights::quantize(weights, info.labels.len());
        Model::assemble(info, rows, idf, weights, bias)
    }

    fn assemble(info: ModelInfo, rows: Vec<u32>, idf: Vec<f32>, weights: QuantizedWeights, bias: Vec<f32>) -> Model {
        let row_of = row_index(&rows);
        let routing = info.routing.as_ref().zip(info.roles.as_ref()).map(|(table, roles)| table.compile(roles));
        Model { featurizer: Featurizer::new(info.features), info, rows, row_of, idf, weights, bias, routing }
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn classes(&self) -> usize {
        self.info.labels.len()
    }

    /// The `k` most probable answers (label, calibrated probability) for a request, most
    /// probable first: class labels, or for a role model the agencies playing the roles in the
    /// query's place, mixed with the routing table when the query carries topics.
    pub fn ranked(&self, query: &Query<'_>, k: usize, ws: &mut Workspace) -> Vec<(String, f32)> {
        let Workspace { scratch, vector, probabilities } = ws;
        vectorize_with(&self.featurizer, &self.row_of, &self.idf, query.text, query.extras, scratch, vector);
        self.weights.scores_into(&self.bias, vector, probabilities);
        softmax(probabilities, self.info.temperature);
        let Some(roles) = &self.info.roles else {
            return top_k(probabilities, k).into_iter().map(|(class, p)| (self.info.labels[class].clone(), p)).collect();
        };
        let mut expanded = roles.expand(&self.info.labels, probabilities, query.place);
        if let Some(routing) = self.info.routing.as_ref().filter(|_| !query.topics.is_empty()) {
            let compiled = self.routing.as_ref().and_then(|c| c.agencies(query.place, query.topics));
            let mut mixed = compiled.unwrap_or_else(|| routing.agencies(query.place, query.topics, roles));
            mixed.values_mut().for_each(|p| *p *= TABLE_WEIGHT);
            for (agency, p) in expanded {
                *mixed.entry(agency).or_default() += (1.0 - TABLE_WEIGHT) * p;
            }
            expanded = by_probability(mixed);
        }
        expanded.truncate(k);
        expanded
    }

    /// The features that pulled a request most towards `label` (for a role model, an agency:
    /// its role), largest terms first, at most `n`; none for a label the model does not know.
    pub fn explain(&self, query: &Query<'_>, label: &str, n: usize) -> Vec<Contribution> {
        let label = self.info.roles.as_ref().map_or(label, |roles| roles.label(label));
        let Some(class) = self.info.labels.iter().position(|l| l == label) else { return Vec::new() };
        let (mut scratch, mut vector) = (Scratch::default(), Vector::new());
        vectorize_with(&self.featurizer, &self.row_of, &self.idf, query.text, query.extras, &mut scratch, &mut vector);
        let value_of = |row: u32| vector.iter().find(|(r, _)| *r == row).map_or(0.0, |(_, v)| *v);
        let mut out: Vec<Contribution> = self
            .featurizer
            .named(query.text, query.extras)
            .into_iter()
            .filter_map(|(feature, bucket)| {
                let row = self.row_of[bucket as usize];
                (row != ABSENT).then(|| Contribution { weight: value_of(row) * self.weights.weight(row as usize, class), feature })
            })
            .filter(|c| c.weight > 0.0)
            .collect();
        out.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.feature.cmp(&b.feature)));
        out.truncate(n);
        out
    }

    /// The model as file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let info = serde_json::to_vec(&self.info).unwrap_or_default();
        let mut out = Vec::with_capacity(64 + info.len() + self.rows.len() * (12 + self.classes()) + 4 * self.classes());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        put_len(&mut out, info.len());
        out.extend_from_slice(&info);
        put_len(&mut out, self.rows.len());
        self.rows.iter().for_each(|r| out.extend_from_slice(&r.to_le_bytes()));
        for values in [&self.idf, &self.bias, &self.weights.scales] {
            values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        out.extend(self.weights.values.iter().map(|v| v.to_le_bytes()[0]));
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }

    /// Reads a model file's bytes, checking magic, version, checksum and every length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        let mut reader = Reader { bytes, at: MAGIC.len() };
        let version = reader.u32()?;
        if version != FORMAT_VERSION {
            return Err(ModelError::Version { found: version });
        }
        let body_end = bytes.len().checked_sub(32).ok_or_else(|| corrupt("too short"))?;
        if Sha256::digest(&bytes[..body_end]).as_slice() != &bytes[body_end..] {
            return Err(corrupt("checksum mismatch"));
        }
        let info_len = reader.u32()? as usize;
        let info: ModelInfo = serde_json::from_slice(reader.take(info_len)?).map_err(|e| corrupt(&format!("header: {e}")))?;
        let classes = info.labels.len();
        if classes < 2 {
            return Err(corrupt("fewer than two classes"));
        }
        let n = reader.u32()? as usize;
        let rows: Vec<u32> = reader.take(4 * n)?.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if rows.windows(2).any(|w| w[0] >= w[1]) || rows.last().is_some_and(|&r| r >= 1 << HASH_BITS) {
            return Err(corrupt("feature rows out of order or range"));
        }
        let idf = reader.floats(n)?;
        let bias = reader.floats(classes)?;
        let scales = reader.floats(n)?;
        let values = reader.take(n.checked_mul(classes).ok_or_else(|| corrupt("size overflow"))?)?.iter().map(|&b| i8::from_le_bytes([b])).collect();
        if reader.at != body_end {
            return Err(corrupt("trailing bytes"));
        }
        if info.temperature.is_nan() || info.temperature <= 0.0 {
            return Err(corrupt("temperature"));
        }
        Ok(Model::assemble(info, rows, idf, QuantizedWeights { classes, scales, values }, bias))
    }
}

fn corrupt(what: &str) -> ModelError {
    ModelError::Corrupt(what.to_owned())
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len().saturating_sub(32)).ok_or_else(|| corrupt("truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn floats(&mut self, n: usize) -> Result<Vec<f32>, ModelError> {
        let values: Vec<f32> = self.take(4 * n)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(corrupt("non-finite weight"));
        }
        Ok(values)
    }
}

/// Maps every bucket of the hashed space to its row (or [`ABSENT`]).
pub(crate) fn row_index(rows: &[u32]) -> Vec<u32> {
    let mut row_of = vec![ABSENT; 1 << HASH_BITS];
    for (i, &bucket) in rows.iter().enumerate() {
        row_of[bucket as usize] = i as u32;
    }
    row_of
}

/// Vectorizes a text against a row index and IDF table (shared by training and prediction).
pub(crate) fn vectorize_with(featurizer: &Featurizer, row_of: &[u32], idf: &[f32], text: &str, extras: &[&str], scratch: &mut Scratch, out: &mut Vector) {
    out.clear();
    for &(bucket, count) in featurizer.count(text, scratch) {
        let row = row_of[bucket as usize];
        if row != ABSENT {
            out.push((row, sublinear_tf(count) * idf[row as usize]));
        }
    }
    let norm = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|(_, v)| *v /= norm);
    }
    for extra in extras {
        let row = row_of[extra_bucket(extra) as usize];
        if row != ABSENT {
            out.push((row, 1.0));
        }
    }
}

/// `1 + ln(count)`, from a table for the usual small counts.
fn sublinear_tf(count: u32) -> f32 {
    const TABLE: [f32; 8] = [0.0, 1.0, 1.693_147_2, 2.098_612_3, 2.386_294_4, 2.609_438, 2.791_759_4, 2.945_910_1];
    TABLE.get(count as usize).copied().unwrap_or_else(|| 1.0 + (count as f32).ln())
}

/// Class scores: bias plus each row's weights times its value.
pub(crate) fn scores_into(weights: &[f32], bias: &[f32], vector: &[(u32, f32)], out: &mut Vec<f32>) {
    let classes = bias.len();
    out.clear();
    out.extend_from_slice(bias);
    for &(row, value) in vector {
        let w = &weights[row as usize * classes..(row as usize + 1) * classes];
        for (s, w) in out.iter_mut().zip(w) {
            *s += value * w;
        }
    }
}

/// Turns scores into probabilities in place, at a temperature.
pub fn softmax(scores: &mut [f32], temperature: f32) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = ((*s - max) / temperature).exp();
        sum += *s;
    }
    if sum > 0.0 {
        scores.iter_mut().for_each(|s| *s /= sum);
    }
}

/// The `k` largest probabilities as (class, probability), largest first (ties: lower class first).
fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    for (class, &probability) in probs.iter().enumerate() {
        if best.len() == k && best.last().is_some_and(|b| b.1 >= probability) {
            continue;
        }
        let at = best.partition_point(|b| b.1 >= probability);
        best.insert(at, (class, probability));
        best.truncate(k);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_breaks_ties_by_class() {
        let top = top_k(&[0.1, 0.4, 0.1, 0.4], 3);
        assert_eq!(top.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 3, 0]);
    }

    #[test]
    fn quantized_weights_stay_within_half_a_step_of_the_trained_ones() {
        let trained = [0.5, -1.27, 0.0, 0.003, 0.0, 0.0, 0.0, 0.0];
        let q = QuantizedWeights::quantize(&trained, 4);
        for (i, w) in trained.iter().enumerate() {
            let step = q.scales[i / 4];
            assert!((q.weight(i / 4, i % 4) - w).abs() <= step / 2.0 + 1e-7, "weight {i}");
        }
        assert_eq!(q.weight(0, 1), -1.27, "the largest weight of a row is kept exactly");
        let mut scores = Vec::new();
        q.scores_into(&[1.0, 0.0, 0.0, 0.0], &[(0, 2.0), (1, 5.0)], &mut scores);
        assert!((scores[0] - 2.0).abs() < 0.01 && (scores[1] + 2.54).abs() < 1e-5, "{scores:?}");
    }

    #[test]
    fn softmax_sums_to_one_and_temperature_flattens() {
        let mut sharp = vec![2.0, 0.0];
        let mut flat = sharp.clone();
        softmax(&mut sharp, 1.0);
        softmax(&mut flat, 4.0);
        assert!((sharp.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(flat[0] < sharp[0] && flat[0] > 0.5);
    }
}
