//! `okno train` and `okno eval`: classifier models from labelled requests.
//!
//! Training data is CSV (optionally gzipped) with a header: `id`, `text`, and the target
//! columns `category`, `reason`, `agency` (or `responsible_org`), and the places `district`
//! (or `territory`) and `municipality` — the St. Petersburg appeals file and
//! `okno export training` both have this shape. `--split DIR` names a folder holding
//! `train_ids.txt` and `test_ids.txt` (one id per line): train on the first, evaluate on the second.

use okno_app::imports::open_csv;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use okno_classify::{evaluate, extra_token, train, Example, FeatureConfig, Model, Outcome, Query, RoleTable, RoutingTable, TrainParams, TrainSpec, Workspace, TOPICS_READ};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// First-level topic.
    Category,
    /// Second-level topic.
    Reason,
    /// The responsible agency, from the text and the place.
    Agency,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Category => "category",
            Target::Reason => "reason",
            Target::Agency => "agency",
        }
    }

    /// The fields given beside the text unless others are asked for: an agency depends on
    /// the place.
    fn default_extra_fields(self) -> &'static [&'static str] {
        match self {
            Target::Agency => &[PLACE],
            Target::Category | Target::Reason => &[],
        }
    }
}

/// The field naming a request's place: roles and the routing table are filled in with it.
const PLACE: &str = "district";

/// One labelled request.
#[derive(Debug, Clone, Default)]
pub struct LabelledRow {
    /// Its id in the source.
    pub id: String,
    /// Submission time as written (ISO), for ordering.
    pub created_at: String,
    /// The text.
    pub text: String,
    /// Targets and places by column name (`category`, `reason`, `agency`, `district`, `municipality`).
    pub fields: HashMap<&'static str, String>,
}

impl LabelledRow {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// The extra tokens a model reads beside the text: `field:value` for each of `fields`.
    fn extras(&self, fields: &[impl AsRef<str>]) -> Vec<String> {
        fields.iter().map(|f| extra_token(f.as_ref(), self.field(f.as_ref()))).collect()
    }
}

/// The columns read, each with the header names it may have, compared in lower case with
/// spaces as `_` (`city_object`: the kind of place the citizen picked on the form — building,
/// yard, street…). NYC 311 exports work as they are: the descriptor is the text, the
/// complaint type the category, the borough the district.
const COLUMNS: [(&str, &[&str]); 6] = [
    ("city_object", &["city_object"]),
    ("category", &["category", "complaint_type"]),
    ("reason", &["reason"]),
    ("agency", &["agency", "responsible_org"]),
    ("district", &["district", "territory", "borough"]),
    ("municipality", &["municipality"]),
];

/// A header name as compared with the aliases.
fn column_key(header: &str) -> String {
    header.trim().to_lowercase().replace(' ', "_")
}

