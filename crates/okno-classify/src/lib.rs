//! Okno's text classifier, in Rust with no Python at run time: normalization, hashed word-stem
//! and character n-gram features with TF-IDF weighting, multinomial logistic regression trained
//! deterministically, calibrated probabilities and top-k, explanations, and evaluation figures.

pub mod features;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod roles;
pub mod routing;
pub mod train;

pub use features::{extra_token, FeatureConfig, FeatureName};
pub use metrics::{evaluate, Evaluation, Outcome};
pub use model::{Contribution, Model, ModelError, ModelInfo, Query, Workspace};
pub use roles::RoleTable;
pub use routing::{RoutingTable, TOPICS_READ};
pub use train::{train, Example, TrainError, TrainParams, TrainSpec};
