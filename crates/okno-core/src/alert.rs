//! Spike alerts as operators handle them: a topic counted in a territory (or the whole region)
//! over a day or a week, against what its history led to expect, and where the alert stands.

use crate::ids::{AlertId, TerritoryCode};
use crate::request::string_enum;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

string_enum! {
    /// The span an alert counts.
    Period {
        /// One day.
        Day = "day",
        /// A calendar week, Monday up to the day scanned.
        Week = "week",
    }
}

impl Period {
    /// The days of this period that end on `day`: 1 for a day, Monday to `day` for a week.
    pub fn days_ending(self, day: NaiveDate) -> i32 {
        match self {
            Period::Day => 1,
            Period::Week => i32::try_from(day.weekday().num_days_from_monday()).unwrap_or(0) + 1,
        }
    }
}

string_enum! {
    /// Where an operator has taken an alert.
    AlertState {
        /// Raised, not looked at.
        New = "new",
        /// Seen; someone is on it.
        Acknowledged = "acknowledged",
        /// Dealt with or dismissed.
        Resolved = "resolved",
    }
}

/// A spike as the scanner records it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertDraft {
    /// Source category (topic).
    pub category: String,
    /// Territory code; `None` for the whole region.
    pub territory: Option<TerritoryCode>,
    /// Day or week.
    pub period: Period,
    /// First day counted.
    pub first_day: NaiveDate,
    /// Last day counted (the day scanned).
    pub last_day: NaiveDate,
    /// Requests counted.
    pub observed: i64,
    /// Requests the baseline expected.
    pub expected: f64,
    /// `−log10` of the chance of at least `observed` under the baseline.
    pub score: f64,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Alert {
    /// Its number.
    pub id: AlertId,
    /// What was found (the latest scan's counts).
    #[serde(flatten)]
    pub spike: AlertDraft,
    /// Where it stands.
    pub state: AlertState,
    /// When first raised.
    pub detected_at: DateTime<Utc>,
    /// When last changed (by a scan or a person).
    pub updated_at: DateTime<Utc>,
    /// Who acknowledged or resolved it.
    pub handled_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only in these states (all when empty).
    pub states: Vec<AlertState>,
    /// Only this period.
    pub period: Option<Period>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this territory.
    pub territory: Option<TerritoryCode>,
    /// Only alerts whose period ends on or after this day.
    pub since: Option<NaiveDate>,
    /// Only alerts with a smaller id (the cursor of the previous page).
    pub before_id: Option<AlertId>,
    /// At most this many.
    pub limit: u32,
}
