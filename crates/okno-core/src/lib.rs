//! Okno's domain: the service catalog, agencies and territories, requests with their lifecycle
//! and event timeline, citizens' contacts, and the roles that govern access.
//!
//! Everything here is pure: no I/O, no clocks read implicitly, no database. Inputs are parsed
//! into these types once at the edge (HTTP, CLI, imports); the rest of Okno trusts them.

pub mod access;
pub mod alert;
pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod deadline;
pub mod duplicates;
pub mod ids;
pub mod lifecycle;
pub mod place;
pub mod problem;
pub mod privacy;
pub mod request;
pub mod rollup;
pub mod scorecard;
pub mod text;
pub mod triage;
pub mod workflow;

pub use access::{Principal, Role};
pub use ids::{AgencyCode, AlertId, ApiKeyId, NotificationId, ProblemId, RequestId, RuleId, ServiceCode, TerritoryCode, TokenId, UserId};
pub use catalog::{Agency, Attribute, AttributeDatatype, AttributeValue, Service, Territory};
pub use lifecycle::{Action, Open311Status, Status, TransitionError};
pub use request::{
    AttributeInput, BBox, Channel, Contact, Coordinates, ErrorCode, Event, EventKind, FieldError, FieldErrors, Location,
    LocationFlag, NewEvent, NewRequest, Priority, Request, RequestDraft, RequestFilter, RequestOrder, ValidationError,
};
