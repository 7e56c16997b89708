//! Triage: the decision for each new request (operators' rules, the citizen's choice, the
//! service's agency, the models), the triage queue with the words behind each guess, what Okno
//! would decide for a text, and the operators' keyword rules.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::models::Models;
use crate::App;
use chrono::{DateTime, Utc};
use okno_classify::{extra_token, Contribution, Model, ModelInfo, Query, Workspace, TOPICS_READ};
use okno_core::catalog::{name_of_kind, territory_chain};
use okno_core::triage::{matching_rule, Decider, Prediction, PredictionRecord, RoutingRule, RuleDraft, Scored};
use okno_core::{Agency, AgencyCode, Principal, Request, RequestId, Role, RuleId, Service, ServiceCode, Territory, TerritoryCode};
use okno_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Choices kept with a prediction.
const KEPT: usize = 3;
/// Features shown behind a choice.
const REASONS_SHOWN: usize = 8;

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
    pub async fn read(store: &dyn Store) -> Result<Catalog> {
        Ok(Catalog {
            services: store.services().await?,
            agencies: store.agencies().await?,
            territories: store.territories().await?,
            rules: store.routing_rules().await?,
        })
    }

    /// Reads what deciding one new request needs: services and rules always, agencies only
    /// when an agency model names them, territories only when the request names one.
    pub async fn read_for_intake(store: &dyn Store, models: &Models, territory: Option<&str>) -> Result<Catalog> {
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
    pub service: Option<ServiceCode>,
    /// The agency to route it to.
    pub agency: Option<AgencyCode>,
    /// The record stored beside the request (none when there was nothing to decide).
    pub prediction: Option<Prediction>,
}

