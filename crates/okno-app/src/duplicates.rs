//! Likely duplicates: for the citizens' form before a request is filed, and for staff looking
//! at a filed request. See [`okno_core::duplicates`] for how they are ranked.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Duration, Utc};
use okno_core::duplicates::{bbox_around, rank, DuplicateRules, Suggestion};
use okno_core::lifecycle::ALL_STATUSES;
use okno_core::{BBox, Coordinates, Principal, RequestFilter, RequestId};

/// Candidates read from the store before ranking (the area and period are small).
const MAX_CANDIDATES: u32 = 1_000;

/// Open requests of `service` near `point` filed in the last `rules.days`, ranked against `text`.
async fn suggestions(app: &App, service: &str, point: Coordinates, text: &str, rules: &DuplicateRules, now: DateTime<Utc>) -> Result<Vec<Suggestion>> {
    let (min_lon, min_lat, max_lon, max_lat) = bbox_around(point, rules.radius_m);
    let filter = RequestFilter {
        services: vec![service.into()],
        statuses: ALL_STATUSES.into_iter().filter(|s| !s.is_final()).collect(),
        created_from: Some(now - Duration::days(rules.days)),
        bbox: Some(BBox { min_lon, min_lat, max_lon, max_lat }),
        limit: MAX_CANDIDATES,
        ..RequestFilter::default()
    };
    Ok(rank(point, text, app.store.list_requests(&filter).await?, rules))
}

/// Open requests of `service` near the pin at `lat`, `lon`, filed in the last 30 days, most
/// alike `text` first: what the citizens' form shows before they file, with the personal data
/// typed into their texts and addresses masked.
pub async fn for_form(app: &App, service: &str, lat: f64, lon: f64, text: &str, now: DateTime<Utc>) -> Result<Vec<Suggestion>> {
    let point = Coordinates::new(lat, lon).ok_or_else(|| AppError::field("lat", ErrorCode::OutOfRange, "lat and lon must be a point on Earth (−90…90, −180…180)"))?;
    if app.store.service(service).await?.is_none() {
        return Err(AppError::field("service", ErrorCode::UnknownValue, format!("no service with code {service:?}")));
    }
    let mut found = suggestions(app, service, point, text, &DuplicateRules::default(), now).await?;
    for s in &mut found {
        okno_core::privacy::mask_request(&mut s.request);
    }
    Ok(found)
}

/// Open requests of the same service near request `id`, filed in the 30 days before it, most
/// alike first, that `user` may read.
pub async fn for_request(app: &App, user: &Principal, id: RequestId) -> Result<Vec<Suggestion>> {
    let request = crate::requests::readable(app, user, id).await?;
    let Some(point) = request.coordinates else { return Ok(Vec::new()) };
    let rules = DuplicateRules { limit: DuplicateRules::default().limit + 1, ..DuplicateRules::default() };
    let mut found = suggestions(app, &request.service_code, point, &request.text, &rules, request.created_at + Duration::seconds(1)).await?;
    found.retain(|s| s.request.id != id && user.can_read_request(s.request.agency.as_deref()));
    found.truncate(DuplicateRules::default().limit);
    Ok(found.into_iter().map(|mut s| {
        s.request = crate::requests::shown_to(user, s.request);
        s
    }).collect())
}
