//! Requests, their event timeline and the citizen's contact, with the validation applied once
//! when a request enters Okno through any channel.

use crate::ids::{AgencyCode, ProblemId, RequestId, ServiceCode, TerritoryCode};
use crate::catalog::{AttributeDatatype, Service};
use crate::lifecycle::Status;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

pub use crate::place::{BBox, Coordinates, Location, LocationFlag};

/// Longest request text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest address accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 500;
/// Longest short field (names, codes, source ids), in characters.
pub const MAX_SHORT_CHARS: usize = 200;
/// Longest URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2_000;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable name used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown value {s:?}; expected one of {}", names.join(", "))
                })
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// How a request reached Okno.
    Channel {
        /// The citizens' web form.
        Web = "web",
        /// Okno's JSON API.
        Api = "api",
        /// Open311 GeoReport v2.
        Open311 = "open311",
        /// A bulk import from another system.
        Import = "import",
        /// Social-media monitoring.
        Social = "social",
        /// A call taken by an operator.
        Phone = "phone",
        /// An e-mail.
        Email = "email",
    }
}

string_enum! {
    /// How urgently a request must be handled.
    Priority {
        /// Routine.
        Normal = "normal",
        /// Faster than routine.
        High = "high",
        /// A threat to life, health or property.
        Urgent = "urgent",
    }
}

string_enum! {
    /// What happened to a request at one point of its timeline.
    EventKind {
        /// The request was received and registered.
        Registered = "registered",
        /// It was given (or re-given) to an agency.
        Routed = "routed",
        /// The agency took it into work.
        Started = "started",
        /// Its status changed (used for imported histories).
        StatusChanged = "status_changed",
        /// An interim answer.
        IntermediateAnswer = "intermediate_answer",
        /// The answer on the merits.
        Answered = "answered",
        /// The deadline was moved.
        DeadlineExtended = "deadline_extended",
        /// The deadline clock was stopped.
        DeadlinePaused = "deadline_paused",
        /// The deadline clock runs again.
        DeadlineResumed = "deadline_resumed",
        /// The topic/service was changed.
        Reclassified = "reclassified",
        /// A note.
        Comment = "comment",
        /// A further message from the citizen.
        CitizenMessage = "citizen_message",
        /// The request was finished.
        Closed = "closed",
        /// The request came back into work.
        Reopened = "reopened",
        /// The request was refused.
        Rejected = "rejected",
        /// The request was closed as a duplicate.
        MarkedDuplicate = "marked_duplicate",
        /// The citizen rated the answer.
        Rated = "rated",
        /// An overdue request was escalated: its text is the step reached (a number), its
        /// `old_due_at` the deadline that passed.
        Escalated = "escalated",
        /// The deadline was recomputed from the timeline under a changed regime.
        DeadlineRecomputed = "deadline_recomputed",
    }
}

/// A citizen's personal data, kept apart from the request and never shown publicly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name as given.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Telephone number as given: digits, spaces and `+ - ( )`.
    #[schema(max_length = 40, pattern = r"^[0-9 +()\-]*$")]
    pub phone: Option<String>,
    /// E-mail address.
    #[schema(max_length = 254, pattern = r"^(?:[^\s@\u0000-\u001F\u007F-\u009F]+@(?=\S*\.)[^\s.\u0000-\u001F\u007F-\u009F]\S*[^\s.\u0000-\u001F\u007F-\u009F])?$")]
    pub email: Option<String>,
}

impl Contact {
    /// Whether nothing was given.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none() && self.email.is_none()
    }
}

