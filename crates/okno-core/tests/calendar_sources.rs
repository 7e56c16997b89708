//! The shipped calendar, day by day, against two published production calendars in
//! ../shared/data/ru_production_calendar: xmlcalendar.ru's XML and the consultant.ru-derived
//! JSON of d10xa/holidays-calendar. Skips (visibly) when the data is absent.

use chrono::{Datelike, Duration, NaiveDate};
use okno_core::calendar::{DayKind, WorkCalendar};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ru_production_calendar");
    if dir.exists() {
        Some(dir)
    } else {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED: {} is absent", dir.display());
        None
    }
}

fn every_day(year: i32) -> impl Iterator<Item = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    (0..366).map(move |i| first + Duration::days(i)).filter(move |d| d.year() == year)
}

/// xmlcalendar: `<day d="MM.DD" t="1|2|3"/>`; t=1 day off, 2 shortened, 3 working; other
/// weekends off, other weekdays working.
fn xmlcalendar(dir: &Path, year: i32) -> BTreeMap<NaiveDate, DayKind> {
    let text = std::fs::read_to_string(dir.join(format!("xmlcalendar_ru/{year}_calendar.xml"))).unwrap();
    let mut listed = BTreeMap::new();
    for tag in text.split("<day ").skip(1) {
        let attr = |name: &str| tag.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap();
        let (m, d) = attr("d").split_once('.').unwrap();
        let date = NaiveDate::from_ymd_opt(year, m.parse().unwrap(), d.parse().unwrap()).unwrap();
        let kind = match attr("t") {
            "1" => DayKind::DayOff,
            "2" => DayKind::Shortened,
            _ => DayKind::Working,
        };
        listed.insert(date, kind);
    }
    every_day(year)
        .map(|d| {
            let default = if d.weekday().number_from_monday() >= 6 { DayKind::DayOff } else { DayKind::Working };
            (d, listed.get(&d).copied().unwrap_or(default))
        })
        .collect()
}

/// d10xa: `holidays` (every non-working date, weekends included), `preholidays`, `nowork`.
fn d10xa(dir: &Path) -> (Vec<NaiveDate>, Vec<NaiveDate>, Vec<NaiveDate>) {
    let text = std::fs::read_to_string(dir.join("d10xa_json/calendar.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dates = |key: &str| json[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().parse().unwrap()).collect();
    (dates("holidays"), dates("preholidays"), dates("nowork"))
}

#[test]
fn calendar_matches_both_published_calendars() {
    let Some(dir) = data_dir() else { return };
    let ours = WorkCalendar::russia();
    let (holidays, preholidays, nowork) = d10xa(&dir);
    let mut xml_mismatches = Vec::new();
    let mut json_mismatches = Vec::new();
    for year in 2013..=2026 {
        let xml = xmlcalendar(&dir, year);
        for day in every_day(year) {
            if ours.kind(day) != xml[&day] {
                xml_mismatches.push(format!("{day}: ours {:?}, xmlcalendar {:?}", ours.kind(day), xml[&day]));
            }
            let json_kind = if holidays.contains(&day) || nowork.contains(&day) {
                DayKind::DayOff
            } else if preholidays.contains(&day) {
                DayKind::Shortened
            } else {
                DayKind::Working
            };
            let covered = holidays.iter().any(|h| h.year() == year);
            if covered && ours.kind(day) != json_kind {
                json_mismatches.push(format!("{day}: ours {:?}, d10xa {json_kind:?}", ours.kind(day)));
            }
        }
    }
    assert!(xml_mismatches.is_empty(), "against xmlcalendar: {xml_mismatches:#?}");
    assert!(json_mismatches.is_empty(), "against d10xa: {json_mismatches:#?}");
}
