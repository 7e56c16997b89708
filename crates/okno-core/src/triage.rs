//! Triage at intake: which service and agency a request gets, and whether an operator must look
//! at it. Operators' keyword rules come first, then the citizen's choice of service and the
//! service's own agency, then the classifier's prediction when it is confident enough; what
//! is left undecided waits in the triage queue.

use crate::ids::{AgencyCode, RequestId, RuleId, ServiceCode, TerritoryCode};
use crate::request::{string_enum, ErrorCode, FieldErrors, ValidationError, MAX_SHORT_CHARS};
use crate::text::search_key;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Keywords a rule may have.
const MAX_KEYWORDS: usize = 20;

/// A choice with the model's probability for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Scored {
    /// Service or agency code.
    pub code: String,
    /// Calibrated probability, 0–1.
    pub probability: f32,
}

string_enum! {
    /// Who decided a request's service or agency at intake.
    Decider {
        /// The citizen (or the sending system) chose the service.
        Citizen = "citizen",
        /// An operator's keyword rule.
        Rule = "rule",
        /// The service's default agency.
        Service = "service",
        /// The classifier, confident enough.
        Model = "model",
        /// Nobody yet: the classifier's best guess stands until an operator looks.
        Triage = "triage",
    }
}

/// What intake decided for a request and why, stored beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Prediction {
    /// The topic model's best services, most probable first (empty without a topic model).
    pub services: Vec<Scored>,
    /// The agency model's best agencies, most probable first (empty without an agency model).
    pub agencies: Vec<Scored>,
    /// Who decided the service.
    pub service_by: Decider,
    /// Who decided the agency (`triage`: no agency yet).
    pub agency_by: Decider,
    /// The rule that decided, if one did.
    pub rule_id: Option<RuleId>,
    /// Data fingerprints of the models that predicted (topic, agency), for tracing.
    pub models: Vec<String>,
    /// Whether an operator must confirm or correct it.
    pub needs_triage: bool,
}

/// A stored prediction and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PredictionRecord {
    /// The request.
    pub request_id: RequestId,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The prediction.
    #[serde(flatten)]
    pub prediction: Prediction,
    /// When an operator routed or reclassified the request (a correction or a confirmation).
    pub corrected_at: Option<DateTime<Utc>>,
    /// Who did.
    pub corrected_by: Option<String>,
}

/// An operator's keyword rule: a request whose text contains all the keywords (and that lies
/// in the territory, if one is given) gets the rule's service and/or agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingRule {
    /// Rule id.
    pub id: RuleId,
    /// Keywords, in search form (lower case, ё→е); each must occur in the text, so a stem
    /// ("сосул") matches all its forms.
    pub keywords: Vec<String>,
    /// Service it assigns.
    pub service: Option<ServiceCode>,
    /// Agency it assigns.
    pub agency: Option<AgencyCode>,
    /// Territory (and everything inside it) where it applies; anywhere if none.
    pub territory: Option<TerritoryCode>,
    /// Higher wins when several match (then the lower id).
    pub priority: i32,
    /// Inactive rules are kept for the record but never match.
    pub active: bool,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A rule as an operator submits it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDraft {
    /// Keywords: at least one that is not blank, at most 20.
    #[schema(min_items = 1, max_items = 20)]
    pub keywords: Vec<String>,
    /// Service to assign.
    pub service: Option<ServiceCode>,
    /// Agency to assign.
    pub agency: Option<AgencyCode>,
    /// Territory where it applies.
    pub territory: Option<TerritoryCode>,
    /// Priority (default 0).
    #[serde(default)]
    pub priority: i32,
}

impl RuleDraft {
    /// Checks the draft: keywords present and bounded, a service or an agency to assign.
    /// Whether the codes exist is for the caller to check against the catalog.
    pub fn validate(self) -> Result<RuleDraft, ValidationError> {
        let mut errors = FieldErrors::default();
        let keywords: Vec<String> = self.keywords.iter().map(|k| search_key(k)).filter(|k| !k.is_empty()).collect();
        if self.keywords.len() > MAX_KEYWORDS {
            errors.add("keywords", ErrorCode::TooMany, format!("at most {MAX_KEYWORDS} keywords"));
        } else if keywords.is_empty() {
            errors.add("keywords", ErrorCode::Required, "at least one keyword is required");
        } else if keywords.iter().any(|k| k.chars().count() > MAX_SHORT_CHARS) {
            errors.add("keywords", ErrorCode::TooLong, format!("a keyword has at most {MAX_SHORT_CHARS} characters"));
        }
        let service = errors.bounded("service", self.service, MAX_SHORT_CHARS);
        let agency = errors.bounded("agency", self.agency, MAX_SHORT_CHARS);
        let territory = errors.bounded("territory", self.territory, MAX_SHORT_CHARS);
        if service.is_none() && agency.is_none() {
            errors.add("service", ErrorCode::Required, "a rule assigns a service, an agency or both");
        }
        errors.finish(RuleDraft { keywords, service, agency, territory, priority: self.priority })
    }
}

/// The rule that decides a request: active, all keywords in its text, its territory among the
/// request's territory and the territories containing it; the highest priority, then the oldest.
pub fn matching_rule<'r>(rules: &'r [RoutingRule], text: &str, territories: &[TerritoryCode]) -> Option<&'r RoutingRule> {
    let key = search_key(text);
    rules
        .iter()
        .filter(|r| r.active && r.keywords.iter().all(|k| key.contains(k.as_str())))
        .filter(|r| r.territory.as_ref().is_none_or(|t| territories.contains(t)))
        .min_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: i64, keywords: &[&str], territory: Option<&str>, priority: i32) -> RoutingRule {
        RoutingRule {
            id: RuleId(id),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            service: Some(format!("s{id}").into()),
            agency: None,
            territory: territory.map(TerritoryCode::from),
            priority,
            active: true,
            created_by: "op".into(),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn all_keywords_must_occur_and_the_highest_priority_wins() {
        let rules = vec![rule(1, &["сосул"], None, 0), rule(2, &["сосул", "крыш"], None, 5), rule(3, &["снег"], Some("nevsky"), 9)];
        let inside: [TerritoryCode; 3] = ["nevsky-mo-1".into(), "nevsky".into(), "spb".into()];
        assert_eq!(matching_rule(&rules, "Сосульки висят над входом", &[]).map(|r| r.id), Some(RuleId(1)));
        assert_eq!(matching_rule(&rules, "СОСУЛЬКИ на КРЫШЕ", &[]).map(|r| r.id), Some(RuleId(2)));
        assert_eq!(matching_rule(&rules, "Снёг и сосульки на крыше", &inside).map(|r| r.id), Some(RuleId(3)), "ё folds to е");
        assert_eq!(matching_rule(&rules, "снег", &["kirovsky".into()]).map(|r| r.id), None, "outside its territory");
        let mut inactive = rules.clone();
        inactive.iter_mut().for_each(|r| r.active = false);
        assert!(matching_rule(&inactive, "сосульки", &[]).is_none());
    }

    #[test]
    fn a_rule_needs_keywords_and_something_to_assign() {
        assert!(RuleDraft { keywords: vec!["  ".into()], service: Some("s".into()), ..RuleDraft::default() }.validate().is_err());
        assert!(RuleDraft { keywords: vec!["яма".into()], ..RuleDraft::default() }.validate().is_err());
        let ok = RuleDraft { keywords: vec![" Яма  на дороге ".into()], agency: Some("roads".into()), ..RuleDraft::default() }.validate().unwrap();
        assert_eq!(ok.keywords, ["яма на дороге"]);
    }
}