string_enum! {
    /// What is wrong with a field, as a stable machine code: clients and the web UI key their
    /// own wording on it, while `message` is English for a person and may be reworded.
    ErrorCode {
        /// The field is missing or empty.
        Required = "required",
        /// A text longer than the field allows.
        TooLong = "too_long",
        /// A text shorter than the field needs (a password).
        TooShort = "too_short",
        /// More values than the field takes.
        TooMany = "too_many",
        /// A number, date or time outside what the field accepts.
        OutOfRange = "out_of_range",
        /// Not in the field's format (a date, an e-mail address, a link, a login).
        InvalidFormat = "invalid_format",
        /// Not one of the values the field knows (a code in no catalog, an unknown name).
        UnknownValue = "unknown_value",
        /// A value this caller, or this request in its state, may not have.
        NotAllowed = "not_allowed",
        /// Already used by another record (a login).
        Taken = "taken",
        /// A JSON value of the wrong type (a string where a number is expected).
        WrongType = "wrong_type",
        /// A field the input may not have.
        UnknownField = "unknown_field",
        /// Refused for a reason given only in the message (a model file, say).
        Invalid = "invalid",
    }
}

/// One field's problem in an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (`text`, `contact.email`, `attributes.depth`).
    pub field: String,
    /// What is wrong, as a stable code.
    pub code: ErrorCode,
    /// What is wrong, for a person.
    pub message: String,
}

/// An input refused field by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError(pub Vec<FieldError>);

/// Collects field errors while an input is checked.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

/// Whether text holds a control character other than a line break or a tab: a NUL, an escape,
/// a bell. Such text is refused on every intake path (it breaks exports and terminals).
pub fn has_control_chars(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Removes from `text` its control characters other than line breaks and tabs
/// ([`has_control_chars`]).
pub fn strip_control_chars(text: &mut String) {
    if has_control_chars(text) {
        text.retain(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    }
}

/// What a field with a control character is told.
pub const CONTROL_CHARS: &str = "must not contain control characters (such as NUL)";

impl FieldErrors {
    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, code: ErrorCode, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), code, message: message.into() });
    }

    /// Checks an optional text field (a text or a code): its length, and that it holds no
    /// control character ([`has_control_chars`]); empty ones become `None`.
    pub fn bounded<T: AsRef<str> + From<String>>(&mut self, field: &str, value: Option<T>, max_chars: usize) -> Option<T> {
        let value = value.map(|v| v.as_ref().trim().to_owned()).filter(|v| !v.is_empty())?;
        if value.chars().count() > max_chars {
            self.add(field, ErrorCode::TooLong, format!("must be at most {max_chars} characters"));
        } else if has_control_chars(&value) {
            self.add(field, ErrorCode::InvalidFormat, CONTROL_CHARS);
        }
        Some(T::from(value))
    }

    /// `Ok(value)` if nothing was recorded.
    pub fn finish<T>(self, value: T) -> Result<T, ValidationError> {
        if self.0.is_empty() { Ok(value) } else { Err(ValidationError(self.0)) }
    }
}

/// A request as it enters Okno, before it is stored. Made only by [`NewRequest::validate`]
/// (intake from any channel) or [`NewRequest::recorded`] (a system of record: imports, the
/// demo); the optional fields are set after.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewRequest {
    /// Service (request type) code; the service must exist and be active.
    pub service_code: ServiceCode,
    /// How it arrived.
    pub channel: Channel,
    /// The external system it came from, with `source_id` its key there.
    pub source_system: Option<String>,
    /// The key in the external system; the pair is unique.
    pub source_id: Option<String>,
    /// What the citizen wrote.
    pub text: String,
    /// Where, if known.
    pub coordinates: Option<Coordinates>,
    /// Address as given.
    pub address: Option<String>,
    /// Territory code, if known.
    pub territory: Option<TerritoryCode>,
    /// Agency code to route to at once, if known.
    pub agency: Option<AgencyCode>,
    /// Urgency.
    pub priority: Priority,
    /// When the citizen submitted it (imports keep the source's time).
    pub created_at: DateTime<Utc>,
    /// Values of the service's extra fields.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Link to a photo or document.
    pub media_url: Option<String>,
    /// The citizen's contact, stored apart.
    pub contact: Contact,
    /// Source topic label (first level), kept for classification.
    pub category: Option<String>,
    /// Source topic label (second level), kept for classification.
    pub reason: Option<String>,
    /// What placing its point found (set where the territories' boundaries are known).
    pub location: Location,
}

