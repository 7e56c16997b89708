//! Import of the St. Petersburg "Our St. Petersburg" portal appeals (`appeals.csv[.gz]`) with
//! their timelines (`events.csv[.gz]`): the portal's reasons become services (grouped by
//! category), its executors become agencies, districts and municipalities become territories.
//! Portal times are Moscow local time (UTC+3 all through the data's period).

use super::{line_of, open_csv, Batcher, ImportReport, SeenCatalog};
use crate::error::{AppError, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use okno_core::text::slug;
use okno_core::{Agency, Channel, Coordinates, EventKind, NewEvent, NewRequest, Service, Status, Territory};
use okno_store::{ImportedRequest, Store};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The source system name under which the portal's ids are kept.
pub const SOURCE: &str = "spb_portal";
/// Code of the city as the root territory.
pub const CITY: &str = "spb";

fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("valid offset")
}

/// Parses a portal time (`2020-10-18T14:50:40.817676`, Moscow) into UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let naive: NaiveDateTime = s.trim().parse().ok()?;
    moscow().from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc))
}

/// Okno's status for a portal status name.
pub fn status_of(portal: &str) -> Option<Status> {
    Some(match portal.trim() {
        "Модерация" => Status::Registered,
        "Рассмотрение" => Status::InProgress,
        "Промежуточный ответ" => Status::IntermediateAnswer,
        "Получен ответ" => Status::Answered,
        s if s.starts_with("Завершено") => Status::Closed,
        _ => return None,
    })
}

/// Code of the agency with a portal name.
pub fn agency_code(name: &str) -> String {
    format!("spb-{}", slug(name))
}

/// Code of a district.
pub fn district_code(name: &str) -> String {
    format!("spb-{}", slug(name))
}

/// Code of a municipality.
pub fn municipality_code(name: &str) -> String {
    format!("spb-mo-{}", slug(name))
}

/// Code of the service for a portal reason id.
pub fn service_code(reason_id: &str) -> String {
    format!("spb-{}", reason_id.trim())
}

struct RawEvent {
    at: DateTime<Utc>,
    kind: String,
    status_name: String,
    detail: String,
}

fn load_events(path: &Path) -> Result<HashMap<String, Vec<RawEvent>>> {
    let reader = open_csv(path)?;
    let headers = reader.headers().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| AppError::Input(format!("{}: no column {name}", path.display())));
    let (id, dt, event, status, detail) = (col("id")?, col("dt")?, col("event")?, col("status_name")?, col("detail")?);
    let mut by_appeal: HashMap<String, Vec<RawEvent>> = HashMap::new();
    for row in reader {
        let record = row?.map_err(|bad| AppError::Input(format!("{} line {}: {}", path.display(), bad.line, bad.reason)))?;
        let Some(at) = parse_time(&record[dt]) else { continue };
        by_appeal.entry(record[id].to_owned()).or_default().push(RawEvent {
            at,
            kind: record[event].to_owned(),
            status_name: record[status].to_owned(),
            detail: record[detail].to_owned(),
        });
    }
    for events in by_appeal.values_mut() {
        events.sort_by_key(|e| e.at);
    }
    Ok(by_appeal)
}

/// `координатору: "X"` — the executor an appeal was re-routed to, named in a route event.
fn routed_to(detail: &str) -> Option<&str> {
    let rest = detail.rsplit_once("координатору: \"")?.1;
    rest.split_once('"').map(|(name, _)| name)
}

/// `срок решения изменен с DD.MM.YYYY на DD.MM.YYYY` — the deadline change a route event records,
/// each date taken as the end of that Moscow day.
fn deadline_change(detail: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let rest = detail.split_once("срок решения изменен с ")?.1;
    let (old, rest) = rest.split_once(" на ")?;
    let new = rest.get(..10)?;
    let end_of_day = |d: &str| {
        let date = NaiveDate::parse_from_str(d.trim(), "%d.%m.%Y").ok()?;
        moscow().from_local_datetime(&date.and_hms_opt(23, 59, 59)?).single().map(|t| t.with_timezone(&Utc))
    };
    Some((end_of_day(old)?, end_of_day(new)?))
}

