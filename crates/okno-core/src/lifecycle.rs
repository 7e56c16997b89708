//! The request lifecycle: fine-grained statuses, the actions that move a request between them,
//! and the mapping onto Open311's coarse `open`/`closed`.
//!
//! The state machine governs live work in Okno. Histories imported from other systems are
//! recorded as they happened and are not replayed through it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a request stands in its consideration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received and registered, not yet given to an agency.
    Registered,
    /// Assigned to the responsible agency, which has not started on it.
    Routed,
    /// The agency is working on it.
    InProgress,
    /// The agency has given an interim answer (e.g. work scheduled) and goes on.
    IntermediateAnswer,
    /// The agency has answered; the citizen may rate the answer or reopen the request.
    Answered,
    /// Finished: the answer was accepted or the rating window passed.
    Closed,
    /// The citizen was unhappy with the answer and the request is back in work.
    Reopened,
    /// Refused on the merits (not the body's competence, no substance, abusive text).
    Rejected,
    /// Closed because it repeats another request that is followed instead.
    Duplicate,
}

/// Every status, in lifecycle order.
pub const ALL_STATUSES: [Status; 9] = [
    Status::Registered,
    Status::Routed,
    Status::InProgress,
    Status::IntermediateAnswer,
    Status::Answered,
    Status::Closed,
    Status::Reopened,
    Status::Rejected,
    Status::Duplicate,
];

/// Open311 GeoReport v2's two statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Open311Status {
    /// The request is still being worked on.
    Open,
    /// The request has been resolved, rejected or merged.
    Closed,
}

impl Status {
    /// The stable name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Registered => "registered",
            Status::Routed => "routed",
            Status::InProgress => "in_progress",
            Status::IntermediateAnswer => "intermediate_answer",
            Status::Answered => "answered",
            Status::Closed => "closed",
            Status::Reopened => "reopened",
            Status::Rejected => "rejected",
            Status::Duplicate => "duplicate",
        }
    }

    /// Open311 view: a request is `closed` once the agency has answered it, or it was rejected
    /// or merged as a duplicate; everything before that, and a reopened request, is `open`.
    pub fn open311(self) -> Open311Status {
        match self {
            Status::Answered | Status::Closed | Status::Rejected | Status::Duplicate => {
                Open311Status::Closed
            }
            _ => Open311Status::Open,
        }
    }

    /// Whether no further work is expected (the request may still be reopened from some of these).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Rejected | Status::Duplicate)
    }

    /// Whether the consideration deadline still runs in this status.
    pub fn awaits_agency(self) -> bool {
        matches!(
            self,
            Status::Registered
                | Status::Routed
                | Status::InProgress
                | Status::IntermediateAnswer
                | Status::Reopened
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that Okno does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_STATUSES
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// Something a person (or the system) does to a request that may change its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Give the request to an agency (first routing or re-routing).
    Route,
    /// The agency takes the request into work.
    Start,
    /// An interim answer; work continues.
    IntermediateAnswer,
    /// The final answer on the merits.
    Answer,
    /// Finish the request after its answer.
    Close,
    /// Send an answered or finished request back into work.
    Reopen,
    /// Refuse the request with a reason.
    Reject,
    /// Close the request as a repeat of another.
    MarkDuplicate,
    /// Move the deadline with a reason.
    ExtendDeadline,
    /// Stop the deadline clock with a reason (e.g. waiting for the citizen's reply).
    PauseDeadline,
    /// Start the stopped clock again; the deadline moves by the time it stood still.
    ResumeDeadline,
    /// The citizen rates the answer.
    Rate,
    /// A note in the timeline; never changes the status.
    Comment,
    /// Change the request's service (topic); never changes the status.
    Reclassify,
}

/// Every action.
pub const ALL_ACTIONS: [Action; 14] = [
    Action::Route,
    Action::Start,
    Action::IntermediateAnswer,
    Action::Answer,
    Action::Close,
    Action::Reopen,
    Action::Reject,
    Action::MarkDuplicate,
    Action::ExtendDeadline,
    Action::PauseDeadline,
    Action::ResumeDeadline,
    Action::Rate,
    Action::Comment,
    Action::Reclassify,
];

impl Action {
    /// The action's name in a path (`mark-duplicate`): [`Action::as_str`] with hyphens.
    pub fn path_name(self) -> String {
        self.as_str().replace('_', "-")
    }

    /// The stable name used in the API and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Route => "route",
            Action::Start => "start",
            Action::IntermediateAnswer => "intermediate_answer",
            Action::Answer => "answer",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Reject => "reject",
            Action::MarkDuplicate => "mark_duplicate",
            Action::ExtendDeadline => "extend_deadline",
            Action::PauseDeadline => "pause_deadline",
            Action::ResumeDeadline => "resume_deadline",
            Action::Rate => "rate",
            Action::Comment => "comment",
            Action::Reclassify => "reclassify",
        }
    }
}

/// An action that the request's current status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a request that is {from}", action = .action.as_str())]
pub struct TransitionError {
    /// The status the request was in.
    pub from: Status,
    /// The refused action.
    pub action: Action,
}