/// What a required text looks like, for the API's document (where [`RequestDraft`]'s `text`
/// repeats it): something besides white space, and no control characters but line breaks and
/// tabs (see [`has_control_chars`]).
pub const REQUIRED_TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// Raw intake fields as any channel delivers them, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestDraft {
    /// Service code.
    pub service_code: Option<String>,
    /// Description: not blank, at most 10,000 characters, no control characters but line breaks
    /// and tabs.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 10000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub text: Option<String>,
    /// Latitude (with `lon`).
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    /// Longitude (with `lat`).
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    /// Address.
    pub address: Option<String>,
    /// Territory code.
    pub territory: Option<String>,
    /// Priority (`normal`, `high`, `urgent`).
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// Extra field values: a string or a list of strings per attribute code.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeInput>,
    /// Photo or document link (http or https).
    #[schema(max_length = 2000, pattern = r"^(?:https?://[^\u0000-\u001F\u007F-\u009F]*)?$")]
    pub media_url: Option<String>,
    /// Citizen's contact.
    #[serde(default)]
    pub contact: Contact,
    /// Key in the client's own system (makes retries idempotent).
    pub source_id: Option<String>,
    /// How it arrived: `web` or `api` for anyone (the default is `api`); the center's staff also
    /// enter `phone`, `email` and `social` requests.
    #[schema(value_type = Option<crate::access::FilingChannel>)]
    pub channel: Option<Channel>,
}

/// An attribute value as sent: one string or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AttributeInput {
    /// A single value.
    One(String),
    /// Several values (multi-value lists).
    Many(Vec<String>),
}

impl AttributeInput {
    /// The value(s) as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            AttributeInput::One(v) => vec![v],
            AttributeInput::Many(vs) => vs,
        }
    }
}

impl NewRequest {
    /// Checks a recorded request, its optional fields set, against the limits intake applies on
    /// every channel: text, address, contact, media link and attributes no longer than theirs.
    pub fn check_limits(&self) -> Result<(), ValidationError> {
        let mut errors = FieldErrors::default();
        let mut text = |field: &str, value: Option<&str>, max_chars: usize| {
            if value.is_some_and(|v| v.chars().count() > max_chars) {
                errors.add(field, ErrorCode::TooLong, format!("must be at most {max_chars} characters"));
            }
        };
        text("text", Some(&self.text), MAX_TEXT_CHARS);
        text("address", self.address.as_deref(), MAX_ADDRESS_CHARS);
        text("contact.name", self.contact.name.as_deref(), MAX_SHORT_CHARS);
        text("contact.phone", self.contact.phone.as_deref(), MAX_SHORT_CHARS);
        text("contact.email", self.contact.email.as_deref(), MAX_SHORT_CHARS);
        text("media_url", self.media_url.as_deref(), MAX_URL_CHARS);
        for (code, values) in &self.attributes {
            for value in values {
                text(&format!("attributes.{code}"), Some(value), MAX_ADDRESS_CHARS);
            }
        }
        errors.finish(())
    }

    /// Removes control characters other than line breaks and tabs ([`has_control_chars`]) from
    /// every text of a recorded request: a system of record's text cannot be sent back to be
    /// fixed, and a citizen's appeal is not lost over a stray invisible character.
    pub fn remove_control_chars(&mut self) {
        strip_control_chars(&mut self.text);
        for field in [&mut self.address, &mut self.contact.name, &mut self.contact.phone, &mut self.contact.email, &mut self.media_url] {
            field.iter_mut().for_each(strip_control_chars);
        }
        self.attributes.values_mut().flatten().for_each(strip_control_chars);
    }

