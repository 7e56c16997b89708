//! What a lifecycle action does to a request: the pure decision the store then applies
//! atomically (new status, agency, deadline, answer, rating and the event that records it).

use crate::access::Principal;
use crate::lifecycle::{transition, Action, Status, TransitionError};
use crate::request::{EventKind, FieldErrors, NewEvent, Request, ValidationError, MAX_SHORT_CHARS, MAX_TEXT_CHARS};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

/// The details an action carries; which ones are required depends on the action.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
pub struct ActionInput {
    /// Target agency code (`route`, required).
    pub agency: Option<String>,
    /// Answer text (`intermediate_answer`, `answer`), comment, or reason (`route`, `reopen`,
    /// `reject`, `mark_duplicate`, `extend_deadline`).
    pub text: Option<String>,
    /// New deadline (`extend_deadline`, required; must be later than the current one).
    pub due_at: Option<DateTime<Utc>>,
    /// Rating 1–5 (`rate`, required).
    pub rating: Option<i16>,
}

/// The full new state of a request's mutable fields after an action, and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestUpdate {
    /// New status.
    pub status: Status,
    /// Responsible agency.
    pub agency: Option<String>,
    /// Answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was finished, if it is.
    pub closed_at: Option<DateTime<Utc>>,
    /// Citizen's rating.
    pub rating: Option<i16>,
    /// Latest answer text.
    pub last_answer: Option<String>,
    /// The event recording the action.
    pub event: NewEvent,
}

/// Why an action was not carried out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The user may not do this to this request.
    #[error("you may not {} this request", .0.as_str())]
    Forbidden(Action),
    /// The request's status does not allow it.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The action's details are missing or wrong.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// Who is acting: a signed-in user, or the citizen holding the request's token.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor<'a> {
    /// Staff.
    User(&'a Principal),
    /// The citizen who filed the request (may rate, reopen and comment).
    Citizen,
}

impl Actor<'_> {
    fn may(&self, action: Action, request: &Request) -> bool {
        match self {
            Actor::User(p) => p.can_act(action, request.agency.as_deref()),
            Actor::Citizen => matches!(action, Action::Rate | Action::Reopen | Action::Comment),
        }
    }

    fn name(&self) -> String {
        match self {
            Actor::User(p) => p.login.clone(),
            Actor::Citizen => "citizen".to_owned(),
        }
    }
}

/// Decides what `action` by `actor` at `now` does to `request`, or why it cannot be done.
/// `agency_exists` tells whether an agency code is known (for routing).
pub fn plan(
    request: &Request,
    action: Action,
    input: &ActionInput,
    actor: &Actor<'_>,
    now: DateTime<Utc>,
    agency_exists: &dyn Fn(&str) -> bool,
) -> Result<RequestUpdate, ActionError> {
    if !actor.may(action, request) {
        return Err(ActionError::Forbidden(action));
    }
    let status = transition(request.status, action)?;
    let mut errors = FieldErrors::default();
    let text = errors.bounded("text", input.text.clone(), MAX_TEXT_CHARS);
    let mut update = RequestUpdate {
        status,
        agency: request.agency.clone(),
        due_at: request.due_at,
        closed_at: if status.is_final() { request.closed_at.or(Some(now)) } else { None },
        rating: request.rating,
        last_answer: request.last_answer.clone(),
        event: NewEvent::new(now, event_kind(action), actor.name()),
    };
    match action {
        Action::Route => match errors.bounded("agency", input.agency.clone(), MAX_SHORT_CHARS) {
            None => errors.add("agency", "is required"),
            Some(code) if !agency_exists(&code) => errors.add("agency", format!("no agency with code {code:?}")),
            Some(code) if request.agency.as_deref() == Some(code.as_str()) && request.status != Status::Registered => {
                errors.add("agency", "the request is already with this agency")
            }
            Some(code) => {
                update.agency = Some(code.clone());
                update.event.agency = Some(code);
            }
        },
        Action::IntermediateAnswer | Action::Answer => {
            if text.is_none() {
                errors.add("text", "the answer's text is required");
            }
            update.last_answer = text.clone();
            update.event.agency = request.agency.clone();
        }
        Action::Reopen | Action::Reject | Action::MarkDuplicate | Action::Comment if text.is_none() => {
            errors.add("text", "a reason is required")
        }
        Action::ExtendDeadline => match input.due_at {
            None => errors.add("due_at", "the new deadline is required"),
            Some(due) if request.due_at.is_some_and(|old| due <= old) => {
                errors.add("due_at", "must be later than the current deadline")
            }
            Some(due) if due <= now => errors.add("due_at", "must be in the future"),
            Some(due) => {
                if text.is_none() {
                    errors.add("text", "a reason is required");
                }
                update.event.old_due_at = request.due_at;
                update.event.new_due_at = Some(due);
                update.due_at = Some(due);
            }
        },
        Action::Rate => match input.rating {
            Some(r @ 1..=5) => {
                update.rating = Some(r);
                update.event.rating = Some(r);
            }
            _ => errors.add("rating", "must be a whole number from 1 to 5"),
        },
        _ => {}
    }
    update.event.text = text;
    update.event.status = Some(status);
    errors.finish(update).map_err(ActionError::from)
}

fn event_kind(action: Action) -> EventKind {
    match action {
        Action::Route => EventKind::Routed,
        Action::Start => EventKind::Started,
        Action::IntermediateAnswer => EventKind::IntermediateAnswer,
        Action::Answer => EventKind::Answered,
        Action::Close => EventKind::Closed,
        Action::Reopen => EventKind::Reopened,
        Action::Reject => EventKind::Rejected,
        Action::MarkDuplicate => EventKind::MarkedDuplicate,
        Action::ExtendDeadline => EventKind::DeadlineExtended,
        Action::Rate => EventKind::Rated,
        Action::Comment => EventKind::Comment,
    }
}

/// The answer deadline a new request starts with under its service's deadline regime, if the
/// regime sets one. `fz59`: 30 days from registration (Federal Law 59-FZ, art. 12 part 1).
/// Working-day regimes are computed by the deadline engine on the production calendar.
pub fn initial_due(regime: &str, registered_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match regime {
        "fz59" => Some(registered_at + chrono::Duration::days(30)),
        _ => None,
    }
}