/// Decides a new request's service and agency. `chosen` is the service the citizen chose.
/// The service: the citizen's choice, else a matching operator's rule, else the topic model if
/// confident (otherwise its best guess, waiting for triage). The agency: the rule's, then the
/// default agency of a service that was not merely guessed, then the agency model if
/// confident; no agency means triage.
pub fn decide(models: &Models, threshold: f32, catalog: &Catalog, chosen: Option<&Service>, facts: &Facts<'_>) -> Decision {
    let territory_codes: Vec<TerritoryCode> = facts.territories.iter().map(|t| t.code.clone()).collect();
    let rule = matching_rule(&catalog.rules, facts.text, &territory_codes);
    let topic_ranked = match (&models.topic, chosen, rule.and_then(|r| r.service.as_ref())) {
        (Some(model), None, None) => facts.ranked(model, &[], TOPICS_READ),
        _ => Vec::new(),
    };
    let services: Vec<Scored> = topic_ranked
        .iter()
        .filter_map(|(label, p)| catalog.service_for_label(label).map(|s| Scored { code: s.code.to_string(), probability: *p }))
        .take(KEPT)
        .collect();
    let (service, service_by) = match (chosen, rule.and_then(|r| r.service.clone())) {
        (Some(s), _) => (Some(s.code.clone()), Decider::Citizen),
        (None, Some(code)) => (Some(code), Decider::Rule),
        (None, None) => match services.first() {
            Some(best) if best.probability >= threshold => (Some(best.code.as_str().into()), Decider::Model),
            Some(best) => (Some(best.code.as_str().into()), Decider::Triage),
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
                .filter_map(|(label, p)| catalog.agency_for_label(label).map(|a| Scored { code: a.code.to_string(), probability: *p }))
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
            Some(best) if best.probability >= threshold => (Some(best.code.as_str().into()), Decider::Model),
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

/// Refuses everyone but operators and administrators.
pub fn require_operator(user: &Principal) -> Result<()> {
    if matches!(user.role, Role::Admin | Role::Operator) { Ok(()) } else { Err(AppError::Forbidden("operators only".into())) }
}

/// A request waiting for triage with its explained prediction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriageItem {
    /// The request.
    pub request: Request,
    /// Its prediction, explained.
    pub prediction: PredictionView,
}

/// The triage queue: open requests whose service or agency waits for an operator, oldest
/// first, after `after`, at most `limit` (1–500), each explained with the models in force.
/// Operators only.
pub async fn queue(app: &App, user: &Principal, after: i64, limit: Option<u32>) -> Result<Vec<TriageItem>> {
    require_operator(user)?;
    let rows = app.store.triage_queue(after, crate::paging::within("limit", limit, 50, 1..=500)?).await?;
    let catalog = Catalog::read(app.store.as_ref()).await?;
    let models = app.classifier.current();
    Ok(rows
        .into_iter()
        .map(|(request, record)| TriageItem { prediction: explain(&models, &catalog, &Facts::of(&request, &catalog), record), request })
        .collect())
}

/// What intake decided for request `id` and why, for staff who may read the request.
pub async fn prediction(app: &App, user: &Principal, id: RequestId) -> Result<PredictionView> {
    let request = crate::requests::readable(app, user, id).await?;
    let record = app.store.prediction(id).await?.ok_or_else(|| AppError::NotFound(format!("request {id} was not triaged at intake")))?;
    let catalog = Catalog::read(app.store.as_ref()).await?;
    Ok(explain(&app.classifier.current(), &catalog, &Facts::of(&request, &catalog), record))
}

/// A text to classify without filing it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyInput {
    /// The text: not blank, no control characters but line breaks and tabs.
    #[schema(min_length = 1, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub text: String,
    /// Territory code.
    pub territory: Option<TerritoryCode>,
    /// The service, if chosen (then only the agency is predicted).
    pub service_code: Option<ServiceCode>,
}

/// What Okno would decide for a text, with the words behind each choice; stores nothing.
pub async fn classify(app: &App, input: &ClassifyInput, now: DateTime<Utc>) -> Result<PredictionView> {
    let text = input.text.trim();
    if text.is_empty() {
        return Err(AppError::field("text", ErrorCode::Required, "is required"));
    }
    let catalog = Catalog::read(app.store.as_ref()).await?;
    let chosen = match input.service_code.as_deref() {
        Some(code) => Some(catalog.services.iter().find(|s| s.code == code).ok_or_else(|| AppError::field("service_code", ErrorCode::UnknownValue, format!("no service with code {code:?}")))?),
        None => None,
    };
    let attributes = BTreeMap::new();
    let facts = Facts { text, territories: catalog.territory_chain(input.territory.as_deref()), attributes: &attributes };
    let models = app.classifier.current();
    let decision = decide(&models, app.classifier.threshold(), &catalog, chosen, &facts);
    let prediction = decision.prediction.unwrap_or(Prediction {
        services: Vec::new(), agencies: Vec::new(), service_by: Decider::Citizen, agency_by: Decider::Triage,
        rule_id: None, models: Vec::new(), needs_triage: true,
    });
    let record = PredictionRecord { request_id: RequestId(0), at: now, prediction, corrected_at: None, corrected_by: None };
    Ok(explain(&models, &catalog, &facts, record))
}

/// Reads the configured model files again and puts them in force, audited as `admin`'s; a
/// missing, corrupt or other-version file is refused with its reason (field `model`) and the
/// models in force stay.
pub async fn reload_models(app: &App, admin: &Principal, now: DateTime<Utc>) -> Result<crate::models::ModelsStatus> {
    crate::access::require_admin(admin)?;
    let classifier = app.classifier.clone();
    let result = tokio::task::spawn_blocking(move || classifier.reload()).await.map_err(|e| AppError::Internal(e.to_string()))?;
    let detail = match &result {
        Ok(_) => "reloaded".to_owned(),
        Err(e) => format!("refused: {e}"),
    };
    app.store.audit(&admin.login, "reload_models", None, Some(&detail), now).await?;
    result.map_err(|e| AppError::field("model", ErrorCode::Invalid, e))
}

/// Adds an operator's keyword rule after checking that the codes it names exist. Operators only.
pub async fn add_rule(app: &App, user: &Principal, draft: RuleDraft, now: DateTime<Utc>) -> Result<RoutingRule> {
    require_operator(user)?;
    let draft = draft.validate()?;
    let catalog = Catalog::read(app.store.as_ref()).await?;
    let mut errors = okno_core::FieldErrors::default();
    if let Some(code) = draft.service.as_deref().filter(|c| !catalog.services.iter().any(|s| s.code == *c)) {
        errors.add("service", ErrorCode::UnknownValue, format!("no service with code {code:?}"));
    }
    if let Some(code) = draft.agency.as_deref().filter(|c| !catalog.agencies.iter().any(|a| a.code == *c)) {
        errors.add("agency", ErrorCode::UnknownValue, format!("no agency with code {code:?}"));
    }
    if let Some(code) = draft.territory.as_deref().filter(|c| !catalog.territories.iter().any(|t| t.code == *c)) {
        errors.add("territory", ErrorCode::UnknownValue, format!("no territory with code {code:?}"));
    }
    errors.finish(())?;
    Ok(app.store.add_routing_rule(&draft, &user.login, now).await?)
}

/// Turns a keyword rule off (it is kept for the record). Operators only.
pub async fn disable_rule(app: &App, user: &Principal, id: RuleId) -> Result<()> {
    require_operator(user)?;
    if app.store.set_routing_rule_active(id, false).await? { Ok(()) } else { Err(AppError::NotFound(format!("no rule {id}"))) }
}