    /// A request another system recorded (an import, the demo region, a benchmark), kept as that
    /// system has it: its service code must not be blank, and when it names its source both the
    /// system and the id there must not be blank. Priority normal, nothing else set.
    pub fn recorded(
        service_code: impl Into<String>,
        channel: Channel,
        source: Option<(String, String)>,
        text: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Result<NewRequest, ValidationError> {
        let mut errors = FieldErrors::default();
        let service_code = service_code.into();
        if service_code.trim().is_empty() {
            errors.add("service_code", ErrorCode::Required, "is required");
        }
        if let Some((system, id)) = &source {
            if system.trim().is_empty() {
                errors.add("source_system", ErrorCode::Required, "is required with a source id");
            }
            if id.trim().is_empty() {
                errors.add("source_id", ErrorCode::Required, "is required with a source system");
            }
        }
        let (source_system, source_id) = source.unzip();
        errors.finish(NewRequest {
            service_code: service_code.into(), channel, source_system, source_id, text: text.into(), coordinates: None, address: None,
            territory: None, agency: None, priority: Priority::Normal, created_at, attributes: BTreeMap::new(), media_url: None,
            contact: Contact::default(), category: None, reason: None, location: Location::default(),
        })
    }

    /// Checks a draft against the service it names and returns the request to store, or every
    /// problem found, field by field. `service` is the catalog entry for `draft.service_code`
    /// (`None` when there is no such service).
    pub fn validate(
        draft: RequestDraft,
        service: Option<&Service>,
        channel: Channel,
        source_system: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<NewRequest, ValidationError> {
        let mut errors = FieldErrors::default();
        let service_code = draft.service_code.map(|s| s.trim().to_owned()).unwrap_or_default();
        match service {
            _ if service_code.is_empty() => errors.add("service_code", ErrorCode::Required, "is required"),
            None => errors.add("service_code", ErrorCode::UnknownValue, format!("no service with code {service_code:?}")),
            Some(s) if !s.active => errors.add("service_code", ErrorCode::NotAllowed, "this service no longer accepts requests"),
            Some(_) => {}
        }
        let text = draft.text.map(|t| t.trim().to_owned()).unwrap_or_default();
        if text.is_empty() {
            errors.add("text", ErrorCode::Required, "is required");
        } else if text.chars().count() > MAX_TEXT_CHARS {
            errors.add("text", ErrorCode::TooLong, format!("must be at most {MAX_TEXT_CHARS} characters"));
        } else if has_control_chars(&text) {
            errors.add("text", ErrorCode::InvalidFormat, CONTROL_CHARS);
        }
        let coordinates = match (draft.lat, draft.lon) {
            (None, None) => None,
            (Some(lat), Some(lon)) => {
                let c = Coordinates::new(lat, lon);
                if c.is_none() {
                    errors.add("lat", ErrorCode::OutOfRange, "latitude must be within -90..90 and longitude within -180..180");
                }
                c
            }
            _ => {
                errors.add("lat", ErrorCode::Required, "lat and lon must be given together");
                None
            }
        };
        let address = errors.bounded("address", draft.address, MAX_ADDRESS_CHARS);
        let territory = errors.bounded("territory", draft.territory, MAX_SHORT_CHARS);
        let priority = match draft.priority.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => Priority::Normal,
            Some(p) => p.parse().unwrap_or_else(|e: String| {
                errors.add("priority", ErrorCode::UnknownValue, e);
                Priority::Normal
            }),
        };
        let media_url = errors.bounded("media_url", draft.media_url, MAX_URL_CHARS);
        if let Some(url) = &media_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.add("media_url", ErrorCode::InvalidFormat, "must be an http or https link");
        }
        let source_id = errors.bounded("source_id", draft.source_id, MAX_SHORT_CHARS);
        let contact = Contact {
            name: errors.bounded("contact.name", draft.contact.name, MAX_SHORT_CHARS),
            phone: errors.bounded("contact.phone", draft.contact.phone, 40),
            email: errors.bounded("contact.email", draft.contact.email, 254),
        };
        if let Some(email) = &contact.email
            && !is_plausible_email(email)
        {
            errors.add("contact.email", ErrorCode::InvalidFormat, "is not an e-mail address");
        }
        if let Some(phone) = &contact.phone
            && !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            errors.add("contact.phone", ErrorCode::InvalidFormat, "may contain only digits, spaces and + - ( )");
        }
        let attributes: BTreeMap<String, Vec<String>> =
            draft.attributes.into_iter().map(|(k, v)| (k, v.into_vec())).collect();
        if let Some(service) = service {
            check_attributes(service, &attributes, &mut errors);
        }
        for (code, values) in &attributes {
            if has_control_chars(code) || values.iter().any(|v| has_control_chars(v)) {
                errors.add(format!("attributes.{code}"), ErrorCode::InvalidFormat, CONTROL_CHARS);
            }
        }
        errors.finish(NewRequest {
            service_code: service_code.into(),
            channel,
            source_system,
            source_id,
            text,
            coordinates,
            address,
            territory: territory.map(TerritoryCode::from),
            agency: None,
            priority,
            created_at: now,
            attributes,
            media_url,
            location: Location::default(),
            contact,
            category: None,
            reason: None,
        })
    }
}

fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// Checks attribute values against a service's definition: unknown codes, missing required
/// values, values outside the list, numbers and dates that do not parse.
pub fn check_attributes(service: &Service, values: &BTreeMap<String, Vec<String>>, errors: &mut FieldErrors) {
    for code in values.keys() {
        if !service.attributes.iter().any(|a| &a.code == code) {
            errors.add(format!("attributes.{code}"), ErrorCode::UnknownValue, "this service has no such field");
        }
    }
    for attr in &service.attributes {
        let field = format!("attributes.{}", attr.code);
        let given: Vec<&str> = values
            .get(&attr.code)
            .map(|vs| vs.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect())
            .unwrap_or_default();
        if given.is_empty() {
            if attr.required && attr.variable {
                errors.add(field, ErrorCode::Required, "is required");
            }
            continue;
        }
        if given.iter().any(|v| v.chars().count() > MAX_ADDRESS_CHARS) {
            errors.add(&field, ErrorCode::TooLong, format!("values must be at most {MAX_ADDRESS_CHARS} characters"));
            continue;
        }
        let in_list = |v: &&str| attr.values.iter().any(|allowed| allowed.key == *v);
        match attr.datatype {
            AttributeDatatype::Singlevaluelist | AttributeDatatype::Multivaluelist
                if !given.iter().all(in_list) =>
            {
                let keys: Vec<&str> = attr.values.iter().map(|v| v.key.as_str()).collect();
                errors.add(field, ErrorCode::UnknownValue, format!("must be one of: {}", keys.join(", ")));
            }
            AttributeDatatype::Singlevaluelist if given.len() > 1 => errors.add(field, ErrorCode::TooMany, "takes one value"),
            AttributeDatatype::Number if !given.iter().all(|v| v.parse::<f64>().is_ok_and(f64::is_finite)) => {
                errors.add(field, ErrorCode::InvalidFormat, "must be a number")
            }
            AttributeDatatype::Datetime if !given.iter().all(|v| DateTime::parse_from_rfc3339(v).is_ok()) => {
                errors.add(field, ErrorCode::InvalidFormat, "must be an ISO 8601 date and time with a time zone")
            }
            AttributeDatatype::String | AttributeDatatype::Text | AttributeDatatype::Number
            | AttributeDatatype::Datetime if given.len() > 1 => errors.add(field, ErrorCode::TooMany, "takes one value"),
            _ => {}
        }
    }
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Request {
    /// Okno's id (Open311 `service_request_id`).
    pub id: RequestId,
    /// The citizen's tracking token: their secret, with which they follow, rate and reopen the
    /// request. Never serialized, so no staff view carries it; the citizen's own views
    /// (`PublicRequest`) hand it out.
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub token: String,
    /// Service code.
    pub service_code: ServiceCode,
    /// How it arrived.
    pub channel: Channel,
    /// External system it came from.
    pub source_system: Option<String>,
    /// Key in that system.
    pub source_id: Option<String>,
    /// What the citizen wrote.
    pub text: String,
    /// Where.
    pub coordinates: Option<Coordinates>,
    /// Address as given.
    pub address: Option<String>,
    /// Territory code.
    pub territory: Option<TerritoryCode>,
    /// Responsible agency code.
    pub agency: Option<AgencyCode>,
    /// Fine-grained status.
    pub status: Status,
    /// Urgency.
    pub priority: Priority,
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Finished, if it is.
    pub closed_at: Option<DateTime<Utc>>,
    /// Answer due.
    pub due_at: Option<DateTime<Utc>>,
    /// Extra field values.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Photo or document link.
    pub media_url: Option<String>,
    /// First-level topic label.
    pub category: Option<String>,
    /// Second-level topic label.
    pub reason: Option<String>,
    /// The citizen's rating of the answer, 1–5.
    pub rating: Option<i16>,
    /// The latest answer's text (interim or final).
    pub last_answer: Option<String>,
    /// When a first reaction is due, under regimes that set one.
    pub first_reaction_due_at: Option<DateTime<Utc>>,
    /// When the agency first reacted (took it into work or answered).
    pub first_reaction_at: Option<DateTime<Utc>>,
    /// When the first answer (interim or final) was given.
    pub first_answer_at: Option<DateTime<Utc>>,
    /// Deadline extensions used.
    pub extensions: i16,
    /// How many escalation steps the overdue request has gone through.
    pub escalation_level: i16,
    /// When the deadline clock was stopped, while it stands still (the deadline then waits).
    pub paused_at: Option<DateTime<Utc>>,
    /// When it had to be routed to an agency (the regime's re-direction term; set while it had none).
    pub routing_due_at: Option<DateTime<Utc>>,
    /// What placing its point found: the H3 cell and any data-quality flag.
    pub location: Location,
    /// The request this one was merged into as a duplicate (its citizen follows that one).
    pub duplicate_of: Option<RequestId>,
}

/// One entry in a request's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Event id, increasing in the order events were recorded.
    pub id: i64,
    /// Request it belongs to.
    pub request_id: RequestId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// Who did it: a user's login, `citizen`, `system`, or the source system's name.
    pub actor: String,
    /// Status after the event.
    pub status: Option<Status>,
    /// Agency involved (routing target, answering body).
    pub agency: Option<AgencyCode>,
    /// Answer text, comment, or reason.
    pub text: Option<String>,
    /// Deadline before the event (deadline changes).
    pub old_due_at: Option<DateTime<Utc>>,
    /// Deadline after the event.
    pub new_due_at: Option<DateTime<Utc>>,
    /// Rating given (rated events).
    pub rating: Option<i16>,
}

