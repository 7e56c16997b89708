//! What a lifecycle action does to a request: the pure decision the store then applies
//! atomically (new status, agency, deadline, answer, rating and the event that records it).

use crate::ids::{AgencyCode, RequestId, ServiceCode};
use crate::access::Principal;
use crate::clock::{is_reroute, ClockState, DeadlineRules};
use crate::deadline::TermStart;
use crate::lifecycle::{transition, Action, Status, TransitionError};
use crate::request::{ErrorCode, EventKind, FieldErrors, NewEvent, Request, ValidationError, MAX_SHORT_CHARS, MAX_TEXT_CHARS};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

/// The details an action carries; which ones are required depends on the action.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// Target agency code (`route`, required).
    pub agency: Option<AgencyCode>,
    /// New service code (`reclassify`, required).
    pub service: Option<ServiceCode>,
    /// Answer text (`intermediate_answer`, `answer`), comment, or reason (`route`, `reopen`,
    /// `reject`, `mark_duplicate`, `extend_deadline`).
    pub text: Option<String>,
    /// New deadline (`extend_deadline`, required; must be later than the current one).
    pub due_at: Option<DateTime<Utc>>,
    /// Rating 1–5 (`rate`, required).
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i16>,
    /// The request this one duplicates (`mark_duplicate`): the duplicate is linked to it and
    /// its citizen follows it; the link stands in for the reason.
    pub duplicate_of: Option<RequestId>,
}

/// The full new state of a request's mutable fields after an action, and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestUpdate {
    /// New status.
    pub status: Status,
    /// Service.
    pub service_code: ServiceCode,
    /// Responsible agency.
    pub agency: Option<AgencyCode>,
    /// Answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was finished, if it is.
    pub closed_at: Option<DateTime<Utc>>,
    /// Citizen's rating.
    pub rating: Option<i16>,
    /// Latest answer text.
    pub last_answer: Option<String>,
    /// When the agency first reacted.
    pub first_reaction_at: Option<DateTime<Utc>>,
    /// When the first answer was given.
    pub first_answer_at: Option<DateTime<Utc>>,
    /// Extensions used.
    pub extensions: i16,
    /// Escalation steps taken (back to 0 once the request is no longer overdue).
    pub escalation_level: i16,
    /// When the deadline clock was stopped, while it stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// The request it was merged into as a duplicate.
    pub duplicate_of: Option<RequestId>,
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
    /// The request's deadline does not allow it.
    #[error(transparent)]
    Deadline(#[from] DeadlineRefusal),
    /// The action's details are missing or wrong.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// Why a request's deadline does not allow an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineRefusal {
    /// Resuming a clock that runs.
    #[error("the deadline clock is not stopped")]
    NotStopped,
    /// Stopping a clock that stands still.
    #[error("the deadline clock is already stopped")]
    AlreadyStopped,
    /// Extending past the extensions the regime allows.
    #[error("the {regime} regime allows {allowed} extension(s), all used")]
    ExtensionsUsed {
        /// The deadline regime's code.
        regime: String,
        /// How many extensions it allows.
        allowed: u32,
    },
}

/// The kinds of catalog entries an action may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogItem {
    /// An agency code.
    Agency,
    /// A service code.
    Service,
}

/// What the citizen holding a request's token may do to it.
pub const CITIZEN_ACTIONS: [Action; 3] = [Action::Rate, Action::Reopen, Action::Comment];

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
            Actor::Citizen => CITIZEN_ACTIONS.contains(&action),
        }
    }

    fn name(&self) -> String {
        match self {
            Actor::User(p) => p.login.clone(),
            Actor::Citizen => "citizen".to_owned(),
        }
    }
}

