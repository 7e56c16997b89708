//! Triage at intake and the operators' side of it: the classifier models in force (loaded at
//! start, swapped whole on reload, the previous ones kept when a file is bad), the decision
//! for each new request (rules, the citizen's choice, the service's agency, the models), the
//! triage queue with the words behind each guess, and the keyword rules.

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::{ApiJson, ApiPath, ApiQuery, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use okno_classify::{extra_token, Contribution, Model, ModelInfo, Query, Workspace, TOPICS_READ};
use okno_core::triage::{matching_rule, Decider, Prediction, PredictionRecord, RoutingRule, RuleDraft, Scored};
use okno_core::catalog::{name_of_kind, territory_chain};
use okno_core::{Agency, Principal, Request, Role, Service, Territory};
use okno_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use crate::in_force::InForce;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Choices kept with a prediction.
const KEPT: usize = 3;
/// Features shown behind a choice.
const REASONS_SHOWN: usize = 8;

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

/// The catalog as intake's triage reads it.
pub struct Catalog {
    /// Services.
    pub services: Vec<Service>,
    /// Agencies.
    pub agencies: Vec<Agency>,
    /// Territories.
    pub territories: Vec<Territory>,
    /// Operators' rules.
    pub rules: Vec<RoutingRule>,
}

impl Catalog {
    /// Reads the whole catalog and the rules from the store.
    pub async fn read(store: &dyn Store) -> Result<Catalog, ApiError> {
        Ok(Catalog {
            services: store.services().await?,
            agencies: store.agencies().await?,
            territories: store.territories().await?,
            rules: store.routing_rules().await?,
        })
    }

    /// Reads what deciding one new request needs: services and rules always, agencies only
    /// when an agency model names them, territories only when the request names one.
    pub async fn read_for_intake(store: &dyn Store, models: &Models, territory: Option<&str>) -> Result<Catalog, ApiError> {
        Ok(Catalog {
            services: store.services().await?,
            agencies: if models.agency.is_some() { store.agencies().await? } else { Vec::new() },
            territories: if territory.is_some() { store.territories().await? } else { Vec::new() },
            rules: store.routing_rules().await?,
        })
    }

    /// A territory and the territories containing it, innermost first.
    pub fn territory_chain(&self, code: Option<&str>) -> Vec<&Territory> {
        territory_chain(&self.territories, code)
    }

    fn service_for_label(&self, label: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == label).or_else(|| self.services.iter().find(|s| s.name_ru == label))
    }

    fn agency_for_label(&self, label: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.code == label).or_else(|| self.agencies.iter().find(|a| a.name_ru == label))
    }
}

/// What a model needs to know about a request besides its text.
pub struct Facts<'a> {
    /// The text.
    pub text: &'a str,
    /// Its territory and those containing it, innermost first.
    pub territories: Vec<&'a Territory>,
    /// Its extra field values.
    pub attributes: &'a BTreeMap<String, Vec<String>>,
}

impl<'a> Facts<'a> {
    /// The facts of a stored request.
    pub fn of(request: &'a Request, catalog: &'a Catalog) -> Facts<'a> {
        Facts { text: &request.text, territories: catalog.territory_chain(request.territory.as_deref()), attributes: &request.attributes }
    }

    /// The name of the territory of `kind` the request lies in ("" if none).
    fn place(&self, kind: &str) -> &str {
        name_of_kind(&self.territories, kind)
    }

    /// A model's extra tokens: `district` and `municipality` from the territories, any other
    /// field from the request's attribute of that code.
    fn extras(&self, info: &ModelInfo) -> Vec<String> {
        info.extra_fields
            .iter()
            .map(|field| {
                let value = match field.as_str() {
                    "district" | "municipality" => self.place(field),
                    other => self.attributes.get(other).and_then(|v| v.first()).map_or("", String::as_str),
                };
                extra_token(field, value)
            })
            .collect()
    }

    fn ranked(&self, model: &Model, topics: &[(String, f32)], k: usize) -> Vec<(String, f32)> {
        let extras = self.extras(model.info());
        let extras: Vec<&str> = extras.iter().map(String::as_str).collect();
        let query = Query { text: self.text, extras: &extras, place: self.place("district"), topics };
        model.ranked(&query, k, &mut Workspace::default())
    }

    fn explain(&self, model: &Model, label: &str) -> Vec<Contribution> {
        let extras = self.extras(model.info());
        let extras: Vec<&str> = extras.iter().map(String::as_str).collect();
        model.explain(&Query { text: self.text, extras: &extras, place: self.place("district"), topics: &[] }, label, REASONS_SHOWN)
    }
}

