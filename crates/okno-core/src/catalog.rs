//! The reference data every request points into: agencies, territories and the service catalog.

use crate::ids::{AgencyCode, ServiceCode, TerritoryCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A body that answers requests: a regional ministry, a district administration, a utility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Agency {
    /// Stable short code (also the key used by imports to find the agency again).
    pub code: AgencyCode,
    /// Name in Russian.
    pub name_ru: String,
    /// Name in English.
    pub name_en: String,
    /// Code of the parent agency, if it is a subdivision.
    pub parent: Option<AgencyCode>,
}

/// A place with official boundaries: region, district, municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Territory {
    /// Stable short code.
    pub code: TerritoryCode,
    /// Name in Russian.
    pub name_ru: String,
    /// Name in English.
    pub name_en: String,
    /// Kind of unit: `region`, `district`, `municipality`, `settlement`…
    pub kind: String,
    /// Code of the enclosing territory.
    pub parent: Option<TerritoryCode>,
    /// Official resident population, when known (for per-capita rates).
    pub population: Option<i64>,
}

/// A territory and the territories containing it, innermost first; empty for no or an unknown
/// code, and cut short where a parent is unknown or the chain loops.
pub fn territory_chain<'a>(territories: &'a [Territory], code: Option<&str>) -> Vec<&'a Territory> {
    let mut chain: Vec<&Territory> = Vec::new();
    let mut next = code;
    while let Some(code) = next {
        let Some(t) = territories.iter().find(|t| t.code == code) else { break };
        if chain.iter().any(|c| c.code == t.code) {
            break;
        }
        chain.push(t);
        next = t.parent.as_deref();
    }
    chain
}

/// The Russian name of the territory of `kind` in a chain (see [`territory_chain`]), "" if none.
pub fn name_of_kind<'a>(chain: &[&'a Territory], kind: &str) -> &'a str {
    chain.iter().find(|t| t.kind == kind).map_or("", |t| t.name_ru.as_str())
}

/// Datatype of an extra form field, as in Open311 service definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttributeDatatype {
    /// Free text on one line.
    String,
    /// A whole number.
    Number,
    /// Date and time.
    Datetime,
    /// Free text on several lines.
    Text,
    /// One of `values`.
    Singlevaluelist,
    /// Any number of `values`.
    Multivaluelist,
}

/// One allowed value of a list attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttributeValue {
    /// The value sent by clients.
    pub key: String,
    /// Its label in Russian.
    pub name_ru: String,
    /// Its label in English.
    pub name_en: String,
}

/// An extra field a service asks for (Open311 attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attribute {
    /// Field code, unique within the service.
    pub code: String,
    /// The question shown to the citizen, in Russian.
    pub description_ru: String,
    /// The question in English.
    pub description_en: String,
    /// What kind of value it takes.
    pub datatype: AttributeDatatype,
    /// Whether a request without it is refused.
    pub required: bool,
    /// Display order within the form.
    pub order: i32,
    /// Whether the citizen fills it (`true`) or only staff/systems do (`false`).
    #[serde(default = "default_true")]
    pub variable: bool,
    /// Allowed values for list datatypes.
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

fn default_true() -> bool {
    true
}

/// A kind of request Okno accepts: an appeal topic or an e-service for businesses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Service {
    /// Stable code, used by clients (Open311 `service_code`).
    pub code: ServiceCode,
    /// Name in Russian.
    pub name_ru: String,
    /// Name in English.
    pub name_en: String,
    /// Longer description in Russian.
    #[serde(default)]
    pub description_ru: String,
    /// Longer description in English.
    #[serde(default)]
    pub description_en: String,
    /// Group (topic category) the service belongs to.
    pub group: String,
    /// Words citizens use for it, for search and classification.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Extra form fields.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// Code of the agency that receives it unless routing decides otherwise.
    pub default_agency: Option<AgencyCode>,
    /// Name of the deadline regime that governs it (e.g. `fz59`, `business_10wd`).
    pub deadline_regime: String,
    /// Whether it can be requested electronically.
    pub electronic: bool,
    /// Whether it accepts new requests.
    pub active: bool,
}
