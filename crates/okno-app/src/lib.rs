//! Okno's use-cases: what the system does, as plain Rust calls with their own errors
//! ([`AppError`]), callable from the HTTP edge (`okno-server`), the command line (`okno`) and
//! periodic jobs alike. The edges parse their input, make one call here and translate the
//! answer; nothing here parses HTTP or command-line input (views may name the API's URLs, and
//! query types derive their OpenAPI description).
//!
//! The components of an [`App`] ([`in_force`], [`models`], [`places`], [`analytics`]) and
//! [`paging`] import no use-case. The use-cases import components and one another without a
//! cycle: [`intake`] (with [`triage`] and [`problems`]), [`requests`] and their actions,
//! [`duplicates`], [`deadlines`], [`timelines`], [`reports`], [`dashboards`], [`alerts`], [`access`],
//! [`catalog`], [`outbox`], [`media`], [`imports`] and [`export`]. [`jobs`] runs periodic work;
//! [`schedule`] is the work `okno serve` runs.

pub mod access;
pub mod alerts;
pub mod analytics;
pub mod catalog;
pub mod dashboards;
pub mod deadlines;
pub mod duplicates;
pub mod error;
pub mod export;
pub mod imports;
pub mod in_force;
pub mod intake;
pub mod jobs;
pub mod media;
pub mod models;
pub mod monitoring;
pub mod outbox;
pub mod paging;
pub mod places;
pub mod problems;
pub mod reports;
pub mod requests;
pub mod schedule;
pub mod timelines;
pub mod triage;

pub use error::{AppError, Result};

use okno_core::deadline::DeadlineConfig;
use okno_store::Store;
use std::sync::Arc;

/// The rules the scans and reports apply, from configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    /// When a topic's count is a spike alert.
    pub spikes: okno_analytics::spikes::SpikeRules,
    /// When requests are clustered into systemic problems.
    pub problems: okno_core::problem::ProblemRules,
    /// Fewest requests a body needs to be ranked in a scorecard league table.
    pub scorecard_min_requests: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            spikes: okno_analytics::spikes::SpikeRules::default(),
            problems: okno_core::problem::ProblemRules::default(),
            scorecard_min_requests: 30,
        }
    }
}

/// Everything a use-case works with: the store, the configuration, and what is kept in memory
/// (models, boundaries, rollups). Cheap to clone: every part is shared.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Calendar, time zone and deadline regimes.
    pub deadlines: Arc<DeadlineConfig>,
    /// Rules of the scans and reports.
    pub rules: Arc<Rules>,
    /// The classifier models in force for intake's triage.
    pub classifier: Arc<models::Classifier>,
    /// The territory boundaries in force for intake (none until [`App::load`]).
    pub places: Arc<places::Places>,
    /// The rollups in memory (empty until [`App::load`]), following every write made through `store`.
    pub analytics: Arc<analytics::Analytics>,
    /// A password hash sign-in checks unknown logins against, so that timing does not reveal them.
    pub password_decoy: Arc<String>,
    /// The periodic jobs' states (empty when this process runs none).
    pub jobs: jobs::JobBoard,
}

/// What [`App::load`] put in force.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    /// Territory boundaries.
    pub boundaries: usize,
    /// The rollups' size.
    pub rollups: okno_analytics::CubeSize,
}

impl App {
    /// An application over `store` with the deadline rules, the scans' rules and the classifier.
    pub fn new(store: Arc<dyn Store>, deadlines: DeadlineConfig, rules: Rules, classifier: models::Classifier) -> Result<App> {
        let analytics = analytics::Analytics::new(deadlines.timezone);
        analytics.follow(store.as_ref());
        Ok(App {
            classifier: Arc::new(classifier),
            places: Arc::default(),
            analytics,
            deadlines: Arc::new(deadlines),
            rules: Arc::new(rules),
            store,
            password_decoy: Arc::new(access::hash_password(&access::new_secret())?),
            jobs: jobs::JobBoard::default(),
        })
    }

    /// Reads the stored boundaries and rollups into memory.
    pub async fn load(&self) -> Result<Loaded> {
        let boundaries = self.places.reload(self.store.as_ref()).await?;
        let rollups = self.analytics.reload(self.store.as_ref()).await?;
        Ok(Loaded { boundaries, rollups })
    }
}
