//! The Russian working-day calendar: which days are working, shortened or days off, and
//! arithmetic in working days and working hours. The data (2013–2027) lives in
//! `data/ru_calendar.toml` as exceptions to the standing rule of the Labour Code; files in the
//! same format extend or correct it at run time (a new year's decree, regional holidays).

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The calendar shipped with Okno.
pub const RUSSIA: &str = include_str!("../data/ru_calendar.toml");

/// Public holidays of the standing rule (Labour Code art. 112, since 2013), as (month, day).
pub const PUBLIC_HOLIDAYS: [(u32, u32); 14] =
    [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)];

/// What a day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A full working day.
    Working,
    /// A working day one hour shorter (before a holiday).
    Shortened,
    /// A weekend, holiday or other non-working day.
    DayOff,
}

/// A calendar file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not TOML, or not in the calendar's shape.
    #[error("calendar: {0}")]
    Malformed(String),
    /// A day that does not exist or cannot be read.
    #[error("calendar {year}: {value:?} is not a day (expected MM-DD)")]
    BadDay {
        /// The year's section.
        year: i32,
        /// What was written.
        value: String,
    },
    /// The same day listed as both a day off and a working day, or twice.
    #[error("calendar {year}: {day} is listed {how}")]
    Overlap {
        /// The year's section.
        year: i32,
        /// The day.
        day: String,
        /// In which lists.
        how: &'static str,
    },
    /// The years do not follow each other.
    #[error("calendar: years must follow each other without gaps; {0} is missing")]
    Gap(i32),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    /// Documentation only: the decrees the year's lists come from.
    #[serde(default, rename = "basis")]
    _basis: String,
    #[serde(default)]
    off: Vec<String>,
    #[serde(default)]
    work: Vec<String>,
    #[serde(default)]
    short: Vec<String>,
}

/// One year's exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct YearRules {
    off: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
    short: BTreeSet<NaiveDate>,
}

/// The working calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearRules>,
    /// The first day of the first year, and for each day from it to the end of the last year
    /// the working days up to and including it: differences answer "working days between"
    /// in constant time.
    counted: (NaiveDate, Vec<u32>),
}

fn parse_year(year: i32, file: YearFile) -> Result<YearRules, CalendarError> {
    let day = |value: &String| -> Result<NaiveDate, CalendarError> {
        let bad = || CalendarError::BadDay { year, value: value.clone() };
        let (m, d) = value.split_once('-').ok_or_else(bad)?;
        let (m, d) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        NaiveDate::from_ymd_opt(year, m, d).ok_or_else(bad)
    };
    let set = |values: &Vec<String>, name: &'static str| -> Result<BTreeSet<NaiveDate>, CalendarError> {
        let mut out = BTreeSet::new();
        for v in values {
            if !out.insert(day(v)?) {
                return Err(CalendarError::Overlap { year, day: v.clone(), how: name });
            }
        }
        Ok(out)
    };
    let rules = YearRules {
        off: set(&file.off, "twice in off")?,
        work: set(&file.work, "twice in work")?,
        short: set(&file.short, "twice in short")?,
    };
    if let Some(d) = rules.off.intersection(&rules.work).next() {
        return Err(CalendarError::Overlap { year, day: d.format("%m-%d").to_string(), how: "both as off and as work" });
    }
    if let Some(d) = rules.off.intersection(&rules.short).next() {
        return Err(CalendarError::Overlap { year, day: d.format("%m-%d").to_string(), how: "both as off and as short" });
    }
    Ok(rules)
}

fn parse_years(text: &str) -> Result<BTreeMap<i32, YearRules>, CalendarError> {
    let table: BTreeMap<String, YearFile> = toml::from_str(text).map_err(|e| CalendarError::Malformed(e.message().to_owned()))?;
    let mut years = BTreeMap::new();
    for (key, file) in table {
        let year: i32 = key.parse().ok().filter(|y| (1991..=2100).contains(y))
            .ok_or_else(|| CalendarError::Malformed(format!("section [{key}] is not a year")))?;
        years.insert(year, parse_year(year, file)?);
    }
    Ok(years)
}

impl WorkCalendar {
    /// The shipped Russian calendar.
    pub fn russia() -> WorkCalendar {
        WorkCalendar::parse(RUSSIA).unwrap_or_else(|e| unreachable!("the shipped calendar is checked by tests: {e}"))
    }

    /// Reads a calendar: one section per year, years following each other without gaps.
    pub fn parse(text: &str) -> Result<WorkCalendar, CalendarError> {
        WorkCalendar::from_years(parse_years(text)?)
    }

    fn from_years(years: BTreeMap<i32, YearRules>) -> Result<WorkCalendar, CalendarError> {
        let mut calendar = WorkCalendar { years, counted: (NaiveDate::MIN, Vec::new()) };
        calendar.check_contiguous()?;
        let (first, last) = calendar.years();
        let (start, end) = (NaiveDate::from_ymd_opt(first, 1, 1), NaiveDate::from_ymd_opt(last, 12, 31));
        if let (Some(start), Some(end)) = (start, end) {
            let mut total = 0;
            let counts = start.iter_days().take_while(|d| *d <= end).map(|d| {
                total += u32::from(calendar.is_working(d));
                total
            });
            calendar.counted = (start, counts.collect());
        }
        Ok(calendar)
    }