/// Why `actor` cannot take `action` on `request` now, whatever its details: not theirs to take,
/// not from the request's status, or not with its deadline clock as it stands. `None`: the
/// action is open to them (its details may still be refused).
pub fn refusal(request: &Request, action: Action, actor: &Actor<'_>, rules: Option<DeadlineRules<'_>>) -> Option<ActionError> {
    if !actor.may(action, request) {
        return Some(ActionError::Forbidden(action));
    }
    if let Err(refused) = transition(request.status, action) {
        return Some(refused.into());
    }
    match action {
        Action::ExtendDeadline => rules
            .filter(|r| i64::from(request.extensions) >= i64::from(r.regime.max_extensions))
            .map(|r| DeadlineRefusal::ExtensionsUsed { regime: r.regime.code.clone(), allowed: r.regime.max_extensions }.into()),
        Action::PauseDeadline if request.paused_at.is_some() => Some(DeadlineRefusal::AlreadyStopped.into()),
        Action::ResumeDeadline if request.paused_at.is_none() => Some(DeadlineRefusal::NotStopped.into()),
        _ => None,
    }
}

/// The details an action asks for: the fields of [`ActionInput`] it requires and those it
/// also takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionFields {
    /// Fields the action cannot go without.
    pub required: &'static [&'static str],
    /// Fields it takes when given.
    pub optional: &'static [&'static str],
}

/// What `action` asks for in its body ([`plan`] checks the same). A duplicate may also be
/// marked with a reason alone; this asks for the original, which is what people do.
pub fn action_fields(action: Action) -> ActionFields {
    let fields = |required, optional| ActionFields { required, optional };
    match action {
        Action::Route => fields(&["agency"], &["text"]),
        Action::Reclassify => fields(&["service"], &["text"]),
        Action::MarkDuplicate => fields(&["duplicate_of"], &["text"]),
        Action::ExtendDeadline => fields(&["text"], &["due_at"]),
        Action::Rate => fields(&["rating"], &["text"]),
        Action::IntermediateAnswer | Action::Answer | Action::Reopen | Action::Reject | Action::Comment | Action::PauseDeadline => fields(&["text"], &[]),
        Action::Start | Action::Close | Action::ResumeDeadline => fields(&[], &["text"]),
    }
}

