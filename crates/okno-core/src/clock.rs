//! The answer-deadline clock of one request. Live actions move it one step at a time
//! ([`crate::workflow::plan`]); [`replay`] runs it over a whole stored timeline, so deadlines can
//! be recomputed from events alone (after a regime changes, or to check imported deadlines).

use crate::deadline::{Due, TermStart};
use crate::lifecycle::Status;
use crate::request::{EventKind, NewEvent};
use chrono::{DateTime, Utc};

pub use crate::deadline::DeadlineRules;

/// Where a request's answer deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockState {
    /// The answer deadline, once the term has started.
    pub due_at: Option<DateTime<Utc>>,
    /// When the clock was stopped, while it stands still.
    pub paused_at: Option<DateTime<Utc>>,
}

/// One fact of a timeline, as far as the deadline is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fact<'e> {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// The status after it.
    pub status: Option<Status>,
    /// The agency it names (routing target).
    pub agency: Option<&'e str>,
    /// The deadline it set (extensions).
    pub new_due_at: Option<DateTime<Utc>>,
}

impl<'e> From<&'e NewEvent> for Fact<'e> {
    fn from(e: &'e NewEvent) -> Self {
        Fact { at: e.at, kind: e.kind, status: e.status, agency: e.agency.as_deref(), new_due_at: e.new_due_at }
    }
}

/// What one fact did to the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueChange {
    /// The position of the fact that moved it in the replayed timeline.
    pub index: usize,
    /// When.
    pub at: DateTime<Utc>,
    /// Why: the kind of the event that moved it.
    pub cause: EventKind,
    /// The deadline before.
    pub old: Option<DateTime<Utc>>,
    /// The deadline after.
    pub new: Option<DateTime<Utc>>,
}

impl DeadlineRules<'_> {
    /// The clock after the term (re)starts at `at`: a fresh answer term, running.
    pub fn start(&self, at: DateTime<Utc>) -> ClockState {
        ClockState { due_at: self.config.answer_due(self.regime, at), paused_at: None }
    }

    /// The clock of a request received at `at`: running from receipt, or, where the term runs
    /// from registration, only if it was routed at once.
    pub fn at_intake(&self, at: DateTime<Utc>, routed: bool) -> ClockState {
        match self.regime.term_starts {
            TermStart::Registration if !routed => ClockState::default(),
            _ => self.start(at),
        }
    }

    /// The deadlines of a request received at `at` (routed at once or not): answer, first
    /// reaction, and routing while it has no agency.
    pub fn due_at_intake(&self, at: DateTime<Utc>, routed: bool) -> Due {
        Due {
            answer: self.at_intake(at, routed).due_at,
            first_reaction: self.config.first_reaction_due(self.regime, at),
            routing: if routed { None } else { self.config.routing_due(self.regime, at) },
        }
    }

    /// The clock after it runs again at `at`: the deadline moves by the time it stood still.
    pub fn resume(&self, state: ClockState, at: DateTime<Utc>) -> ClockState {
        match (state.due_at, state.paused_at) {
            (Some(due), Some(paused)) => ClockState { due_at: Some(self.config.resumed_due(self.regime, due, paused, at)), paused_at: None },
            _ => ClockState { paused_at: None, ..state },
        }
    }

    /// Whether the term starts (again) with this fact, given the agency the request had before.
    fn starts_term(&self, fact: &Fact<'_>, state: ClockState, agency: Option<&str>, status: Status) -> bool {
        match fact.kind {
            EventKind::Registered => self.regime.term_starts == TermStart::Receipt,
            EventKind::Routed if fact.agency.is_some_and(|to| is_reroute(status, agency, to)) => self.regime.reroute_restarts,
            EventKind::Reopened => self.regime.reopen_restarts,
            _ => {
                self.regime.term_starts == TermStart::Registration
                    && state.due_at.is_none()
                    && status == Status::Registered
                    && fact.status.is_some_and(|s| s != Status::Registered && s.awaits_agency())
            }
        }
    }
}

/// Whether routing to `to` a request in `status` that is with `agency` gives it to another body
/// after work on it began (which may start the term again), rather than routing it first.
pub fn is_reroute(status: Status, agency: Option<&str>, to: &str) -> bool {
    status != Status::Registered && agency != Some(to)
}

