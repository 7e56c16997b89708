//! Import of American 311 exports: Los Angeles (MyLA311) and New York (NYC 311, both the
//! portal's "Created Date" headers and the API's `created_date` ones). Request types become
//! services, owners become agencies, neighbourhood councils / community boards become
//! territories. Local times are converted with the city's time zone (daylight saving included).

use super::{line_of, open_csv, Batcher, ImportReport, SeenCatalog};
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use okno_core::text::slug;
use okno_core::{Agency, Channel, Coordinates, EventKind, NewEvent, NewRequest, Service, Status, Territory};
use okno_store::{ImportedRequest, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// Whose export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Los Angeles MyLA311.
    La,
    /// New York City 311.
    Nyc,
}

impl std::str::FromStr for Profile {
    type Err = String;
    /// `la` or `nyc`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "la" => Ok(Profile::La),
            "nyc" => Ok(Profile::Nyc),
            other => Err(format!("unknown 311 profile {other:?}: la or nyc")),
        }
    }
}

/// Which columns hold what, by normalized header name (lower case, `_` for spaces).
struct Columns {
    source: &'static str,
    tz: Tz,
    id: &'static str,
    created: &'static str,
    closed: &'static str,
    request_type: &'static str,
    descriptor: Option<&'static str>,
    status: &'static str,
    agency: &'static str,
    agency_name: Option<&'static str>,
    address: &'static str,
    territory: &'static str,
    territory_name: Option<&'static str>,
    channel: &'static str,
}

impl Profile {
    fn columns(self) -> Columns {
        match self {
            Profile::La => Columns {
                source: "la311", tz: chrono_tz::America::Los_Angeles, id: "srnumber", created: "created_at", closed: "closed_at",
                request_type: "request_type", descriptor: Some("action_taken"), status: "status", agency: "owner",
                agency_name: None, address: "address", territory: "nc", territory_name: Some("nc_name"), channel: "request_source",
            },
            Profile::Nyc => Columns {
                source: "nyc311", tz: chrono_tz::America::New_York, id: "unique_key", created: "created_date", closed: "closed_date",
                request_type: "complaint_type", descriptor: Some("descriptor"), status: "status", agency: "agency",
                agency_name: Some("agency_name"), address: "incident_address", territory: "community_board", territory_name: None,
                channel: "open_data_channel_type",
            },
        }
    }
}

fn normalize_header(h: &str) -> String {
    h.trim().to_lowercase().replace([' ', '-'], "_").replace(['(', ')'], "")
}