/// Decides what `action` by `actor` at `now` does to `request`, or why it cannot be done.
/// `exists` tells whether an agency or service code is known (for routing and
/// reclassification); `rules` are the
/// request's deadline rules, when its service has a known regime (they govern extensions and
/// whether re-routing or reopening starts the term again).
pub fn plan(
    request: &Request,
    action: Action,
    input: &ActionInput,
    actor: &Actor<'_>,
    now: DateTime<Utc>,
    exists: &dyn Fn(CatalogItem, &str) -> bool,
    rules: Option<DeadlineRules<'_>>,
) -> Result<RequestUpdate, ActionError> {
    if let Some(refused) = refusal(request, action, actor, rules) {
        return Err(refused);
    }
    let status = transition(request.status, action)?;
    let mut errors = FieldErrors::default();
    let text = errors.bounded("text", input.text.clone(), MAX_TEXT_CHARS);
    let mut update = RequestUpdate {
        status,
        service_code: request.service_code.clone(),
        agency: request.agency.clone(),
        due_at: request.due_at,
        closed_at: if status.is_final() { request.closed_at.or(Some(now)) } else { None },
        rating: request.rating,
        last_answer: request.last_answer.clone(),
        first_reaction_at: request.first_reaction_at,
        first_answer_at: request.first_answer_at,
        extensions: request.extensions,
        escalation_level: request.escalation_level,
        paused_at: if status.awaits_agency() { request.paused_at } else { None },
        duplicate_of: request.duplicate_of,
        event: NewEvent::new(now, event_kind(action), actor.name()),
    };
    if matches!(action, Action::Start | Action::IntermediateAnswer | Action::Answer) && matches!(actor, Actor::User(_)) {
        update.first_reaction_at = update.first_reaction_at.or(Some(now));
    }
    if matches!(action, Action::IntermediateAnswer | Action::Answer) {
        update.first_answer_at = update.first_answer_at.or(Some(now));
    }
    let set_clock = |update: &mut RequestUpdate, clock: ClockState| {
        if clock.due_at != request.due_at {
            update.event.old_due_at = request.due_at;
            update.event.new_due_at = clock.due_at;
            update.escalation_level = 0;
        }
        update.due_at = clock.due_at;
        update.paused_at = clock.paused_at;
    };
    if input.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        errors.add("rating", ErrorCode::OutOfRange, "must be a whole number from 1 to 5");
    }
    match action {
        Action::Route => match errors.bounded("agency", input.agency.clone(), MAX_SHORT_CHARS) {
            None => errors.add("agency", ErrorCode::Required, "is required"),
            Some(code) if !exists(CatalogItem::Agency, &code) => errors.add("agency", ErrorCode::UnknownValue, format!("no agency with code {code:?}")),
            Some(code) if request.agency.as_deref() == Some(code.as_str()) && request.status != Status::Registered => {
                errors.add("agency", ErrorCode::NotAllowed, "the request is already with this agency")
            }
            Some(code) => {
                let rerouted = is_reroute(request.status, request.agency.as_deref(), &code);
                let registered_now = request.status == Status::Registered && request.due_at.is_none();
                if let Some(r) = rules
                    && ((rerouted && r.regime.reroute_restarts) || (registered_now && r.regime.term_starts == TermStart::Registration))
                {
                    set_clock(&mut update, r.start(now));
                }
                update.agency = Some(code.clone());
                update.event.agency = Some(code);
            }
        },
        Action::IntermediateAnswer | Action::Answer => {
            if text.is_none() {
                errors.add("text", ErrorCode::Required, "the answer's text is required");
            }
            update.last_answer = text.clone();
            update.event.agency = request.agency.clone();
        }
        Action::MarkDuplicate => match input.duplicate_of {
            Some(original) if original == request.id => errors.add("duplicate_of", ErrorCode::NotAllowed, "a request cannot duplicate itself"),
            Some(original) => {
                update.duplicate_of = Some(original);
                update.event.text = Some(format!("#{original}"));
            }
            None if text.is_none() => errors.add("text", ErrorCode::Required, "a reason or the original request (duplicate_of) is required"),
            None => {}
        },
        Action::Reopen | Action::Reject | Action::Comment if text.is_none() => errors.add("text", ErrorCode::Required, "a reason is required"),
        Action::Reopen => {
            if let Some(r) = rules.filter(|r| r.regime.reopen_restarts) {
                set_clock(&mut update, r.start(now));
            }
        }
        Action::PauseDeadline if text.is_none() => errors.add("text", ErrorCode::Required, "a reason is required"),
        Action::PauseDeadline => update.paused_at = Some(now),
        Action::ResumeDeadline => match rules {
            Some(r) => set_clock(&mut update, r.resume(ClockState { due_at: request.due_at, paused_at: request.paused_at }, now)),
            None => update.paused_at = None,
        },
        Action::Reclassify => match errors.bounded("service", input.service.clone(), MAX_SHORT_CHARS) {
            None => errors.add("service", ErrorCode::Required, "is required"),
            Some(code) if !exists(CatalogItem::Service, &code) => errors.add("service", ErrorCode::UnknownValue, format!("no service with code {code:?}")),
            Some(code) if code == request.service_code => errors.add("service", ErrorCode::NotAllowed, "the request already has this service"),
            Some(code) => {
                update.event.text = Some(format!("{} -> {code}", request.service_code));
                update.service_code = code;
            }
        },
        Action::ExtendDeadline => plan_extension(request, input, rules, now, &mut update, &mut errors),
        Action::Rate => match input.rating {
            Some(r @ 1..=5) => {
                update.rating = Some(r);
                update.event.rating = Some(r);
            }
            Some(_) => {}
            None => errors.add("rating", ErrorCode::Required, "is required: a whole number from 1 to 5"),
        },
        _ => {}
    }
    update.event.text = match (update.event.text.take(), text) {
        (Some(change), Some(comment)) => Some(format!("{change}: {comment}")),
        (change, comment) => change.or(comment),
    };
    update.event.status = Some(status);
    errors.finish(update).map_err(ActionError::from)
}