/// The status after `action` is applied in status `from`, or why it cannot be.
///
/// | action | allowed from | leads to |
/// |---|---|---|
/// | route | registered, routed, in_progress, intermediate_answer, reopened | routed |
/// | start | routed, reopened | in_progress |
/// | intermediate_answer | routed, in_progress, intermediate_answer, reopened | intermediate_answer |
/// | answer | routed, in_progress, intermediate_answer, reopened | answered |
/// | close | answered | closed |
/// | reopen | answered, closed, rejected | reopened |
/// | reject | registered, routed, in_progress, reopened | rejected |
/// | mark_duplicate | registered, routed, in_progress, reopened | duplicate |
/// | extend_deadline, pause_deadline, resume_deadline | registered, routed, in_progress, intermediate_answer, reopened | (same) |
/// | rate | answered, closed | (same) |
/// | comment | any | (same) |
/// | reclassify | registered, routed, in_progress, intermediate_answer, reopened | (same) |
pub fn transition(from: Status, action: Action) -> Result<Status, TransitionError> {
    use Status::*;
    let refused = Err(TransitionError { from, action });
    match action {
        Action::Route => match from {
            Registered | Routed | InProgress | IntermediateAnswer | Reopened => Ok(Routed),
            _ => refused,
        },
        Action::Start => match from {
            Routed | Reopened => Ok(InProgress),
            _ => refused,
        },
        Action::IntermediateAnswer => match from {
            Routed | InProgress | IntermediateAnswer | Reopened => Ok(IntermediateAnswer),
            _ => refused,
        },
        Action::Answer => match from {
            Routed | InProgress | IntermediateAnswer | Reopened => Ok(Answered),
            _ => refused,
        },
        Action::Close => match from {
            Answered => Ok(Closed),
            _ => refused,
        },
        Action::Reopen => match from {
            Answered | Closed | Rejected => Ok(Reopened),
            _ => refused,
        },
        Action::Reject | Action::MarkDuplicate => match from {
            Registered | Routed | InProgress | Reopened => Ok(if action == Action::Reject {
                Rejected
            } else {
                Duplicate
            }),
            _ => refused,
        },
        Action::ExtendDeadline | Action::PauseDeadline | Action::ResumeDeadline | Action::Reclassify => {
            if from.awaits_agency() {
                Ok(from)
            } else {
                refused
            }
        }
        Action::Rate => match from {
            Answered | Closed => Ok(from),
            _ => refused,
        },
        Action::Comment => Ok(from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(ALL_ACTIONS.to_vec())
    }

    #[test]
    fn names_round_trip() {
        for status in ALL_STATUSES {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("open".parse::<Status>().is_err());
    }

    #[test]
    fn the_happy_path_works() {
        let mut s = Status::Registered;
        for a in [Action::Route, Action::Start, Action::IntermediateAnswer, Action::Answer, Action::Rate, Action::Close] {
            s = transition(s, a).unwrap();
        }
        assert_eq!(s, Status::Closed);
        assert_eq!(s.open311(), Open311Status::Closed);
    }

    #[test]
    fn illegal_transitions_say_why() {
        let err = transition(Status::Registered, Action::Answer).unwrap_err();
        assert_eq!(err.to_string(), "cannot answer a request that is registered");
        assert!(transition(Status::Duplicate, Action::Reopen).is_err());
        assert!(transition(Status::Closed, Action::Route).is_err());
    }

    proptest! {
        /// Random action sequences: the machine never leaves its state set, refusals leave the
        /// status unchanged, only status-changing actions change it, and every status
        /// stays reachable from the start.
        #[test]
        fn random_sequences_keep_invariants(actions in proptest::collection::vec(any_action(), 0..60)) {
            let mut status = Status::Registered;
            for action in actions {
                match transition(status, action) {
                    Ok(next) => {
                        if matches!(action, Action::Comment | Action::Rate | Action::ExtendDeadline) {
                            prop_assert_eq!(next, status);
                        }
                        if action == Action::Answer { prop_assert_eq!(next.open311(), Open311Status::Closed); }
                        if action == Action::Reopen { prop_assert_eq!(next.open311(), Open311Status::Open); }
                        status = next;
                    }
                    Err(err) => {
                        prop_assert_eq!(err.from, status);
                        prop_assert_eq!(err.action, action);
                    }
                }
            }
            // a duplicate is final forever; everything else can still be commented on
            prop_assert_eq!(transition(status, Action::Comment), Ok(status));
        }

        /// A rejected or answered request can always come back into work and be answered again.
        #[test]
        fn reopen_then_answer_is_always_possible(actions in proptest::collection::vec(any_action(), 0..40)) {
            let mut status = Status::Registered;
            for action in actions {
                if let Ok(next) = transition(status, action) { status = next; }
            }
            if matches!(status, Status::Answered | Status::Closed | Status::Rejected) {
                let reopened = transition(status, Action::Reopen).unwrap();
                prop_assert_eq!(transition(reopened, Action::Answer), Ok(Status::Answered));
            }
        }
    }

    #[test]
    fn every_status_is_reachable() {
        let mut seen = std::collections::HashSet::from([Status::Registered]);
        let mut frontier = vec![Status::Registered];
        while let Some(s) = frontier.pop() {
            for a in ALL_ACTIONS {
                if let Ok(n) = transition(s, a)
                    && seen.insert(n)
                {
                    frontier.push(n);
                }
            }
        }
        assert_eq!(seen.len(), ALL_STATUSES.len());
    }
}