/// Reads labelled rows; rows whose CSV is malformed are reported by line and skipped.
pub fn read_rows(path: &Path) -> Result<Vec<LabelledRow>> {
    let reader = open_csv(path)?;
    let headers: Vec<String> = reader.headers().iter().map(column_key).collect();
    let column = |names: &[&str]| names.iter().find_map(|n| headers.iter().position(|h| h == n));
    let text = column(&["text", "descriptor"]).with_context(|| format!("{}: no `text` (or `descriptor`) column", path.display()))?;
    let (id, created) = (column(&["id", "unique_key"]), column(&["created_at", "created_date"]));
    let columns: Vec<(&'static str, usize)> = COLUMNS.iter().filter_map(|(name, aliases)| column(aliases).map(|i| (*name, i))).collect();
    let mut rows = Vec::new();
    for row in reader {
        let record = match row? {
            Ok(r) => r,
            Err(bad) => {
                eprintln!("{}: line {} skipped: {}", path.display(), bad.line, bad.reason);
                continue;
            }
        };
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").to_owned();
        rows.push(LabelledRow {
            id: get(id),
            created_at: get(created),
            text: get(Some(text)),
            fields: columns.iter().map(|&(name, i)| (name, get(Some(i)))).collect(),
        });
    }
    Ok(rows)
}

fn read_ids(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// The rows named by an id list, in its order (ids not in the data are counted and skipped).
fn select(rows: &[LabelledRow], ids: &[String]) -> (Vec<LabelledRow>, usize) {
    let by_id: HashMap<&str, &LabelledRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let picked: Vec<LabelledRow> = ids.iter().filter_map(|id| by_id.get(id.as_str()).map(|r| (*r).clone())).collect();
    let missing = ids.len() - picked.len();
    (picked, missing)
}

/// The rows to train or evaluate on, from one or more files: with a split folder, those its id
/// list names; otherwise all, files in the order given, each oldest first (by `created_at` as
/// written, so ISO times sort right).
fn rows_for(data: &[PathBuf], split: Option<&Path>, list: &str) -> Result<Vec<LabelledRow>> {
    let mut rows = Vec::new();
    for file in data {
        let mut file_rows = read_rows(file)?;
        if split.is_none() {
            file_rows.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        }
        rows.extend(file_rows);
    }
    match split {
        Some(dir) => listed(&rows, dir, list),
        None => Ok(rows),
    }
}

/// The rows a split folder's id list names, in its order (ids not in the data are counted).
fn listed(rows: &[LabelledRow], dir: &Path, list: &str) -> Result<Vec<LabelledRow>> {
    let (picked, missing) = select(rows, &read_ids(&dir.join(list))?);
    if missing > 0 {
        eprintln!("{missing} ids of {list} are not in the data");
    }
    Ok(picked)
}

/// The training and test rows of a split folder, reading the data once.
pub fn split_rows(data: &Path, dir: &Path) -> Result<(Vec<LabelledRow>, Vec<LabelledRow>)> {
    let rows = read_rows(data)?;
    Ok((listed(&rows, dir, "train_ids.txt")?, listed(&rows, dir, "test_ids.txt")?))
}

/// `okno train` arguments.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled requests, CSV or CSV.gz (several files: give the flag again).
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// What to predict.
    #[arg(long, value_enum)]
    pub target: Target,
    /// Where to write the model.
    #[arg(long)]
    pub out: PathBuf,
    /// A folder with train_ids.txt and test_ids.txt: train on the first list only.
    #[arg(long)]
    pub split: Option<PathBuf>,
    /// Passes over the data.
    #[arg(long, default_value_t = TrainParams::default().epochs)]
    pub epochs: u32,
    /// L2 regularization.
    #[arg(long, default_value_t = TrainParams::default().l2)]
    pub l2: f32,
    /// Average the weights over this many last epochs (1: none).
    #[arg(long, default_value_t = TrainParams::default().averaged_epochs)]
    pub averaged_epochs: u32,
    /// Initial learning rate.
    #[arg(long, default_value_t = TrainParams::default().learning_rate)]
    pub learning_rate: f32,
    /// Shortest character n-gram.
    #[arg(long, default_value_t = FeatureConfig::default().char_min)]
    pub char_min: usize,
    /// Longest character n-gram (0: none).
    #[arg(long, default_value_t = FeatureConfig::default().char_max)]
    pub char_max: usize,
    /// Columns given to the model beside the text, comma-separated (default: `district` for
    /// agency models, none for topics); e.g. `district,city_object`.
    #[arg(long, value_delimiter = ',')]
    pub extra_fields: Option<Vec<String>>,
}

/// Trains a model and writes it; returns a summary.
pub fn train_command(args: &TrainArgs) -> Result<Value> {
    let rows = rows_for(&args.data, args.split.as_deref(), "train_ids.txt")?;
    let extra_fields = args.extra_fields.as_ref().map(|fields| fields.iter().map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect());
    let features = FeatureConfig { char_min: args.char_min, char_max: args.char_max, ..FeatureConfig::default() };
    let params = TrainParams {
        epochs: args.epochs,
        l2: args.l2,
        learning_rate: args.learning_rate,
        averaged_epochs: args.averaged_epochs,
        ..TrainParams::default()
    };
    let (model, seconds) = train_model(&rows, args.target, extra_fields, features, params)?;
    let bytes = model.to_bytes();
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    let info = model.info();
    Ok(json!({
        "model": args.out, "target": info.target, "examples": info.examples, "classes": info.labels.len(),
        "temperature": info.temperature, "data_fingerprint": info.data_fingerprint, "train_seconds": seconds, "bytes": bytes.len(),
    }))
}

/// Trains a model on the rows that carry `target`, reading `extra_fields` beside the text
/// (default: the target's own); returns it with the seconds training took.
pub fn train_model(rows: &[LabelledRow], target: Target, extra_fields: Option<Vec<String>>, features: FeatureConfig, params: TrainParams) -> Result<(Model, f64)> {
    let labelled: Vec<&LabelledRow> = rows.iter().filter(|r| !r.field(target.name()).is_empty()).collect();
    if labelled.is_empty() {
        bail!("no rows with a {} label in the data", target.name());
    }
    let extra_fields = extra_fields.unwrap_or_else(|| target.default_extra_fields().iter().map(|f| (*f).to_owned()).collect());
    if let Some(unknown) = extra_fields.iter().find(|f| !COLUMNS.iter().any(|(name, _)| name == f)) {
        bail!("unknown extra field {unknown:?}; known: {}", COLUMNS.map(|c| c.0).join(", "));
    }
    let roles = (target == Target::Agency).then(|| RoleTable::learn(labelled.iter().map(|r| (r.field("agency"), r.field(PLACE)))));
    let routing = roles.as_ref().map(|roles| RoutingTable::learn(labelled.iter().map(|r| (r.field(PLACE), r.field("reason"), r.field("agency"))), roles));
    let label = |r: &'_ LabelledRow| -> String {
        let agency = r.field(target.name());
        roles.as_ref().map_or(agency, |t| t.label(agency)).to_owned()
    };
    let labels: Vec<String> = labelled.iter().map(|r| label(r)).collect();
    let examples: Vec<Example<'_>> =
        labelled.iter().zip(&labels).map(|(r, label)| Example { text: &r.text, extras: r.extras(&extra_fields), label }).collect();
    let spec = TrainSpec { target: target.name().to_owned(), extra_fields, features, params, roles, routing: routing.filter(|t| !t.is_empty()) };
    let started = Instant::now();
    let model = train(&examples, &spec)?;
    Ok((model, started.elapsed().as_secs_f64()))
}

