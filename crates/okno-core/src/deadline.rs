//! Deadline regimes and the arithmetic that turns "30 calendar days", "10 working days" or
//! "8 working hours" into an instant, on the working calendar and in an explicit time zone.
//! The regimes are configuration (`data/regimes.toml` shipped; a file of the same shape
//! replaces it at run time); a bad file is refused as a whole with a reason.

use crate::calendar::{CalendarError, WorkCalendar, WorkingDay};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The deadline rules that apply to a request: the configuration and the service's regime.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineRules<'a> {
    /// Calendar, time zone and regimes.
    pub config: &'a DeadlineConfig,
    /// The request's regime.
    pub regime: &'a Regime,
}

/// The regimes shipped with Okno.
pub const SHIPPED: &str = include_str!("../data/regimes.toml");

/// Longest span accepted, in days (and 24× that in hours): ten years.
pub const MAX_SPAN_DAYS: u32 = 3_650;

/// The deadlines a new request starts with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Due {
    /// Answer due.
    pub answer: Option<DateTime<Utc>>,
    /// First reaction due.
    pub first_reaction: Option<DateTime<Utc>>,
    /// Routing to the competent agency due, for a request received without one.
    pub routing: Option<DateTime<Utc>>,
}

/// What a span is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Every day counts.
    CalendarDays,
    /// Only working days count.
    WorkingDays,
    /// Only working hours count.
    WorkingHours,
}

/// An amount of time in a unit, e.g. `30 calendar_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// How many.
    pub amount: u32,
    /// Of what.
    pub unit: Unit,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::CalendarDays => "calendar_days",
            Unit::WorkingDays => "working_days",
            Unit::WorkingHours => "working_hours",
        };
        write!(f, "{} {unit}", self.amount)
    }
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (amount, unit) = s.trim().split_once(' ').ok_or_else(|| format!("{s:?}: expected e.g. \"30 calendar_days\""))?;
        let amount: i64 = amount.trim().parse().map_err(|_| format!("{s:?}: {amount:?} is not a whole number"))?;
        let unit = match unit.trim() {
            "calendar_days" => Unit::CalendarDays,
            "working_days" => Unit::WorkingDays,
            "working_hours" => Unit::WorkingHours,
            other => return Err(format!("{s:?}: unknown unit {other:?}; use calendar_days, working_days or working_hours")),
        };
        let max = i64::from(if unit == Unit::WorkingHours { MAX_SPAN_DAYS * 24 } else { MAX_SPAN_DAYS });
        if amount <= 0 || amount > max {
            return Err(format!("{s:?}: must be from 1 to {max}"));
        }
        Ok(Span { amount: amount as u32, unit })
    }
}

/// Where a calendar-day deadline that falls on a day off goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOffRule {
    /// To the working day before it.
    Previous,
    /// To the working day after it.
    #[default]
    Next,
    /// Nowhere: the day off stays the deadline.
    Keep,
}

/// From which moment a regime's answer term runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermStart {
    /// From receipt: the moment Okno registered the request.
    #[default]
    Receipt,
    /// From registration by a person: the moment the request first leaves the `registered`
    /// status (routed or taken into work), as on portals that moderate every message first.
    Registration,
}

/// A deadline regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regime {
    /// Its code, as services name it.
    pub code: String,
    /// Human title.
    pub title: String,
    /// Legal or organisational basis.
    pub basis: String,
    /// Whether the values were checked against their source.
    pub verified: bool,
    /// Registration must happen within this of receipt.
    pub registration: Option<Span>,
    /// A first reaction is due within this of registration.
    pub first_reaction: Option<Span>,
    /// The answer is due within this of registration.
    pub answer: Option<Span>,
    /// The longest single extension.
    pub extension: Option<Span>,
    /// How many extensions are allowed.
    pub max_extensions: u32,
    /// Re-direction to the competent body must happen within this of registration.
    pub redirect: Option<Span>,
    /// Whether re-routing to another agency starts the answer term again.
    pub reroute_restarts: bool,
    /// Whether reopening starts the answer term again.
    pub reopen_restarts: bool,
    /// Where a calendar-day deadline on a day off goes.
    pub day_off: DayOffRule,
    /// From which moment the answer term runs.
    pub term_starts: TermStart,
}