    /// Working days from the start of the counted range up to and including `date`, if inside it.
    fn counted_up_to(&self, date: NaiveDate) -> Option<i64> {
        let offset = usize::try_from((date - self.counted.0).num_days()).ok()?;
        self.counted.1.get(offset).map(|&n| i64::from(n))
    }

    /// This calendar with the years of `text` added or replaced (a new year's decree, a
    /// correction, regional holidays listed as `off`). Nothing changes if `text` is refused.
    pub fn with_overrides(&self, text: &str) -> Result<WorkCalendar, CalendarError> {
        let mut years = self.years.clone();
        years.extend(parse_years(text)?);
        WorkCalendar::from_years(years)
    }

    fn check_contiguous(&self) -> Result<(), CalendarError> {
        let (Some(first), Some(last)) = (self.years.keys().next(), self.years.keys().next_back()) else {
            return Err(CalendarError::Malformed("no years".into()));
        };
        match (*first..=*last).find(|y| !self.years.contains_key(y)) {
            Some(missing) => Err(CalendarError::Gap(missing)),
            None => Ok(()),
        }
    }

    /// The first and last years the calendar covers; outside them only the standing rule applies.
    pub fn years(&self) -> (i32, i32) {
        let first = self.years.keys().next().copied().unwrap_or(0);
        (first, self.years.keys().next_back().copied().unwrap_or(first))
    }

