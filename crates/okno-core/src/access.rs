//! Who may do what. Roles are coarse; the one fine rule is that agency staff see and act on
//! their own agency's requests only.

use crate::ids::{AgencyCode, UserId};
use crate::lifecycle::Action;
use crate::request::Channel;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users and keys.
    Admin,
    /// Management-center operator: triage, routing, control of all requests.
    Operator,
    /// Staff of one agency: its own requests only.
    AgencyStaff,
    /// Reads everything except personal data; changes nothing.
    Analyst,
}

impl Role {
    /// The stable name used in the API, CLI and database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::AgencyStaff => "agency_staff",
            Role::Analyst => "analyst",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Role::Admin, Role::Operator, Role::AgencyStaff, Role::Analyst]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; expected admin, operator, agency_staff or analyst"))
    }
}

/// Whether `filer` (`None`: an anonymous citizen) may file a request as having come through
/// `channel`. Everyone files through the web form and the API; the center's operators and
/// administrators also enter phone, e-mail and social-media requests; imports and Open311 have
/// their own ways in, so no one names them.
pub fn may_file_through(filer: Option<&Principal>, channel: Channel) -> bool {
    match channel {
        Channel::Web | Channel::Api => true,
        Channel::Phone | Channel::Email | Channel::Social => filer.is_some_and(Principal::can_register),
        Channel::Import | Channel::Open311 => false,
    }
}

/// The channels someone may file a request through ([`may_file_through`]).
pub const FILING_CHANNELS: [Channel; 5] = [Channel::Web, Channel::Api, Channel::Phone, Channel::Email, Channel::Social];

/// [`FILING_CHANNELS`] in the API's document.
pub struct FilingChannel;

impl utoipa::PartialSchema for FilingChannel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([utoipa::openapi::schema::Type::String, utoipa::openapi::schema::Type::Null]))
            .enum_values(Some(FILING_CHANNELS.iter().map(|c| serde_json::json!(c.as_str())).chain([serde_json::Value::Null])))
            .into()
    }
}

impl ToSchema for FilingChannel {}

/// The signed-in user on whose behalf a call runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Principal {
    /// User id.
    pub user_id: UserId,
    /// Login name (recorded as the actor of events and audit entries).
    pub login: String,
    /// Role.
    pub role: Role,
    /// The agency of agency staff.
    pub agency: Option<AgencyCode>,
}

impl Principal {
    /// Whether the user may see a request routed to `request_agency`.
    pub fn can_read_request(&self, request_agency: Option<&str>) -> bool {
        match self.role {
            Role::Admin | Role::Operator | Role::Analyst => true,
            Role::AgencyStaff => self.is_own_agency(request_agency),
        }
    }

    /// Whether the user may see the citizen's contact of a request routed to `request_agency`.
    /// Analysts never may.
    pub fn can_read_contact(&self, request_agency: Option<&str>) -> bool {
        match self.role {
            Role::Admin | Role::Operator => true,
            Role::AgencyStaff => self.is_own_agency(request_agency),
            Role::Analyst => false,
        }
    }

    /// Whether the user reads the personal data citizens type into free texts (analysts read
    /// those texts masked; see [`crate::privacy::mask_request`]).
    pub fn reads_personal_data(&self) -> bool {
        self.role != Role::Analyst
    }

    /// Whether the user may perform `action` on a request routed to `request_agency`.
    /// Agency staff work their own requests and may route them onwards (re-direction to the
    /// competent body) but cannot reject or merge them; that is the center's decision.
    pub fn can_act(&self, action: Action, request_agency: Option<&str>) -> bool {
        match self.role {
            Role::Admin | Role::Operator => true,
            Role::AgencyStaff => {
                self.is_own_agency(request_agency)
                    && !matches!(action, Action::Reject | Action::MarkDuplicate | Action::Rate | Action::Reclassify)
            }
            Role::Analyst => false,
        }
    }

    /// Whether the user administers users and keys.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the user may enter requests on a citizen's behalf (phone, e-mail).
    pub fn can_register(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Operator)
    }

    fn is_own_agency(&self, request_agency: Option<&str>) -> bool {
        matches!((self.agency.as_deref(), request_agency), (Some(mine), Some(theirs)) if mine == theirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, agency: Option<&str>) -> Principal {
        Principal { user_id: UserId(1), login: "u".into(), role, agency: agency.map(AgencyCode::from) }
    }

    #[test]
    fn agency_staff_see_only_their_agency() {
        let staff = user(Role::AgencyStaff, Some("roads"));
        assert!(staff.can_read_request(Some("roads")));
        assert!(!staff.can_read_request(Some("water")));
        assert!(!staff.can_read_request(None));
        assert!(staff.can_act(Action::Answer, Some("roads")));
        assert!(!staff.can_act(Action::Answer, Some("water")));
        assert!(!staff.can_act(Action::Reject, Some("roads")));
    }

    #[test]
    fn analysts_never_see_contacts_nor_act() {
        let analyst = user(Role::Analyst, None);
        assert!(analyst.can_read_request(Some("roads")));
        assert!(!analyst.can_read_contact(Some("roads")));
        assert!(!analyst.can_act(Action::Comment, Some("roads")));
    }
}