/// What intake's triage decided: the service (if any was found), the agency, and the record.
pub struct Decision {
    /// The service code to file the request under.
    pub service: Option<String>,
    /// The agency to route it to.
    pub agency: Option<String>,
    /// The record stored beside the request (none when there was nothing to decide).
    pub prediction: Option<Prediction>,
}

/// Decides a new request's service and agency. `chosen` is the service the citizen chose.
/// The service: the citizen's choice, else a matching operator's rule, else the topic model if
/// confident (otherwise its best guess, waiting for triage). The agency: the rule's, then the
/// default agency of a service that was not merely guessed, then the agency model if
/// confident; no agency means triage.
pub fn decide(models: &Models, threshold: f32, catalog: &Catalog, chosen: Option<&Service>, facts: &Facts<'_>) -> Decision {
    let territory_codes: Vec<String> = facts.territories.iter().map(|t| t.code.clone()).collect();
    let rule = matching_rule(&catalog.rules, facts.text, &territory_codes);
    let topic_ranked = match (&models.topic, chosen, rule.and_then(|r| r.service.as_ref())) {
        (Some(model), None, None) => facts.ranked(model, &[], TOPICS_READ),
        _ => Vec::new(),
    };
    let services: Vec<Scored> = topic_ranked
        .iter()
        .filter_map(|(label, p)| catalog.service_for_label(label).map(|s| Scored { code: s.code.clone(), probability: *p }))
        .take(KEPT)
        .collect();
    let (service, service_by) = match (chosen, rule.and_then(|r| r.service.clone())) {
        (Some(s), _) => (Some(s.code.clone()), Decider::Citizen),
        (None, Some(code)) => (Some(code), Decider::Rule),
        (None, None) => match services.first() {
            Some(best) if best.probability >= threshold => (Some(best.code.clone()), Decider::Model),
            Some(best) => (Some(best.code.clone()), Decider::Triage),
            None => (None, Decider::Triage),
        },
    };
    let service_entry = service.as_deref().and_then(|code| catalog.services.iter().find(|s| s.code == code));
    let agencies: Vec<Scored> = match &models.agency {
        Some(model) => {
            let topics = match (service_by, service_entry) {
                (Decider::Citizen | Decider::Rule, Some(s)) => vec![(topic_label(model, s).to_owned(), 1.0)],
                _ => topic_ranked.clone(),
            };
            facts
                .ranked(model, &topics, KEPT * 2)
                .iter()
                .filter_map(|(label, p)| catalog.agency_for_label(label).map(|a| Scored { code: a.code.clone(), probability: *p }))
                .take(KEPT)
                .collect()
        }
        None => Vec::new(),
    };
    // A service only guessed below the threshold does not send the request to its agency: an
    // operator confirms the service first, so no agency receives work that may not be its own.
    let service_agency = service_entry.filter(|_| service_by != Decider::Triage).and_then(|s| s.default_agency.clone());
    let (agency, agency_by) = match (rule.and_then(|r| r.agency.clone()), service_agency) {
        (Some(code), _) => (Some(code), Decider::Rule),
        (None, Some(code)) => (Some(code), Decider::Service),
        (None, None) => match agencies.first() {
            Some(best) if best.probability >= threshold => (Some(best.code.clone()), Decider::Model),
            _ => (None, Decider::Triage),
        },
    };
    let decided_without_help = models.topic.is_none() && models.agency.is_none() && rule.is_none() && service_by == Decider::Citizen;
    let prediction = (!decided_without_help).then(|| Prediction {
        needs_triage: service_by == Decider::Triage || agency_by == Decider::Triage,
        services,
        agencies,
        service_by,
        agency_by,
        rule_id: rule.map(|r| r.id),
        models: [&models.topic, &models.agency].into_iter().flatten().map(|m| m.info().data_fingerprint.clone()).collect(),
    });
    Decision { service, agency, prediction }
}

/// The name an agency model's place × topic table knows a service by: its code or its name.
fn topic_label<'s>(model: &Model, service: &'s Service) -> &'s str {
    let known = |label: &str| model.info().routing.as_ref().is_some_and(|r| r.roles_by_topic.contains_key(label));
    if known(&service.code) || !known(&service.name_ru) { &service.code } else { &service.name_ru }
}

/// The label a model knows a catalog entry by: its code if a label, else its name.
fn model_label<'a>(model: &Model, code: &'a str, name: &'a str) -> &'a str {
    let labels = &model.info().labels;
    if labels.iter().any(|l| l == code) { code } else { name }
}