/// The deadline a timeline leads to under `rules`, with every change on the way. Extensions
/// keep the deadline the person chose; pauses move it by the time the clock stood still;
/// re-routing and reopening start the term again where the regime says so; the term starts at
/// receipt or at registration as the regime says. Recomputation records
/// (`deadline_recomputed`) are results, not causes, and are skipped.
pub fn replay<'e>(rules: DeadlineRules<'_>, facts: impl IntoIterator<Item = Fact<'e>>) -> (ClockState, Vec<DueChange>) {
    let mut state = ClockState::default();
    let mut changes = Vec::new();
    let mut agency: Option<&str> = None;
    let mut status = Status::Registered;
    for (index, fact) in facts.into_iter().enumerate() {
        let before = state;
        if rules.starts_term(&fact, state, agency, status) {
            state = rules.start(fact.at);
        } else {
            match fact.kind {
                EventKind::DeadlineExtended if fact.new_due_at.is_some() => state.due_at = fact.new_due_at,
                EventKind::DeadlinePaused if state.paused_at.is_none() => state.paused_at = Some(fact.at),
                EventKind::DeadlineResumed => state = rules.resume(state, fact.at),
                _ => {}
            }
        }
        if let Some(s) = fact.status {
            status = s;
            if !s.awaits_agency() {
                state.paused_at = None;
            }
        }
        if fact.kind == EventKind::Routed && fact.agency.is_some() {
            agency = fact.agency;
        }
        if state.due_at != before.due_at {
            changes.push(DueChange { index, at: fact.at, cause: fact.kind, old: before.due_at, new: state.due_at });
        }
    }
    (state, changes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::deadline::DeadlineConfig;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fact(when: &str, kind: EventKind, status: Option<Status>, agency: Option<&'static str>) -> Fact<'static> {
        Fact { at: at(when), kind, status, agency, new_due_at: None }
    }

    #[test]
    fn a_pause_moves_a_working_day_deadline_by_the_working_days_it_lasted() {
        let config = DeadlineConfig::shipped();
        let rules = DeadlineRules { config: &config, regime: config.regime("feedback_platform").unwrap() };
        let facts = [
            fact("2021-03-01T10:00:00+03:00", EventKind::Registered, Some(Status::Registered), None),
            fact("2021-03-02T10:00:00+03:00", EventKind::DeadlinePaused, None, None),
            // paused Tue 2 March → Fri 5 March: 3, 4, 5 March are 3 working days
            fact("2021-03-05T16:00:00+03:00", EventKind::DeadlineResumed, None, None),
        ];
        let (state, changes) = replay(rules, facts);
        // 10 working days after Mon 1 March = Tue 16 March (8 March is a holiday); +3 = Fri 19 March
        assert_eq!(state.due_at, Some(at("2021-03-19T23:59:59+03:00")));
        assert_eq!(state.paused_at, None);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[1].old, Some(at("2021-03-16T23:59:59+03:00")));
    }

    #[test]
    fn a_calendar_day_pause_counts_calendar_days() {
        let config = DeadlineConfig::shipped();
        let rules = DeadlineRules { config: &config, regime: config.regime("fz59").unwrap() };
        let due = at("2021-03-31T23:59:59+03:00");
        let moved = config.resumed_due(rules.regime, due, at("2021-03-10T12:00:00+03:00"), at("2021-03-17T09:00:00+03:00"));
        // 31 March + 7 days = Wed 7 April, a working day
        assert_eq!(moved, at("2021-04-07T23:59:59+03:00"));
    }

    /// The shipped configuration plus `moderated`: a portal regime whose term runs from
    /// registration (the end of moderation) and restarts on re-routing.
    pub(crate) fn with_moderated_portal() -> DeadlineConfig {
        let text = format!(
            "{}\n[regimes.moderated]\ntitle = \"moderated portal\"\nanswer = \"8 working_days\"\nreroute_restarts = true\nterm_starts = \"registration\"\n",
            crate::deadline::SHIPPED
        );
        DeadlineConfig::parse(&text, &|_| Err("none".into())).unwrap()
    }

    #[test]
    fn a_moderated_portal_starts_the_term_at_registration_and_again_on_rerouting() {
        let config = with_moderated_portal();
        let rules = DeadlineRules { config: &config, regime: config.regime("moderated").unwrap() };
        let facts = [
            fact("2021-03-01T10:00:00+03:00", EventKind::Registered, Some(Status::Registered), None),
            fact("2021-03-02T11:00:00+03:00", EventKind::StatusChanged, Some(Status::InProgress), None),
            fact("2021-03-03T12:00:00+03:00", EventKind::Routed, None, Some("a")),
            fact("2021-03-04T12:00:00+03:00", EventKind::Routed, None, Some("b")),
        ];
        let (state, changes) = replay(rules, facts);
        let causes: Vec<_> = changes.iter().map(|c| c.cause).collect();
        assert_eq!(causes, [EventKind::StatusChanged, EventKind::Routed, EventKind::Routed]);
        assert_eq!(state.due_at, config.answer_due(rules.regime, at("2021-03-04T12:00:00+03:00")));
    }
}