/// Parses a local time in any of the formats the exports use.
fn parse_local(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// Okno's status for a 311 status.
fn status_of(s: &str) -> Status {
    match s.trim().to_lowercase().as_str() {
        "closed" => Status::Closed,
        "cancelled" => Status::Rejected,
        "open" | "assigned" | "referred out" => Status::Routed,
        _ => Status::InProgress,
    }
}

/// Imports a 311 CSV export into `store`.
pub async fn import(shared: Arc<dyn Store>, path: &Path, profile: Profile) -> Result<ImportReport> {
    let store = &*shared;
    let cols = profile.columns();
    let reader = open_csv(path)?;
    let headers: Vec<String> = reader.headers().iter().map(normalize_header).collect();
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
    for needed in [cols.id, cols.created, cols.closed, cols.request_type, cols.status, cols.agency, "latitude", "longitude"] {
        if !index.contains_key(needed) {
            return Err(AppError::Input(format!("{}: no column {needed}; is this a {:?} 311 export?", path.display(), profile)));
        }
    }
    let mut catalog = SeenCatalog::default();
    let mut batcher = Batcher::new(shared.clone(), format!("{} from {}", cols.source, path.display()));
    let prefix = cols.source.trim_end_matches("311");
    for row in reader {
        let Some(record) = batcher.record(row)? else { continue };
        let line = line_of(&record);
        let field = |name: &str| index.get(name).and_then(|&i| record.get(i)).unwrap_or("").trim();
        let id = field(cols.id);
        if id.is_empty() {
            batcher.bad(line, "empty id");
            continue;
        }
        let Some(created_at) = parse_local(field(cols.created), cols.tz) else {
            batcher.bad(line, format!("request {id}: created time {:?} is not a time", field(cols.created)));
            continue;
        };
        let closed_at = parse_local(field(cols.closed), cols.tz);
        if closed_at.is_some_and(|c| c < created_at) {
            batcher.bad(line, format!("request {id}: closed ({}) before it was created", field(cols.closed)));
            continue;
        }
        let request_type = field(cols.request_type);
        if request_type.is_empty() {
            batcher.bad(line, format!("request {id}: no request type"));
            continue;
        }
        let coordinates = match (field("latitude"), field("longitude")) {
            ("", "") => None,
            (lat, lon) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
                (Ok(lat), Ok(lon)) if Coordinates::new(lat, lon).is_some() => Coordinates::new(lat, lon),
                _ => {
                    batcher.bad(line, format!("request {id}: bad coordinates {lat:?}, {lon:?}"));
                    continue;
                }
            },
        };
        let agency_raw = field(cols.agency);
        let agency = if agency_raw.is_empty() {
            None
        } else {
            let code = format!("{prefix}-{}", slug(agency_raw));
            let name = cols.agency_name.map(field).filter(|n| !n.is_empty()).unwrap_or(agency_raw);
            catalog.agency(store, Agency { code: code.as_str().into(), name_ru: name.into(), name_en: name.into(), parent: None }).await?;
            Some(code)
        };
        let service = format!("{prefix}-{}", slug(request_type));
        catalog.service(store, Service {
            code: service.as_str().into(), name_ru: request_type.into(), name_en: request_type.into(),
            description_ru: String::new(), description_en: String::new(), group: cols.source.to_uppercase(),
            keywords: Vec::new(), attributes: Vec::new(), default_agency: agency.clone().map(Into::into),
            deadline_regime: format!("{}_default", cols.source), electronic: true, active: true,
        }).await?;
        let territory = match field(cols.territory) {
            "" | "0" | "Unspecified" => None,
            raw => {
                let code = format!("{prefix}-{}", slug(raw));
                let name = cols.territory_name.map(field).filter(|n| !n.is_empty()).unwrap_or(raw);
                let kind = if profile == Profile::La { "neighborhood_council" } else { "community_district" };
                catalog.territory(store, Territory {
                    code: code.as_str().into(), name_ru: name.into(), name_en: name.into(), kind: kind.into(), parent: None, population: None,
                }).await?;
                Some(code)
            }
        };
        let status = status_of(field(cols.status));
        let text = match cols.descriptor.map(field).filter(|d| !d.is_empty()) {
            Some(d) => format!("{request_type}: {d}"),
            None => request_type.to_owned(),
        };
        let mut attributes = BTreeMap::new();
        if !field(cols.channel).is_empty() {
            attributes.insert("source_channel".to_owned(), vec![field(cols.channel).to_owned()]);
        }
        let mut registered = NewEvent::new(created_at, EventKind::Registered, cols.source);
        registered.status = Some(Status::Registered);
        let mut events = vec![registered];
        let closed_at = if status.is_final() { closed_at.or(Some(created_at)) } else { None };
        if let Some(at) = closed_at {
            let mut closed = NewEvent::new(at, if status == Status::Rejected { EventKind::Rejected } else { EventKind::Closed }, cols.source);
            closed.status = Some(status);
            closed.text = Some(field(cols.status).to_owned());
            events.push(closed);
        }
        let mut request = match NewRequest::recorded(service, Channel::Import, Some((cols.source.into(), id.into())), text, created_at) {
            Ok(request) => request,
            Err(e) => {
                batcher.bad(line, format!("request {id}: {e}"));
                continue;
            }
        };
        request.coordinates = coordinates;
        request.address = Some(field(cols.address).to_owned()).filter(|a| !a.is_empty());
        request.territory = territory.map(Into::into);
        request.agency = agency.map(Into::into);
        request.attributes = attributes;
        request.category = Some(request_type.to_owned());
        batcher.push(line, ImportedRequest {
            request,
            token: crate::intake::new_tracking_token(created_at),
            status,
            updated_at: closed_at.unwrap_or(created_at),
            closed_at,
            due_at: None,
            last_answer: None,
            rating: None,
            first_reaction_due_at: None,
            routing_due_at: None,
            first_reaction_at: None,
            first_answer_at: None,
            events,
        }).await?;
    }
    batcher.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_follow_daylight_saving() {
        let tz = chrono_tz::America::New_York;
        assert_eq!(parse_local("05/01/2022 12:00:03 AM", tz).unwrap().to_rfc3339(), "2022-05-01T04:00:03+00:00");
        assert_eq!(parse_local("2023-12-10T08:00:00.000", tz).unwrap().to_rfc3339(), "2023-12-10T13:00:00+00:00");
        assert!(parse_local("yesterday", tz).is_none());
    }

    #[test]
    fn headers_normalize() {
        assert_eq!(normalize_header("X Coordinate (State Plane)"), "x_coordinate_state_plane");
        assert_eq!(normalize_header("Created Date"), "created_date");
    }
}