/// A deadline configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    /// Not TOML, or not in the expected shape.
    #[error("deadline configuration: {0}")]
    Malformed(String),
    /// A regime's value is wrong.
    #[error("deadline regime {regime}: {field}: {message}")]
    Regime {
        /// The regime.
        regime: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A calendar file is wrong.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimeFile {
    title: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    verified: bool,
    registration: Option<String>,
    first_reaction: Option<String>,
    answer: Option<String>,
    extension: Option<String>,
    #[serde(default)]
    max_extensions: u32,
    redirect: Option<String>,
    #[serde(default)]
    reroute_restarts: bool,
    #[serde(default = "yes")]
    reopen_restarts: bool,
    #[serde(default)]
    day_off: DayOffRule,
    #[serde(default)]
    term_starts: TermStart,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    timezone: String,
    working_hours: String,
    #[serde(default)]
    calendar_files: Vec<String>,
    #[serde(default)]
    escalation: EscalationFile,
    regimes: BTreeMap<String, RegimeFile>,
    #[serde(default)]
    services: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationFile {
    #[serde(default)]
    steps: Vec<String>,
    #[serde(default)]
    webhook: Option<String>,
    #[serde(default)]
    email: Vec<String>,
}

/// How overdue requests are escalated: step `n` is reached `steps[n-1]` after the deadline,
/// and each step notifies the webhook and the e-mail addresses (through the outbox).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Escalation {
    /// Time after the deadline at which each step is reached, ascending.
    pub steps: Vec<Span>,
    /// URL notified of each step (JSON), if any.
    pub webhook: Option<String>,
    /// Addresses e-mailed at each step.
    pub email: Vec<String>,
}

/// Everything deadlines are computed with.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineConfig {
    /// Local time of the region.
    pub timezone: Tz,
    /// Working hours.
    pub working_day: WorkingDay,
    /// Working calendar.
    pub calendar: WorkCalendar,
    /// Regimes by code.
    pub regimes: BTreeMap<String, Regime>,
    /// Escalation of overdue requests.
    pub escalation: Escalation,
    /// Services whose regime the configuration sets (`[services]`), overriding the catalog.
    pub service_regimes: BTreeMap<String, String>,
}

fn parse_hours(s: &str) -> Result<WorkingDay, DeadlineError> {
    let bad = || DeadlineError::Malformed(format!("working_hours {s:?}: expected e.g. \"09:00-18:00\""));
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let t = |v: &str| NaiveTime::parse_from_str(v.trim(), "%H:%M").map_err(|_| bad());
    let (start, end) = (t(a)?, t(b)?);
    if end <= start + Duration::hours(1) {
        return Err(DeadlineError::Malformed(format!("working_hours {s:?}: the day must be longer than an hour")));
    }
    Ok(WorkingDay { start, end })
}

impl DeadlineConfig {
    /// The shipped configuration on the shipped calendar.
    pub fn shipped() -> DeadlineConfig {
        DeadlineConfig::parse(SHIPPED, &|_| Err("the shipped configuration names no calendar files".into()))
            .unwrap_or_else(|e| unreachable!("the shipped deadline configuration is checked by tests: {e}"))
    }