    /// What `date` is.
    pub fn kind(&self, date: NaiveDate) -> DayKind {
        let rules = self.years.get(&date.year());
        if let Some(r) = rules {
            if r.off.contains(&date) {
                return DayKind::DayOff;
            }
            if r.short.contains(&date) {
                return DayKind::Shortened;
            }
            if r.work.contains(&date) {
                return DayKind::Working;
            }
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend || PUBLIC_HOLIDAYS.contains(&(date.month(), date.day())) {
            DayKind::DayOff
        } else {
            DayKind::Working
        }
    }

    /// Whether `date` is a working day (full or shortened).
    pub fn is_working(&self, date: NaiveDate) -> bool {
        self.kind(date) != DayKind::DayOff
    }

    /// The `n`-th working day after `date` (`date` itself not counted); `n = 0` gives `date`.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day += Duration::days(1);
            if self.is_working(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days in `(from, to]`; negative when `to` is before `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if let (Some(a), Some(b)) = (self.counted_up_to(from), self.counted_up_to(to)) {
            return b - a;
        }
        let (a, b, sign) = if to >= from { (from, to, 1) } else { (to, from, -1) };
        let mut n = 0;
        let mut day = a;
        while day < b {
            day += Duration::days(1);
            if self.is_working(day) {
                n += 1;
            }
        }
        sign * n
    }

    /// The working day on or before `date`.
    pub fn on_or_before(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working(day) {
            day -= Duration::days(1);
        }
        day
    }

    /// The working day on or after `date`.
    pub fn on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working(day) {
            day += Duration::days(1);
        }
        day
    }

    /// Working hours of `date` under `day` (a shortened day ends an hour early), if it is working.
    pub fn hours(&self, date: NaiveDate, day: &WorkingDay) -> Option<(NaiveTime, NaiveTime)> {
        match self.kind(date) {
            DayKind::Working => Some((day.start, day.end)),
            DayKind::Shortened => Some((day.start, day.end - Duration::hours(1))),
            DayKind::DayOff => None,
        }
    }
}

/// The working day's hours, e.g. 9:00–18:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingDay {
    /// When work starts.
    pub start: NaiveTime,
    /// When work ends (a shortened day ends an hour earlier).
    pub end: NaiveTime,
}

impl Default for WorkingDay {
    fn default() -> Self {
        WorkingDay {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
        }
    }
}

/// The Monday of the week `date` falls in (weeks are labelled by their Monday).
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    shift_days(date, -i64::from(date.weekday().num_days_from_monday()))
}

/// `date` moved by `days` (earlier when negative), held at the first or the last date there is
/// rather than overflowing: for dates computed from those a client sent.
pub fn shift_days(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(days)).unwrap_or(if days < 0 { NaiveDate::MIN } else { NaiveDate::MAX })
}

#[cfg(test)]
mod tests {
    #[test]
    fn shifting_past_the_first_or_last_date_stops_there() {
        use super::shift_days;
        use chrono::NaiveDate;
        assert_eq!(shift_days(NaiveDate::MIN, -30), NaiveDate::MIN);
        assert_eq!(shift_days(NaiveDate::MAX, 1), NaiveDate::MAX);
        assert!(super::monday_of(NaiveDate::MIN) <= shift_days(NaiveDate::MIN, 6));
        assert_eq!(shift_days(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(), -2), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    }

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn counted_working_days_equal_a_day_by_day_count() {
        let calendar = WorkCalendar::russia();
        let naive = |a: NaiveDate, b: NaiveDate| a.iter_days().skip(1).take_while(|x| *x <= b).filter(|x| calendar.is_working(*x)).count() as i64;
        let days: Vec<NaiveDate> = d("2012-12-20").iter_days().step_by(37).take_while(|x| *x < d("2028-02-01")).collect();
        for (i, a) in days.iter().enumerate() {
            for b in days.iter().skip(i).step_by(7) {
                assert_eq!(calendar.working_days_between(*a, *b), naive(*a, *b), "{a} → {b}");
                assert_eq!(calendar.working_days_between(*b, *a), -naive(*a, *b), "{b} → {a}");
            }
        }
    }

    #[test]
    fn the_shipped_calendar_covers_2013_to_2027() {
        let cal = WorkCalendar::russia();
        assert_eq!(cal.years(), (2013, 2027));
        assert_eq!(cal.kind(d("2021-01-08")), DayKind::DayOff);
        assert_eq!(cal.kind(d("2021-01-11")), DayKind::Working);
        assert_eq!(cal.kind(d("2021-02-20")), DayKind::Shortened, "a Saturday worked, shortened");
        assert_eq!(cal.kind(d("2021-02-22")), DayKind::DayOff, "moved day off");
        assert_eq!(cal.kind(d("2020-04-15")), DayKind::DayOff, "non-working by decree");
        assert_eq!(cal.kind(d("2027-05-10")), DayKind::DayOff, "9 May on a Sunday moves to Monday");
    }

    #[test]
    fn working_day_arithmetic() {
        let cal = WorkCalendar::russia();
        // Friday 30 April 2021, then the May holidays and decree days: next working day is 11 May.
        assert_eq!(cal.add_working_days(d("2021-04-30"), 1), d("2021-05-11"));
        assert_eq!(cal.add_working_days(d("2021-04-30"), 0), d("2021-04-30"));
        assert_eq!(cal.working_days_between(d("2021-04-30"), d("2021-05-11")), 1);
        assert_eq!(cal.working_days_between(d("2021-05-11"), d("2021-04-30")), -1);
        assert_eq!(cal.on_or_before(d("2021-01-05")), d("2020-12-31"));
        assert_eq!(cal.on_or_after(d("2021-01-05")), d("2021-01-11"));
        let day = WorkingDay::default();
        assert_eq!(cal.hours(d("2021-04-30"), &day).unwrap().1, NaiveTime::from_hms_opt(17, 0, 0).unwrap());
        assert!(cal.hours(d("2021-05-01"), &day).is_none());
    }

    #[test]
    fn bad_calendars_are_refused_with_a_reason() {
        assert_eq!(WorkCalendar::parse("[2020]\n[2022]\n"), Err(CalendarError::Gap(2021)));
        let overlap = "[2021]\noff = [\"02-22\"]\nwork = [\"02-22\"]\n";
        assert!(matches!(WorkCalendar::parse(overlap), Err(CalendarError::Overlap { .. })));
        let twice = "[2021]\noff = [\"02-22\", \"02-22\"]\n";
        assert!(matches!(WorkCalendar::parse(twice), Err(CalendarError::Overlap { .. })));
        assert!(matches!(WorkCalendar::parse("[2021]\noff = [\"02-30\"]\n"), Err(CalendarError::BadDay { .. })));
        assert!(matches!(WorkCalendar::parse("[2021]\nholiday = [\"02-03\"]\n"), Err(CalendarError::Malformed(_))));
        assert!(matches!(WorkCalendar::parse("not toml ["), Err(CalendarError::Malformed(_))));
    }

    proptest::proptest! {
        /// Adding n working days lands on a working day exactly n working days later, and
        /// never moves backwards.
        #[test]
        fn adding_working_days_round_trips(offset in 0i64..5_400, n in 0u32..400) {
            let cal = WorkCalendar::russia();
            let start = d("2013-01-01") + Duration::days(offset);
            let end = cal.add_working_days(start, n);
            proptest::prop_assert!(end >= start);
            proptest::prop_assert_eq!(cal.working_days_between(start, end), i64::from(n));
            if n > 0 {
                proptest::prop_assert!(cal.is_working(end));
            }
        }
    }

    #[test]
    fn overrides_add_years_and_regional_days() {
        let cal = WorkCalendar::russia();
        let tatarstan = cal.with_overrides("[2025]\noff = [\"08-29\"]\n").unwrap();
        assert_eq!(tatarstan.kind(d("2025-08-29")), DayKind::DayOff);
        let next = cal.with_overrides("[2028]\noff = [\"01-10\"]\n").unwrap();
        assert_eq!(next.years(), (2013, 2028));
        assert_eq!(cal.with_overrides("[2029]\n"), Err(CalendarError::Gap(2028)), "refused, the old calendar kept");
    }
}
