//! The classifier models in force for intake's triage: loaded at start, swapped whole on reload,
//! the previous ones kept when a file is bad.

use crate::in_force::InForce;
use okno_classify::Model;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use utoipa::ToSchema;

/// Where the models come from and when to trust them.
#[derive(Debug, Clone, Default)]
pub struct ClassifierConfig {
    /// The topic model: its labels are service codes or service names.
    pub topic_model: Option<PathBuf>,
    /// The agency model: its labels are agency codes or agency names.
    pub agency_model: Option<PathBuf>,
    /// Probability from which a prediction is acted on without an operator.
    pub threshold: f32,
}

/// The models in force.
pub struct Models {
    /// Predicts the service.
    pub topic: Option<Model>,
    /// Predicts the agency.
    pub agency: Option<Model>,
}

/// The classifier: its configuration and the models in force, replaced whole on reload.
pub struct Classifier {
    config: ClassifierConfig,
    models: InForce<Models>,
}

/// What a loaded model is, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoadedModel {
    /// Its file.
    pub path: String,
    /// What it predicts.
    pub target: String,
    /// Classes.
    pub classes: usize,
    /// Training examples.
    pub examples: usize,
    /// SHA-256 of its training data.
    pub data_fingerprint: String,
    /// Fields read beside the text.
    pub extra_fields: Vec<String>,
}

/// The models in force and the threshold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelsStatus {
    /// The topic (service) model.
    pub topic: Option<LoadedModel>,
    /// The agency model.
    pub agency: Option<LoadedModel>,
    /// Probability from which predictions are acted on.
    pub threshold: f32,
}

fn read_model(path: &std::path::Path) -> Result<Model, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Model::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

impl Classifier {
    /// Loads the configured models; an unreadable or bad file is an error naming it.
    pub fn load(config: ClassifierConfig) -> Result<Classifier, String> {
        let models = Self::read(&config)?;
        Ok(Classifier { config, models: InForce::new(models) })
    }

    fn read(config: &ClassifierConfig) -> Result<Models, String> {
        Ok(Models {
            topic: config.topic_model.as_deref().map(read_model).transpose()?,
            agency: config.agency_model.as_deref().map(read_model).transpose()?,
        })
    }

    /// Reads the configured files again and puts them in force together; on any error the
    /// models in force stay.
    pub fn reload(&self) -> Result<ModelsStatus, String> {
        let models = Self::read(&self.config)?;
        self.models.replace(models);
        Ok(self.status())
    }

    /// The models in force (a prediction keeps using the ones it started with).
    pub fn current(&self) -> Arc<Models> {
        self.models.current()
    }

    /// What is in force.
    pub fn status(&self) -> ModelsStatus {
        let models = self.current();
        let loaded = |model: &Option<Model>, path: &Option<PathBuf>| {
            model.as_ref().zip(path.as_ref()).map(|(m, p)| {
                let info = m.info();
                LoadedModel {
                    path: p.display().to_string(),
                    target: info.target.clone(),
                    classes: info.labels.len(),
                    examples: info.examples,
                    data_fingerprint: info.data_fingerprint.clone(),
                    extra_fields: info.extra_fields.clone(),
                }
            })
        };
        ModelsStatus {
            topic: loaded(&models.topic, &self.config.topic_model),
            agency: loaded(&models.agency, &self.config.agency_model),
            threshold: self.config.threshold,
        }
    }

    /// The probability from which predictions are acted on.
    pub fn threshold(&self) -> f32 {
        self.config.threshold
    }
}