    /// Reads a configuration. `read` returns the text of a calendar file it names.
    pub fn parse(text: &str, read: &dyn Fn(&str) -> Result<String, String>) -> Result<DeadlineConfig, DeadlineError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| DeadlineError::Malformed(e.message().to_owned()))?;
        let timezone: Tz = file.timezone.parse().map_err(|_| DeadlineError::Malformed(format!("unknown time zone {:?}", file.timezone)))?;
        let working_day = parse_hours(&file.working_hours)?;
        let mut calendar = WorkCalendar::russia();
        for path in &file.calendar_files {
            let text = read(path).map_err(|e| DeadlineError::Malformed(format!("calendar file {path}: {e}")))?;
            calendar = calendar.with_overrides(&text)?;
        }
        let mut regimes = BTreeMap::new();
        for (code, r) in file.regimes {
            let span = |field: &'static str, v: &Option<String>| -> Result<Option<Span>, DeadlineError> {
                v.as_deref()
                    .map(|s| s.parse::<Span>().map_err(|message| DeadlineError::Regime { regime: code.clone(), field, message }))
                    .transpose()
            };
            let regime = Regime {
                code: code.clone(),
                registration: span("registration", &r.registration)?,
                first_reaction: span("first_reaction", &r.first_reaction)?,
                answer: span("answer", &r.answer)?,
                extension: span("extension", &r.extension)?,
                redirect: span("redirect", &r.redirect)?,
                title: r.title,
                basis: r.basis,
                verified: r.verified,
                max_extensions: r.max_extensions,
                reroute_restarts: r.reroute_restarts,
                reopen_restarts: r.reopen_restarts,
                day_off: r.day_off,
                term_starts: r.term_starts,
            };
            if regime.max_extensions > 0 && regime.extension.is_none() {
                return Err(DeadlineError::Regime { regime: code, field: "extension", message: "max_extensions needs an extension span".into() });
            }
            if regime.max_extensions > 10 {
                return Err(DeadlineError::Regime { regime: code, field: "max_extensions", message: "at most 10".into() });
            }
            regimes.insert(code, regime);
        }
        let escalation = Escalation {
            steps: file
                .escalation
                .steps
                .iter()
                .map(|s| s.parse::<Span>().map_err(|m| DeadlineError::Malformed(format!("escalation steps: {m}"))))
                .collect::<Result<_, _>>()?,
            webhook: file.escalation.webhook.filter(|w| !w.trim().is_empty()),
            email: file.escalation.email,
        };
        if escalation.webhook.as_deref().is_some_and(|w| !(w.starts_with("http://") || w.starts_with("https://"))) {
            return Err(DeadlineError::Malformed("escalation webhook must be an http(s) URL".into()));
        }
        if escalation.email.iter().any(|e| !e.contains('@')) {
            return Err(DeadlineError::Malformed("escalation email must hold e-mail addresses".into()));
        }
        if let Some((service, regime)) = file.services.iter().find(|(_, regime)| !regimes.contains_key(*regime)) {
            return Err(DeadlineError::Malformed(format!("service {service} names the unknown regime {regime:?}")));
        }
        let config = DeadlineConfig { timezone, working_day, calendar, regimes, escalation, service_regimes: file.services };
        let starts = |s: &Span| config.add(DateTime::<Utc>::UNIX_EPOCH, *s, DayOffRule::Keep);
        if config.escalation.steps.windows(2).any(|w| starts(&w[0]) >= starts(&w[1])) {
            return Err(DeadlineError::Malformed("escalation steps must grow".into()));
        }
        Ok(config)
    }

    /// A regime by code.
    pub fn regime(&self, code: &str) -> Option<&Regime> {
        self.regimes.get(code)
    }

    /// The rules that govern a service: the regime the configuration's `[services]` table
    /// chooses for it, else the one the catalog names (`catalog_regime`); `None` if unknown.
    pub fn rules_for(&self, service_code: &str, catalog_regime: &str) -> Option<DeadlineRules<'_>> {
        let code = self.service_regimes.get(service_code).map_or(catalog_regime, String::as_str);
        self.regime(code).map(|regime| DeadlineRules { config: self, regime })
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.timezone).naive_local()
    }

    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        self.timezone.from_local_datetime(&local).earliest().map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// The first instant of a local day.
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.instant(date.and_time(NaiveTime::MIN))
    }

    /// The last second of a local day.
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.instant(date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()))
    }

    /// `start` plus `span`: day spans end at the end of their last local day; hour spans count
    /// only working hours. A calendar-day end on a day off moves by `day_off`.
    pub fn add(&self, start: DateTime<Utc>, span: Span, day_off: DayOffRule) -> DateTime<Utc> {
        let local = self.local(start);
        match span.unit {
            Unit::CalendarDays => {
                let end = local.date() + Duration::days(i64::from(span.amount));
                let end = match day_off {
                    DayOffRule::Previous => self.calendar.on_or_before(end),
                    DayOffRule::Next => self.calendar.on_or_after(end),
                    DayOffRule::Keep => end,
                };
                self.end_of_day(end)
            }
            Unit::WorkingDays => self.end_of_day(self.calendar.add_working_days(local.date(), span.amount)),
            Unit::WorkingHours => self.add_working_time(local, Duration::hours(i64::from(span.amount))),
        }
    }

    fn add_working_time(&self, start: NaiveDateTime, mut left: Duration) -> DateTime<Utc> {
        let mut day = start.date();
        let mut from = start.time();
        loop {
            if let Some((open, close)) = self.calendar.hours(day, &self.working_day) {
                let begin = from.max(open);
                if begin < close {
                    let available = close - begin;
                    if available >= left {
                        return self.instant(day.and_time(begin) + left);
                    }
                    left -= available;
                }
            }
            day += Duration::days(1);
            from = NaiveTime::MIN;
        }
    }

    /// The working time (within working hours) between `a` and `b`; zero if `b` is not later.
    fn working_time_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> Duration {
        let mut total = Duration::zero();
        let mut day = a.date();
        while day <= b.date() {
            if let Some((open, close)) = self.calendar.hours(day, &self.working_day) {
                let begin = if day == a.date() { a.time().max(open) } else { open };
                let end = if day == b.date() { b.time().min(close) } else { close };
                if begin < end {
                    total += end - begin;
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// The answer deadline `due` after a pause from `paused_at` to `resumed_at`: moved by the
    /// time the clock stood still, counted in the unit of the regime's answer term (calendar
    /// days, working days, or working hours).
    pub fn resumed_due(&self, regime: &Regime, due: DateTime<Utc>, paused_at: DateTime<Utc>, resumed_at: DateTime<Utc>) -> DateTime<Utc> {
        let (due, paused, resumed) = (self.local(due), self.local(paused_at), self.local(resumed_at));
        if resumed <= paused {
            return self.instant(due);
        }
        match regime.answer.map_or(Unit::CalendarDays, |span| span.unit) {
            Unit::CalendarDays => {
                let days = (resumed.date() - paused.date()).num_days();
                let end = due.date() + Duration::days(days);
                let end = match regime.day_off {
                    DayOffRule::Previous if days > 0 => self.calendar.on_or_before(end),
                    DayOffRule::Next if days > 0 => self.calendar.on_or_after(end),
                    _ => end,
                };
                self.instant(end.and_time(due.time()))
            }
            Unit::WorkingDays => {
                let days = u32::try_from(self.calendar.working_days_between(paused.date(), resumed.date())).unwrap_or(0);
                self.instant(self.calendar.add_working_days(due.date(), days).and_time(due.time()))
            }
            Unit::WorkingHours => self.add_working_time(due, self.working_time_between(paused, resumed)),
        }
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        self.local(t).date()
    }

    /// Whole working days from `a`'s local date to `b`'s (negative when `b` is earlier).
    pub fn working_days_apart(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        self.calendar.working_days_between(self.local(a).date(), self.local(b).date())
    }

    /// The working time from `a` to `b` in days: the part of the span that falls on working
    /// days, a whole working day counting 1 and days off nothing (negative when `b` is earlier).
    /// The measure scorecards use ("answered in 3.5 working days"); a request filed on Friday
    /// evening and closed on Saturday morning took the rest of Friday, not less than nothing.
    pub fn working_days_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        let (la, lb) = (self.local(a), self.local(b));
        let fraction = |t: NaiveTime| f64::from(chrono::Timelike::num_seconds_from_midnight(&t)) / 86_400.0;
        let counted = |d: NaiveDate| if self.calendar.is_working(d) { 1.0 } else { 0.0 };
        if la.date() == lb.date() {
            return counted(la.date()) * (fraction(lb.time()) - fraction(la.time()));
        }
        let strictly_between = self.calendar.working_days_between(la.date(), lb.date()) as f64 - counted(lb.date());
        counted(la.date()) * (1.0 - fraction(la.time())) + strictly_between + counted(lb.date()) * fraction(lb.time())
    }

    /// The answer deadline of a request registered at `registered_at` under `regime`, if it sets one.
    pub fn answer_due(&self, regime: &Regime, registered_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        regime.answer.map(|span| self.add(registered_at, span, regime.day_off))
    }

    /// The escalation step an overdue request has reached at `now` (0: not overdue).
    pub fn escalation_level(&self, due_at: DateTime<Utc>, now: DateTime<Utc>) -> i16 {
        if now <= due_at {
            return 0;
        }
        let reached = self.escalation.steps.iter().filter(|s| self.add(due_at, **s, DayOffRule::Keep) <= now).count();
        i16::try_from(1 + reached).unwrap_or(i16::MAX)
    }

    /// The deadline for passing a request registered at `registered_at` to the competent
    /// body (59-FZ art. 8 part 3: seven days), if the regime sets one.
    pub fn routing_due(&self, regime: &Regime, registered_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        regime.redirect.map(|span| self.add(registered_at, span, regime.day_off))
    }

    /// The first-reaction deadline, if the regime sets one.
    pub fn first_reaction_due(&self, regime: &Regime, registered_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        regime.first_reaction.map(|span| self.add(registered_at, span, regime.day_off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_time_never_runs_backwards_over_a_weekend() {
        let config = DeadlineConfig::shipped();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Friday 15:00 to Saturday 10:00: the rest of Friday.
        let friday_evening = config.working_days_between(at("2021-03-12T15:00:00+03:00"), at("2021-03-13T10:00:00+03:00"));
        assert!((friday_evening - 0.375).abs() < 1e-9, "{friday_evening}");
        // Saturday to Sunday: nothing; Saturday 15:00 to Monday 10:00: Monday's first ten hours.
        assert_eq!(config.working_days_between(at("2021-03-13T15:00:00+03:00"), at("2021-03-14T10:00:00+03:00")), 0.0);
        let over_weekend = config.working_days_between(at("2021-03-13T15:00:00+03:00"), at("2021-03-15T10:00:00+03:00"));
        assert!((over_weekend - 10.0 / 24.0).abs() < 1e-9, "{over_weekend}");
        // Monday 09:00 to Tuesday 09:00 is one working day; backwards is minus that.
        let day = config.working_days_between(at("2021-03-15T09:00:00+03:00"), at("2021-03-16T09:00:00+03:00"));
        assert!((day - 1.0).abs() < 1e-9, "{day}");
        assert_eq!(config.working_days_between(at("2021-03-16T09:00:00+03:00"), at("2021-03-15T09:00:00+03:00")), -day);
        // Across the May holidays of 2021 (1–10 May off): 30 April 18:00 to 11 May 09:00.
        let holidays = config.working_days_between(at("2021-04-30T18:00:00+03:00"), at("2021-05-11T09:00:00+03:00"));
        assert!((holidays - (0.25 + 0.375)).abs() < 1e-9, "{holidays}");
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn config() -> DeadlineConfig {
        DeadlineConfig::shipped()
    }

    #[test]
    fn spans_parse_and_refuse_nonsense() {
        assert_eq!("30 calendar_days".parse(), Ok(Span { amount: 30, unit: Unit::CalendarDays }));
        assert!("-3 working_days".parse::<Span>().is_err());
        assert!("0 working_days".parse::<Span>().is_err());
        assert!("99999 calendar_days".parse::<Span>().is_err());
        assert!("3 fortnights".parse::<Span>().is_err());
        assert!("thirty calendar_days".parse::<Span>().is_err());
    }

    #[test]
    fn fz59_counts_calendar_days_and_meets_a_day_off_on_the_previous_working_day() {
        let c = config();
        let fz59 = c.regime("fz59").unwrap();
        // Registered Tue 2021-04-06 10:00 MSK: +30 days = Thu 2021-05-06, a non-working day by
        // decree (4–7 May 2021) → the preceding working day, Fri 2021-04-30.
        let due = c.answer_due(fz59, at("2021-04-06T10:00:00+03:00")).unwrap();
        assert_eq!(due, at("2021-04-30T23:59:59+03:00"));
        // Registered Mon 2021-03-01: +30 = Wed 2021-03-31, a working day.
        assert_eq!(c.answer_due(fz59, at("2021-03-01T12:00:00+03:00")).unwrap(), at("2021-03-31T23:59:59+03:00"));
    }

    #[test]
    fn working_days_skip_the_new_year_holidays() {
        let c = config();
        let business = c.regime("business_10wd").unwrap();
        // Registered Thu 2020-12-24: 10 working days → 25, 28, 29, 30, 31 Dec; 11, 12, 13, 14, 15 Jan.
        assert_eq!(c.answer_due(business, at("2020-12-24T15:00:00+03:00")).unwrap(), at("2021-01-15T23:59:59+03:00"));
    }

    #[test]
    fn working_hours_run_only_in_working_time() {
        let c = config();
        let social = c.regime("social_incident").unwrap();
        // Friday 17:00 (shortened pre-holiday day 30 April 2021 ends at 17:00) + 4 working hours:
        // nothing left that day, 1–10 May are days off, so 11 May 09:00 + 4 h = 13:00.
        assert_eq!(c.first_reaction_due(social, at("2021-04-30T17:00:00+03:00")).unwrap(), at("2021-05-11T13:00:00+03:00"));
        // Monday 16:00 + 4 h: 2 h that day, 2 h the next morning.
        assert_eq!(c.first_reaction_due(social, at("2021-03-01T16:00:00+03:00")).unwrap(), at("2021-03-02T11:00:00+03:00"));
        // Before opening counts from 09:00.
        assert_eq!(c.first_reaction_due(social, at("2021-03-01T07:00:00+03:00")).unwrap(), at("2021-03-01T13:00:00+03:00"));
    }

    #[test]
    fn bad_configurations_are_refused_whole() {
        let no_files = |_: &str| -> Result<String, String> { Err("no such file".into()) };
        let ok = "timezone = \"Europe/Moscow\"\nworking_hours = \"09:00-18:00\"\n[regimes.a]\ntitle = \"A\"\nanswer = \"5 working_days\"\n";
        assert!(DeadlineConfig::parse(ok, &no_files).is_ok());
        let negative = ok.replace("5 working_days", "-5 working_days");
        assert!(matches!(DeadlineConfig::parse(&negative, &no_files), Err(DeadlineError::Regime { field: "answer", .. })));
        let zone = ok.replace("Europe/Moscow", "Mars/Olympus");
        assert!(matches!(DeadlineConfig::parse(&zone, &no_files), Err(DeadlineError::Malformed(_))));
        let hours = ok.replace("09:00-18:00", "18:00-09:00");
        assert!(DeadlineConfig::parse(&hours, &no_files).is_err());
        let unknown_key = ok.replace("title = \"A\"", "title = \"A\"\nanswr = \"1 working_days\"");
        assert!(DeadlineConfig::parse(&unknown_key, &no_files).is_err());
        let missing_calendar = ok.replace("working_hours", "calendar_files = [\"x.toml\"]\nworking_hours");
        assert!(DeadlineConfig::parse(&missing_calendar, &no_files).is_err());
        let with_calendar = |_: &str| -> Result<String, String> { Ok("[2030]\n".into()) };
        assert!(matches!(DeadlineConfig::parse(&missing_calendar, &with_calendar), Err(DeadlineError::Calendar(CalendarError::Gap(2028)))));
    }

    #[test]
    fn the_shipped_regimes_load() {
        let c = config();
        for code in ["fz59", "feedback_platform", "social_incident", "business_5wd", "business_10wd", "spb_portal", "la311_default", "nyc311_default"] {
            assert!(c.regime(code).is_some(), "{code}");
        }
        assert_eq!(c.regime("fz59").unwrap().max_extensions, 1);
        assert!(c.regime("fz59").unwrap().verified);
    }

    #[test]
    fn escalation_steps_follow_the_deadline() {
        let c = config();
        let due = at("2021-03-10T23:59:59+03:00");
        assert_eq!(c.escalation_level(due, at("2021-03-10T12:00:00+03:00")), 0);
        assert_eq!(c.escalation_level(due, at("2021-03-11T09:00:00+03:00")), 1);
        assert_eq!(c.escalation_level(due, at("2021-03-12T00:00:00+03:00")), 2, "one working day after");
        assert_eq!(c.escalation_level(due, at("2021-03-16T00:00:00+03:00")), 3, "three working days after");
    }

    #[test]
    fn working_days_between_counts_days_and_fractions() {
        let c = config();
        let d = c.working_days_between(at("2021-04-29T12:00:00+03:00"), at("2021-05-11T12:00:00+03:00"));
        assert!((d - 2.0).abs() < 1e-9, "{d}");
    }
}