/// An event to append to a request's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// Who did it.
    pub actor: String,
    /// Status after the event.
    pub status: Option<Status>,
    /// Agency involved.
    pub agency: Option<AgencyCode>,
    /// Answer text, comment, or reason.
    pub text: Option<String>,
    /// Deadline before.
    pub old_due_at: Option<DateTime<Utc>>,
    /// Deadline after.
    pub new_due_at: Option<DateTime<Utc>>,
    /// Rating given.
    pub rating: Option<i16>,
}

impl NewEvent {
    /// An event with only its time, kind and actor set.
    pub fn new(at: DateTime<Utc>, kind: EventKind, actor: impl Into<String>) -> Self {
        NewEvent { at, kind, actor: actor.into(), status: None, agency: None, text: None, old_due_at: None, new_due_at: None, rating: None }
    }
}

/// Which requests to list. Every field narrows the list; `None` means no constraint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFilter {
    /// Only these request ids.
    pub ids: Vec<RequestId>,
    /// Only these services.
    pub services: Vec<ServiceCode>,
    /// Only these statuses.
    pub statuses: Vec<Status>,
    /// Only this agency's requests.
    pub agency: Option<AgencyCode>,
    /// Only this territory.
    pub territory: Option<TerritoryCode>,
    /// Only this source category (topic).
    pub category: Option<String>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Inside this rectangle.
    pub bbox: Option<BBox>,
    /// Only requests whose stored H3 cell number lies in this range, both ends included (the
    /// cells within one cell of the map; see `okno_geo::stored_cells_within`).
    pub h3_cells: Option<(i64, i64)>,
    /// Containing these words (case- and ё-insensitive), in text or address.
    pub text: Option<String>,
    /// Only requests with a smaller id than this (the cursor of the previous page).
    pub before_id: Option<RequestId>,
    /// At most this many.
    pub limit: u32,
    /// Skip this many first (page-number pagination, as Open311 clients use).
    pub offset: u32,
    /// Which come first.
    pub order: RequestOrder,
    /// Only requests whose answer is due before this.
    pub due_before: Option<DateTime<Utc>>,
    /// Only requests whose answer is due at or after this.
    pub due_from: Option<DateTime<Utc>>,
    /// Only requests without a first reaction whose first-reaction deadline is before this.
    pub no_reaction_by: Option<DateTime<Utc>>,
    /// Only requests still without an agency whose routing deadline is before this.
    pub unrouted_by: Option<DateTime<Utc>>,
    /// Only the duplicates merged into this request.
    pub duplicate_of: Option<RequestId>,
    /// Only the requests of this systemic problem.
    pub problem: Option<ProblemId>,
}