/// Turns one appeal's raw events into Okno's timeline, with the names of the agencies it mentions.
fn timeline(raw: &[RawEvent], created_at: DateTime<Utc>) -> (Vec<NewEvent>, Vec<&str>) {
    let mut agencies = Vec::new();
    let mut registered = NewEvent::new(created_at, EventKind::Registered, SOURCE);
    registered.status = Some(Status::Registered);
    let mut out = vec![registered];
    let mut first_petition = true;
    for (i, e) in raw.iter().enumerate() {
        let mut ev = NewEvent::new(e.at, EventKind::StatusChanged, SOURCE);
        match e.kind.as_str() {
            "petition" if first_petition => {
                first_petition = false;
                continue;
            }
            "petition" if e.status_name == "Не удовлетворён" => {
                ev.kind = EventKind::Reopened;
                ev.status = Some(Status::Reopened);
                ev.text = Some(e.status_name.clone());
            }
            "petition" => {
                ev.kind = EventKind::CitizenMessage;
                ev.text = Some(e.status_name.clone()).filter(|s| !s.is_empty());
            }
            "status" => {
                ev.status = status_of(&e.status_name);
                if ev.status == Some(Status::Closed) {
                    ev.kind = EventKind::Closed;
                }
                ev.text = Some(e.status_name.clone());
            }
            "answer" => {
                let next_status = raw[i + 1..].iter().find(|n| n.kind == "status").map(|n| n.status_name.as_str());
                ev.kind = if next_status == Some("Промежуточный ответ") { EventKind::IntermediateAnswer } else { EventKind::Answered };
                if !e.detail.is_empty() {
                    ev.agency = Some(agency_code(&e.detail).into());
                    agencies.push(e.detail.as_str());
                }
                ev.text = Some(e.status_name.clone()).filter(|s| !s.is_empty());
            }
            "route" => {
                ev.kind = EventKind::Routed;
                if let Some(name) = routed_to(&e.detail) {
                    ev.agency = Some(agency_code(name).into());
                    agencies.push(name);
                }
                if let Some((old, new)) = deadline_change(&e.detail) {
                    ev.old_due_at = Some(old);
                    ev.new_due_at = Some(new);
                }
                ev.text = Some(e.detail.clone());
            }
            "reclassification" => {
                ev.kind = EventKind::Reclassified;
                ev.text = Some(e.detail.clone());
            }
            k if k.starts_with("execution_date_change") => {
                ev.kind = EventKind::DeadlineExtended;
                ev.text = Some(k.to_owned());
            }
            other => {
                ev.kind = EventKind::Comment;
                ev.text = Some(format!("{other}: {}", e.status_name));
            }
        }
        out.push(ev);
    }
    (out, agencies)
}