/// Reads a model file.
pub fn load_model(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Model::from_bytes(&bytes).with_context(|| format!("loading {}", path.display()))
}

/// `okno eval` arguments.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model to evaluate.
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled requests, CSV or CSV.gz (several files: give the flag again).
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// A folder with train_ids.txt and test_ids.txt: evaluate on the second list only.
    #[arg(long)]
    pub split: Option<PathBuf>,
    /// Print the whole evaluation as JSON (otherwise a short summary).
    #[arg(long)]
    pub json: bool,
    /// For an agency model: a reason model whose probabilities are read against the agency
    /// model's place × topic table.
    #[arg(long, conflicts_with = "given_topic")]
    pub topic_model: Option<PathBuf>,
    /// For an agency model: take each request's true reason as known (as when the citizen
    /// chose the service).
    #[arg(long)]
    pub given_topic: bool,
}

/// Evaluates a model; returns the figures (top-level `accuracy`, `macro_f1`, …).
pub fn eval_command(args: &EvalArgs) -> Result<Value> {
    let model = load_model(&args.model)?;
    let topic_model = args.topic_model.as_deref().map(load_model).transpose()?;
    let rows = rows_for(&args.data, args.split.as_deref(), "test_ids.txt")?;
    let topics = match &topic_model {
        Some(m) => Topics::Predicted(m),
        None if args.given_topic => Topics::Given,
        None => Topics::Unknown,
    };
    evaluate_model(&model, topics, &rows)
}

/// What an agency model is told of each request's topic.
#[derive(Clone, Copy)]
pub enum Topics<'m> {
    /// Nothing: text and place only.
    Unknown,
    /// The probabilities of this reason model.
    Predicted(&'m Model),
    /// The request's true reason, as when the citizen chose the service.
    Given,
}

/// The rows of `rows` labelled with the model's target.
fn labelled_for<'r>(model: &Model, rows: &'r [LabelledRow]) -> Result<(&'static str, Vec<&'r LabelledRow>)> {
    let target = model.info().target.as_str();
    let field = COLUMNS.iter().find(|(n, _)| *n == target).map(|(n, _)| *n).context("the model's target is not a known column")?;
    Ok((field, rows.iter().filter(|r| !r.field(field).is_empty()).collect()))
}

/// The three best answers for each row (as at intake: the topic model first when there is
/// one), and the seconds the whole pass took, extra tokens included.
pub fn predict_all(model: &Model, topics: Topics<'_>, rows: &[&LabelledRow]) -> (Vec<Vec<(String, f32)>>, f64) {
    let started = Instant::now();
    let mut workspace = Workspace::default();
    let ranked = rows
        .iter()
        .map(|r| {
            let topics = match topics {
                Topics::Predicted(m) => {
                    let extras = r.extras(&m.info().extra_fields);
                    let extras: Vec<&str> = extras.iter().map(String::as_str).collect();
                    m.ranked(&Query { text: &r.text, extras: &extras, ..Query::default() }, TOPICS_READ, &mut workspace)
                }
                Topics::Given => vec![(r.field("reason").to_owned(), 1.0)],
                Topics::Unknown => Vec::new(),
            };
            let extras = r.extras(&model.info().extra_fields);
            let extras: Vec<&str> = extras.iter().map(String::as_str).collect();
            model.ranked(&Query { text: &r.text, extras: &extras, place: r.field(PLACE), topics: &topics }, 3, &mut workspace)
        })
        .collect();
    (ranked, started.elapsed().as_secs_f64())
}

/// Evaluates a model on the rows labelled with its target; returns the figures.
pub fn evaluate_model(model: &Model, topics: Topics<'_>, rows: &[LabelledRow]) -> Result<Value> {
    let (field, labelled) = labelled_for(model, rows)?;
    let (ranked, seconds) = predict_all(model, topics, &labelled);
    let outcomes: Vec<Outcome<'_>> = labelled
        .iter()
        .zip(&ranked)
        .map(|(r, top)| Outcome { truth: r.field(field), ranked: top.iter().map(|(l, p)| (l.as_str(), *p)).collect() })
        .collect();
    let evaluation = evaluate(&outcomes, 20);
    let mut out = serde_json::to_value(&evaluation)?;
    let info = model.info();
    out["target"] = json!(info.target);
    out["model_data_fingerprint"] = json!(info.data_fingerprint);
    out["predict_texts_per_s"] = json!(labelled.len() as f64 / seconds.max(1e-9));
    Ok(out)
}