/// An extension: to `input.due_at`, or by the regime's extension span when none is given;
/// never beyond one span past the current deadline, never more often than the regime allows.
fn plan_extension(
    request: &Request,
    input: &ActionInput,
    rules: Option<DeadlineRules<'_>>,
    now: DateTime<Utc>,
    update: &mut RequestUpdate,
    errors: &mut FieldErrors,
) {
    if input.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        errors.add("text", ErrorCode::Required, "a reason is required");
    }
    let base = request.due_at.unwrap_or(now);
    let limit = rules.and_then(|r| r.regime.extension.map(|span| r.config.add(base, span, r.regime.day_off)));
    let due = match (input.due_at, limit) {
        (Some(due), _) => due,
        (None, Some(limit)) => limit,
        (None, None) => return errors.add("due_at", ErrorCode::Required, "the new deadline is required"),
    };
    if request.due_at.is_some_and(|old| due <= old) {
        return errors.add("due_at", ErrorCode::OutOfRange, "must be later than the current deadline");
    }
    if due <= now {
        return errors.add("due_at", ErrorCode::OutOfRange, "must be in the future");
    }
    if let Some(limit) = limit
        && due > limit
    {
        return errors.add("due_at", ErrorCode::OutOfRange, format!("may be at most {} (one extension of the regime)", limit.to_rfc3339()));
    }
    update.event.old_due_at = request.due_at;
    update.event.new_due_at = Some(due);
    update.due_at = Some(due);
    update.extensions = request.extensions.saturating_add(1);
    update.escalation_level = 0;
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
        Action::PauseDeadline => EventKind::DeadlinePaused,
        Action::ResumeDeadline => EventKind::DeadlineResumed,
        Action::Rate => EventKind::Rated,
        Action::Comment => EventKind::Comment,
        Action::Reclassify => EventKind::Reclassified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RequestId;
    use crate::access::Role;
    use crate::clock::{replay, Fact};
    use crate::deadline::DeadlineConfig;
    use proptest::prelude::*;
    use crate::request::{Channel, Priority};
    use std::collections::BTreeMap;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn request(status: Status, due: &str) -> Request {
        Request {
            id: RequestId(1), token: "t".into(), service_code: "s".into(), channel: Channel::Web, source_system: None, source_id: None,
            text: "x".into(), coordinates: None, address: None, territory: None, agency: Some("roads".into()), status,
            priority: Priority::Normal, created_at: at("2021-03-01T10:00:00+03:00"), updated_at: at("2021-03-01T10:00:00+03:00"),
            closed_at: None, due_at: Some(at(due)), attributes: BTreeMap::new(), media_url: None, category: None, reason: None,
            rating: None, last_answer: None, first_reaction_due_at: None, first_reaction_at: None, first_answer_at: None,
            extensions: 0, escalation_level: 2, paused_at: None, routing_due_at: None, location: Default::default(), duplicate_of: None,
        }
    }

    fn operator() -> Principal {
        Principal { user_id: crate::UserId(1), login: "op".into(), role: Role::Operator, agency: None }
    }

    #[test]
    fn fz59_allows_one_extension_of_up_to_thirty_days() {
        let config = DeadlineConfig::shipped();
        let rules = Some(DeadlineRules { config: &config, regime: config.regime("fz59").unwrap() });
        let r = request(Status::InProgress, "2021-03-31T23:59:59+03:00");
        let op = operator();
        let now = at("2021-03-20T12:00:00+03:00");
        let input = ActionInput { text: Some("нужна проверка".into()), ..Default::default() };
        let update = plan(&r, Action::ExtendDeadline, &input, &Actor::User(&op), now, &|_, _| true, rules).unwrap();
        // 31 March + 30 days = 30 April 2021 (a working day).
        assert_eq!(update.due_at, Some(at("2021-04-30T23:59:59+03:00")));
        assert_eq!((update.extensions, update.escalation_level), (1, 0));
        let too_far = ActionInput { due_at: Some(at("2021-05-20T00:00:00+03:00")), ..input.clone() };
        assert!(plan(&r, Action::ExtendDeadline, &too_far, &Actor::User(&op), now, &|_, _| true, rules).is_err());
        let mut extended = r.clone();
        extended.extensions = 1;
        extended.due_at = update.due_at;
        let again = plan(&extended, Action::ExtendDeadline, &input, &Actor::User(&op), now, &|_, _| true, rules).unwrap_err();
        assert!(again.to_string().contains("all used"), "{again}");
    }

    #[test]
    fn the_actions_open_now_are_exactly_those_plan_would_not_refuse_outright() {
        let config = DeadlineConfig::shipped();
        let rules = Some(DeadlineRules { config: &config, regime: config.regime("fz59").unwrap() });
        let op = operator();
        let open = |r: &Request| -> Vec<Action> {
            crate::lifecycle::ALL_ACTIONS.into_iter().filter(|a| refusal(r, *a, &Actor::User(&op), rules).is_none()).collect()
        };
        let working = request(Status::InProgress, "2021-03-31T23:59:59+03:00");
        let actions = open(&working);
        assert!(actions.contains(&Action::PauseDeadline) && !actions.contains(&Action::ResumeDeadline), "{actions:?}");
        assert!(!actions.contains(&Action::Close) && !actions.contains(&Action::Rate), "{actions:?}");
        let paused = Request { paused_at: Some(at("2021-03-20T12:00:00+03:00")), ..working.clone() };
        let actions = open(&paused);
        assert!(actions.contains(&Action::ResumeDeadline) && !actions.contains(&Action::PauseDeadline), "{actions:?}");
        let extended = Request { extensions: 1, ..working.clone() };
        assert!(!open(&extended).contains(&Action::ExtendDeadline));
        // Whatever is refused outright is refused by plan with the same reason, whatever the details.
        let everything = ActionInput { agency: Some("water".into()), service: Some("x".into()), text: Some("t".into()), rating: Some(5), duplicate_of: Some(RequestId(9)), ..Default::default() };
        for r in [&working, &paused, &extended, &request(Status::Closed, "2021-03-31T23:59:59+03:00")] {
            for action in crate::lifecycle::ALL_ACTIONS {
                let outright = refusal(r, action, &Actor::User(&op), rules);
                let planned = plan(r, action, &everything, &Actor::User(&op), at("2021-03-21T12:00:00+03:00"), &|_, _| true, rules);
                if let Some(refused) = outright {
                    assert_eq!(planned.unwrap_err(), refused, "{action:?} on {:?}", r.status);
                }
            }
        }
    }

    #[test]
    fn rerouting_restarts_the_term_only_where_the_regime_says_so() {
        let config = DeadlineConfig::shipped();
        let op = operator();
        let now = at("2021-03-10T12:00:00+03:00");
        let route = ActionInput { agency: Some("water".into()), text: Some("не по компетенции".into()), ..Default::default() };
        let r = request(Status::InProgress, "2021-03-12T23:59:59+03:00");
        let portal = Some(DeadlineRules { config: &config, regime: config.regime("spb_portal").unwrap() });
        let restarted = plan(&r, Action::Route, &route, &Actor::User(&op), now, &|_, _| true, portal).unwrap();
        // 16 working days after Wed 10 March 2021: 11, 12, 15–19, 22–26, 29–31 March, 1 April.
        assert_eq!(restarted.due_at, Some(at("2021-04-01T23:59:59+03:00")));
        assert_eq!(restarted.event.old_due_at, r.due_at);
        let fz59 = Some(DeadlineRules { config: &config, regime: config.regime("fz59").unwrap() });
        let kept = plan(&r, Action::Route, &route, &Actor::User(&op), now, &|_, _| true, fz59).unwrap();
        assert_eq!(kept.due_at, r.due_at);
    }

    #[test]
    fn a_merge_links_the_duplicate_and_needs_no_other_reason() {
        let op = operator();
        let r = request(Status::Routed, "2021-03-31T23:59:59+03:00");
        let now = at("2021-03-10T12:00:00+03:00");
        let merge = |input: ActionInput| plan(&r, Action::MarkDuplicate, &input, &Actor::User(&op), now, &|_, _| true, None);
        let merged = merge(ActionInput { duplicate_of: Some(RequestId(7)), ..Default::default() }).unwrap();
        assert_eq!((merged.status, merged.duplicate_of, merged.closed_at), (Status::Duplicate, Some(RequestId(7)), Some(now)));
        assert_eq!(merged.event.text.as_deref(), Some("#7"));
        let with_note = merge(ActionInput { duplicate_of: Some(RequestId(7)), text: Some("тот же двор".into()), ..Default::default() }).unwrap();
        assert_eq!(with_note.event.text.as_deref(), Some("#7: тот же двор"));
        let itself = merge(ActionInput { duplicate_of: Some(r.id), ..Default::default() }).unwrap_err();
        assert!(itself.to_string().contains("duplicate_of"), "{itself}");
        assert!(merge(ActionInput::default()).is_err(), "neither a reason nor an original");
        let closed_with_reason = merge(ActionInput { text: Some("дубль из соцсетей".into()), ..Default::default() }).unwrap();
        assert_eq!(closed_with_reason.duplicate_of, None);
    }

    #[test]
    fn first_reaction_and_first_answer_are_recorded_once() {
        let op = operator();
        let r = request(Status::Routed, "2021-03-31T23:59:59+03:00");
        let t1 = at("2021-03-02T09:30:00+03:00");
        let started = plan(&r, Action::Start, &ActionInput::default(), &Actor::User(&op), t1, &|_, _| true, None).unwrap();
        assert_eq!((started.first_reaction_at, started.first_answer_at), (Some(t1), None));
        let mut r2 = r.clone();
        r2.status = Status::InProgress;
        r2.first_reaction_at = started.first_reaction_at;
        let answer = ActionInput { text: Some("готово".into()), ..Default::default() };
        let t2 = at("2021-03-05T10:00:00+03:00");
        let answered = plan(&r2, Action::Answer, &answer, &Actor::User(&op), t2, &|_, _| true, None).unwrap();
        assert_eq!((answered.first_reaction_at, answered.first_answer_at), (Some(t1), Some(t2)));
    }

    fn any_step() -> impl Strategy<Value = (Action, u8, i64)> {
        let actions = prop::sample::select(vec![
            Action::Route, Action::Start, Action::IntermediateAnswer, Action::Answer, Action::Close, Action::Reopen,
            Action::ExtendDeadline, Action::PauseDeadline, Action::ResumeDeadline, Action::Comment, Action::Reject,
        ]);
        (actions, 0u8..3, 1i64..200)
    }

    proptest! {
        /// Live actions and a replay of the events they recorded reach the same deadline and
        /// pause state, for every regime kind (calendar days, working days, a term that runs
        /// from registration).
        #[test]
        fn replaying_the_recorded_events_gives_the_live_deadline(
            regime in prop::sample::select(vec!["fz59", "feedback_platform", "spb_portal", "business_5wd", "moderated"]),
            routed_at_intake in any::<bool>(),
            steps in proptest::collection::vec(any_step(), 0..30),
        ) {
            let config = crate::clock::tests::with_moderated_portal();
            let rules = DeadlineRules { config: &config, regime: config.regime(regime).unwrap() };
            let op = operator();
            let mut now = at("2021-02-20T10:00:00+03:00");
            let mut r = request(if routed_at_intake { Status::Routed } else { Status::Registered }, "2021-01-01T00:00:00Z");
            r.agency = routed_at_intake.then(|| "a".into());
            r.escalation_level = 0;
            let clock = rules.at_intake(now, routed_at_intake);
            r.due_at = clock.due_at;
            let mut events = vec![NewEvent::new(now, EventKind::Registered, "web")];
            events[0].status = Some(Status::Registered);
            if let Some(agency) = &r.agency {
                let mut routed = NewEvent::new(now, EventKind::Routed, "system");
                routed.status = Some(Status::Routed);
                routed.agency = Some(agency.clone());
                events.push(routed);
            }
            for (action, agency, hours) in steps {
                now += chrono::Duration::hours(hours);
                let input = ActionInput {
                    agency: Some(["a", "b", "c"][usize::from(agency)].into()),
                    text: Some("причина".into()),
                    ..Default::default()
                };
                if let Ok(u) = plan(&r, action, &input, &Actor::User(&op), now, &|_, _| true, Some(rules)) {
                    r.status = u.status;
                    r.agency = u.agency;
                    r.due_at = u.due_at;
                    r.paused_at = u.paused_at;
                    r.extensions = u.extensions;
                    r.closed_at = u.closed_at;
                    events.push(u.event);
                }
            }
            let (state, _) = replay(rules, events.iter().map(Fact::from));
            prop_assert_eq!(state.due_at, r.due_at);
            prop_assert_eq!(state.paused_at, r.paused_at);
        }
    }
}