/// The order of a request list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestOrder {
    /// Newest first by id (stable for cursor pagination).
    #[default]
    NewestId,
    /// Newest first by submission time (Open311's `requested_datetime`), then by id.
    NewestCreated,
    /// Soonest deadline first (queues), then by id; requests without a deadline last.
    DueSoonest,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Attribute, AttributeValue};

    fn service() -> Service {
        Service {
            code: "pothole".into(), name_ru: "Яма".into(), name_en: "Pothole".into(),
            description_ru: String::new(), description_en: String::new(), group: "roads".into(),
            keywords: vec![], default_agency: None, deadline_regime: "fz59".into(), electronic: true, active: true,
            attributes: vec![Attribute {
                code: "size".into(), description_ru: "Размер".into(), description_en: "Size".into(),
                datatype: AttributeDatatype::Singlevaluelist, required: true, order: 1, variable: true,
                values: vec![AttributeValue { key: "small".into(), name_ru: "маленькая".into(), name_en: "small".into() }],
            }],
        }
    }

    fn draft() -> RequestDraft {
        RequestDraft {
            service_code: Some("pothole".into()), text: Some("Яма на дороге".into()),
            lat: Some(59.9), lon: Some(30.3),
            attributes: [("size".to_string(), AttributeInput::One("small".into()))].into(),
            ..Default::default()
        }
    }

    #[test]
    fn control_characters_are_refused_in_every_field() {
        let mut d = draft();
        d.text = Some("Яма\0".into());
        d.address = Some("Садовая\u{1b}[31m".into());
        d.contact.name = Some("Анна\u{7}".into());
        d.attributes.insert("size".into(), AttributeInput::One("small\0".into()));
        let e = NewRequest::validate(d, Some(&service()), Channel::Web, None, Utc::now()).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert!(["text", "address", "contact.name", "attributes.size"].iter().all(|f| fields.contains(f)), "{fields:?}");
        let mut lines = draft();
        lines.text = Some("Яма\r\nна дороге\tу дома".into());
        assert!(NewRequest::validate(lines, Some(&service()), Channel::Web, None, Utc::now()).is_ok(), "line breaks and tabs are text");
    }

    #[test]
    fn recorded_requests_keep_the_same_limits_and_lose_their_control_characters() {
        let mut r = NewRequest::recorded("pothole", Channel::Import, None, "Яма\0 на\u{3}\nдороге", Utc::now()).unwrap();
        assert!(r.check_limits().is_ok());
        r.address = Some("д".repeat(MAX_ADDRESS_CHARS + 1));
        r.text = "я".repeat(MAX_TEXT_CHARS + 1);
        let fields: Vec<String> = r.check_limits().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["text", "address"]);
        r.text = "Яма\0 на\u{3}\nдороге".into();
        r.contact.name = Some("Анна\u{7}".into());
        r.remove_control_chars();
        assert_eq!((r.text.as_str(), r.contact.name.as_deref()), ("Яма на\nдороге", Some("Анна")));
    }

    #[test]
    fn a_good_draft_passes() {
        let r = NewRequest::validate(draft(), Some(&service()), Channel::Web, None, Utc::now()).unwrap();
        assert_eq!(r.coordinates, Coordinates::new(59.9, 30.3));
        assert_eq!(r.priority, Priority::Normal);
    }

    #[test]
    fn every_problem_is_reported_by_field() {
        let mut d = draft();
        d.text = Some("x".repeat(MAX_TEXT_CHARS + 1));
        d.lat = Some(91.0);
        d.attributes = [("colour".to_string(), AttributeInput::One("red".into()))].into();
        d.contact.email = Some("not-an-email".into());
        let err = NewRequest::validate(d, Some(&service()), Channel::Web, None, Utc::now()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["text", "lat", "contact.email", "attributes.colour", "attributes.size"]);
    }

    #[test]
    fn unknown_service_and_bad_list_value() {
        let err = NewRequest::validate(draft(), None, Channel::Web, None, Utc::now()).unwrap_err();
        assert_eq!(err.0[0].field, "service_code");
        let mut d = draft();
        d.attributes.insert("size".into(), AttributeInput::One("huge".into()));
        let err = NewRequest::validate(d, Some(&service()), Channel::Web, None, Utc::now()).unwrap_err();
        assert_eq!(err.0[0].message, "must be one of: small");
    }

    #[test]
    fn bbox_parses_and_checks() {
        assert!("30,59,31,60".parse::<BBox>().is_ok());
        assert_eq!("31,60,30,59".parse::<BBox>(), "30,59,31,60".parse::<BBox>());
        assert!("181,59,30,60".parse::<BBox>().is_err());
        assert!("a,b,c,d".parse::<BBox>().is_err());
        assert!("1,2,3".parse::<BBox>().is_err());
    }

    #[test]
    fn the_documented_text_pattern_takes_the_texts_intake_takes() {
        let documented = serde_json::to_value(<RequestDraft as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(documented["properties"]["text"]["pattern"], REQUIRED_TEXT_PATTERN);
        let pattern = regex::Regex::new(REQUIRED_TEXT_PATTERN).unwrap();
        for text in ["Яма", "  две\nстроки\t", "x"] {
            assert!(pattern.is_match(text) && !text.trim().is_empty() && !has_control_chars(text), "{text:?}");
        }
        for text in ["", "   ", "\n\t", "NUL\u{0}", "bell\u{7}", "\u{85}"] {
            assert!(!pattern.is_match(text), "{text:?}");
            assert!(text.trim().is_empty() || has_control_chars(text), "{text:?}");
        }
    }

    #[test]
    fn the_documented_bbox_pattern_takes_exactly_the_boxes_that_parse() {
        let pattern = regex::Regex::new(crate::place::BBOX_PATTERN).unwrap();
        for good in ["30.1,59.8,30.6,60.1", "-180,-90,180,90", "180.000,0,-0.5,89.99", "31,60,30,59"] {
            assert!(pattern.is_match(good), "{good}");
            assert!(good.parse::<BBox>().is_ok(), "{good}");
        }
        for bad in ["180.1,0,0,0", "0,90.5,0,0", "0,0,0", "a,b,c,d", "0,0,0,0,0", "1e2,0,0,0", "", "0, 0,1,1"] {
            assert!(!pattern.is_match(bad), "{bad}");
        }
        assert!("180.1,0,0,0".parse::<BBox>().is_err());
    }
}