/// A choice with the features behind it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explained {
    /// Service or agency code.
    pub code: String,
    /// Probability.
    pub probability: f32,
    /// The features that pulled most towards it (word stems `w:`, stem pairs `b:`, character
    /// n-grams `c:`, fields `x:`), largest first.
    #[schema(value_type = Vec<Object>)]
    pub because: Vec<Contribution>,
}

/// A request's triage record with the reasons behind its choices.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PredictionView {
    /// The stored record.
    #[serde(flatten)]
    pub record: PredictionRecord,
    /// The service choices with their reasons (under the topic model in force).
    pub services_explained: Vec<Explained>,
    /// The agency choices with their reasons (under the agency model in force).
    pub agencies_explained: Vec<Explained>,
}

fn explain_all(choices: &[Scored], model: Option<&Model>, facts: &Facts<'_>, name: impl Fn(&str) -> String) -> Vec<Explained> {
    choices
        .iter()
        .map(|c| Explained {
            code: c.code.clone(),
            probability: c.probability,
            because: model.map(|m| facts.explain(m, model_label(m, &c.code, &name(&c.code)))).unwrap_or_default(),
        })
        .collect()
}

/// Explains a prediction about a request with the models in force.
pub fn explain(models: &Models, catalog: &Catalog, facts: &Facts<'_>, record: PredictionRecord) -> PredictionView {
    let service_name = |code: &str| catalog.services.iter().find(|s| s.code == code).map_or(code.to_owned(), |s| s.name_ru.clone());
    let agency_name = |code: &str| catalog.agencies.iter().find(|a| a.code == code).map_or(code.to_owned(), |a| a.name_ru.clone());
    PredictionView {
        services_explained: explain_all(&record.prediction.services, models.topic.as_ref(), facts, service_name),
        agencies_explained: explain_all(&record.prediction.agencies, models.agency.as_ref(), facts, agency_name),
        record,
    }
}

fn operator(caller: Caller) -> Result<Principal, ApiError> {
    let user = caller.staff()?;
    if matches!(user.role, Role::Admin | Role::Operator) {
        Ok(user)
    } else {
        Err(ApiError::Forbidden("operators only".into()))
    }
}

/// A request waiting for triage with its explained prediction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriageItem {
    /// The request.
    pub request: Request,
    /// Its prediction, explained.
    pub prediction: PredictionView,
}

/// Paging of the triage queue.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TriageQuery {
    /// Requests after this id (the last of the previous page).
    #[serde(default)]
    pub after: i64,
    /// At most this many (default 50, at most 500).
    pub limit: Option<u32>,
}