/// Imports the portal's appeals (and, if given, their events) into `store`.
pub async fn import(shared: Arc<dyn Store>, appeals: &Path, events: Option<&Path>) -> Result<ImportReport> {
    let store = &*shared;
    let mut raw_events = match events {
        Some(path) => {
            eprintln!("reading events from {}", path.display());
            load_events(path)?
        }
        None => HashMap::new(),
    };
    let reader = open_csv(appeals)?;
    let headers = reader.headers().clone();
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    for needed in ["id", "created_at", "category", "reason_id", "reason", "district", "municipality", "latitude", "longitude",
        "address", "responsible_org", "final_status", "final_status_at", "expected_answer_dt", "text"] {
        if !index.contains_key(needed) {
            return Err(AppError::Input(format!("{}: no column {needed}; is this the portal's appeals.csv?", appeals.display())));
        }
    }
    let mut catalog = SeenCatalog::default();
    catalog.territory(store, Territory {
        code: CITY.into(), name_ru: "Санкт-Петербург".into(), name_en: "Saint Petersburg".into(),
        kind: "region".into(), parent: None, population: None,
    }).await?;
    let mut batcher = Batcher::new(shared.clone(), format!("St. Petersburg appeals from {}", appeals.display()));
    eprintln!("reading appeals from {}", appeals.display());
    for row in reader {
        let Some(record) = batcher.record(row)? else { continue };
        let line = line_of(&record);
        let field = |name: &str| index.get(name).and_then(|&i| record.get(i)).unwrap_or("").trim();
        let id = field("id");
        if id.is_empty() {
            batcher.bad(line, "empty id");
            continue;
        }
        let Some(created_at) = parse_time(field("created_at")) else {
            batcher.bad(line, format!("appeal {id}: created_at {:?} is not a time", field("created_at")));
            continue;
        };
        let coordinates = match (field("latitude").parse::<f64>(), field("longitude").parse::<f64>()) {
            (Ok(lat), Ok(lon)) => match Coordinates::new(lat, lon) {
                Some(c) => Some(c),
                None => {
                    batcher.bad(line, format!("appeal {id}: coordinates {lat},{lon} out of range"));
                    continue;
                }
            },
            _ if field("latitude").is_empty() && field("longitude").is_empty() => None,
            _ => {
                batcher.bad(line, format!("appeal {id}: latitude/longitude are not numbers"));
                continue;
            }
        };
        let Some(status) = status_of(field("final_status")) else {
            batcher.bad(line, format!("appeal {id}: unknown final status {:?}", field("final_status")));
            continue;
        };
        let (reason_id, reason, category) = (field("reason_id"), field("reason"), field("category"));
        if reason_id.is_empty() || reason.is_empty() {
            batcher.bad(line, format!("appeal {id}: no reason"));
            continue;
        }
        let text = match field("text") {
            "" => reason,
            t => t,
        };
        let service = service_code(reason_id);
        catalog.service(store, Service {
            code: service.as_str().into(), name_ru: reason.into(), name_en: reason.into(),
            description_ru: String::new(), description_en: String::new(), group: category.into(),
            keywords: Vec::new(), attributes: Vec::new(), default_agency: None,
            deadline_regime: "spb_portal".into(), electronic: true, active: true,
        }).await?;
        let agency = match field("responsible_org") {
            "" => None,
            name => {
                let code = agency_code(name);
                catalog.agency(store, Agency { code: code.as_str().into(), name_ru: name.into(), name_en: name.into(), parent: None }).await?;
                Some(code)
            }
        };
        let territory = match (field("district"), field("municipality")) {
            ("", _) => None,
            (district, municipality) => {
                let district_code = district_code(district);
                catalog.territory(store, Territory {
                    code: district_code.as_str().into(), name_ru: format!("{district} район"), name_en: format!("{district} district"),
                    kind: "district".into(), parent: Some(CITY.into()), population: None,
                }).await?;
                if municipality.is_empty() {
                    Some(district_code)
                } else {
                    let code = municipality_code(municipality);
                    catalog.territory(store, Territory {
                        code: code.as_str().into(), name_ru: municipality.into(), name_en: municipality.into(),
                        kind: "municipality".into(), parent: Some(district_code.into()), population: None,
                    }).await?;
                    Some(code)
                }
            }
        };
        let raw = raw_events.remove(id).unwrap_or_default();
        let (events, mentioned) = timeline(&raw, created_at);
        for name in mentioned {
            catalog.agency(store, Agency { code: agency_code(name).into(), name_ru: name.into(), name_en: name.into(), parent: None }).await?;
        }
        let final_at = parse_time(field("final_status_at"));
        let updated_at = events.iter().map(|e| e.at).chain(final_at).max().unwrap_or(created_at);
        let mut request = match NewRequest::recorded(service, Channel::Import, Some((SOURCE.into(), id.into())), text, created_at) {
            Ok(request) => request,
            Err(e) => {
                batcher.bad(line, format!("appeal {id}: {e}"));
                continue;
            }
        };
        request.coordinates = coordinates;
        request.address = Some(field("address").to_owned()).filter(|a| !a.is_empty());
        request.territory = territory.map(Into::into);
        request.agency = agency.map(Into::into);
        request.category = Some(category.to_owned()).filter(|c| !c.is_empty());
        request.reason = Some(reason.to_owned());
        batcher.push(line, ImportedRequest {
            request,
            token: crate::intake::new_tracking_token(created_at),
            status,
            updated_at,
            closed_at: if status.is_final() { final_at.or(Some(updated_at)) } else { None },
            due_at: parse_time(field("expected_answer_dt")),
            last_answer: None,
            rating: None,
            first_reaction_due_at: None,
            routing_due_at: None,
            first_reaction_at: events.iter().find(|e| matches!(e.kind, EventKind::Answered | EventKind::IntermediateAnswer)).map(|e| e.at),
            first_answer_at: parse_time(field("first_answer_at")),
            events,
        }).await?;
    }
    batcher.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_times_are_moscow() {
        let t = parse_time("2020-10-18T14:50:40.817676").unwrap();
        assert_eq!(t.to_rfc3339(), "2020-10-18T11:50:40.817676+00:00");
        assert!(parse_time("18.10.2020").is_none());
    }

    #[test]
    fn route_details_give_agency_and_deadline() {
        let d = "Ваше сообщение передано по принадлежности вопроса от контролера: \"А\", от координатора: \"Б\" контролеру: \"В\", координатору: \"СПб ГКУ ЖА Адмиралтейского района\". В связи с этим срок решения изменен с 10.11.2020 на 13.11.2020";
        assert_eq!(routed_to(d), Some("СПб ГКУ ЖА Адмиралтейского района"));
        let (old, new) = deadline_change(d).unwrap();
        assert_eq!(old.to_rfc3339(), "2020-11-10T20:59:59+00:00");
        assert_eq!(new.to_rfc3339(), "2020-11-13T20:59:59+00:00");
    }

    #[test]
    fn statuses_map() {
        assert_eq!(status_of("Завершено: Автоматически"), Some(Status::Closed));
        assert_eq!(status_of("Промежуточный ответ"), Some(Status::IntermediateAnswer));
        assert_eq!(status_of("???"), None);
    }
}