/// The triage queue: open requests whose service or agency waits for an operator, oldest first,
/// each with the models' choices and the words behind them. Operators only.
#[utoipa::path(get, path = "/api/v1/triage", tag = "triage", params(TriageQuery),
    responses((status = 200, body = Vec<TriageItem>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn triage_queue(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<TriageQuery>) -> Result<Json<Vec<TriageItem>>, ApiError> {
    operator(caller)?;
    let rows = state.store.triage_queue(q.after, q.limit.unwrap_or(50).clamp(1, 500)).await?;
    let catalog = Catalog::read(state.store.as_ref()).await?;
    let models = state.classifier.current();
    Ok(Json(
        rows.into_iter()
            .map(|(request, record)| TriageItem { prediction: explain(&models, &catalog, &Facts::of(&request, &catalog), record), request })
            .collect(),
    ))
}

/// What intake decided for a request and why. Staff who may read the request.
#[utoipa::path(get, path = "/api/v1/requests/{id}/prediction", tag = "triage", params(("id" = i64, Path)),
    responses((status = 200, body = PredictionView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn request_prediction(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<PredictionView>, ApiError> {
    let user = caller.staff()?;
    let request = state.store.request(id).await?.ok_or_else(|| ApiError::NotFound(format!("no request {id}")))?;
    if !user.can_read_request(request.agency.as_deref()) {
        return Err(ApiError::Forbidden("this request belongs to another agency".into()));
    }
    let record = state.store.prediction(id).await?.ok_or_else(|| ApiError::NotFound(format!("request {id} was not triaged at intake")))?;
    let catalog = Catalog::read(state.store.as_ref()).await?;
    Ok(Json(explain(&state.classifier.current(), &catalog, &Facts::of(&request, &catalog), record)))
}

/// A text to classify without filing it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClassifyInput {
    /// The text.
    pub text: String,
    /// Territory code.
    pub territory: Option<String>,
    /// The service, if chosen (then only the agency is predicted).
    pub service_code: Option<String>,
}

/// What Okno would decide for a text: services and agencies with probabilities and the words
/// behind them (for the citizen's form and for operators). Public: it stores nothing and
/// shows no personal data.
#[utoipa::path(post, path = "/api/v1/classify", tag = "triage", request_body = ClassifyInput,
    responses((status = 200, body = PredictionView), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn classify(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<ClassifyInput>) -> Result<Json<PredictionView>, ApiError> {
    if caller.principal.is_none() {
        state.submit_limiter.check(caller.ip)?;
    }
    let text = input.text.trim();
    if text.is_empty() {
        return Err(ApiError::field("text", "is required"));
    }
    let catalog = Catalog::read(state.store.as_ref()).await?;
    let chosen = match input.service_code.as_deref() {
        Some(code) => Some(catalog.services.iter().find(|s| s.code == code).ok_or_else(|| ApiError::field("service_code", format!("no service with code {code:?}")))?),
        None => None,
    };
    let attributes = BTreeMap::new();
    let facts = Facts { text, territories: catalog.territory_chain(input.territory.as_deref()), attributes: &attributes };
    let models = state.classifier.current();
    let decision = decide(&models, state.classifier.threshold(), &catalog, chosen, &facts);
    let prediction = decision.prediction.unwrap_or(Prediction {
        services: Vec::new(), agencies: Vec::new(), service_by: Decider::Citizen, agency_by: Decider::Triage,
        rule_id: None, models: Vec::new(), needs_triage: true,
    });
    let record = PredictionRecord { request_id: 0, at: Utc::now(), prediction, corrected_at: None, corrected_by: None };
    Ok(Json(explain(&models, &catalog, &facts, record)))
}

/// The models in force. Operators.
#[utoipa::path(get, path = "/api/v1/models", tag = "triage",
    responses((status = 200, body = ModelsStatus), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn models(State(state): State<AppState>, caller: Caller) -> Result<Json<ModelsStatus>, ApiError> {
    operator(caller)?;
    Ok(Json(state.classifier.status()))
}

/// Reads the configured model files again and puts them in force; a missing, corrupt or
/// other-version file is refused with its reason and the models in force stay. Admins.
#[utoipa::path(post, path = "/api/v1/models/reload", tag = "triage",
    responses((status = 200, body = ModelsStatus), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn reload_models(State(state): State<AppState>, caller: Caller) -> Result<Json<ModelsStatus>, ApiError> {
    let admin = caller.admin()?;
    let classifier = state.classifier.clone();
    let result = tokio::task::spawn_blocking(move || classifier.reload()).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let detail = match &result {
        Ok(_) => "reloaded".to_owned(),
        Err(e) => format!("refused: {e}"),
    };
    state.store.audit(&admin.login, "reload_models", None, Some(&detail), Utc::now()).await?;
    result.map(Json).map_err(|e| ApiError::field("model", e))
}

/// Operators' keyword rules, by id. Operators.
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "triage",
    responses((status = 200, body = Vec<RoutingRule>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_rules(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<RoutingRule>>, ApiError> {
    operator(caller)?;
    Ok(Json(state.store.routing_rules().await?))
}

/// Adds a keyword rule; it takes precedence over the models for new requests. Operators.
#[utoipa::path(post, path = "/api/v1/routing-rules", tag = "triage", request_body = RuleDraft,
    responses((status = 201, body = RoutingRule), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_rule(State(state): State<AppState>, caller: Caller, ApiJson(draft): ApiJson<RuleDraft>) -> Result<(StatusCode, Json<RoutingRule>), ApiError> {
    let user = operator(caller)?;
    let draft = draft.validate()?;
    let catalog = Catalog::read(state.store.as_ref()).await?;
    let mut errors = okno_core::FieldErrors::default();
    if let Some(code) = draft.service.as_deref().filter(|c| !catalog.services.iter().any(|s| s.code == *c)) {
        errors.add("service", format!("no service with code {code:?}"));
    }
    if let Some(code) = draft.agency.as_deref().filter(|c| !catalog.agencies.iter().any(|a| a.code == *c)) {
        errors.add("agency", format!("no agency with code {code:?}"));
    }
    if let Some(code) = draft.territory.as_deref().filter(|c| !catalog.territories.iter().any(|t| t.code == *c)) {
        errors.add("territory", format!("no territory with code {code:?}"));
    }
    errors.finish(())?;
    Ok((StatusCode::CREATED, Json(state.store.add_routing_rule(&draft, &user.login, Utc::now()).await?)))
}

/// Turns a keyword rule off (it is kept for the record). Operators.
#[utoipa::path(delete, path = "/api/v1/routing-rules/{id}", tag = "triage", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disable_rule(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    operator(caller)?;
    if state.store.set_routing_rule_active(id, false).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no rule {id}")))
    }
}
