//! The single intake path: every channel (JSON API, web form, Open311, operator entry) turns
//! its input into a [`RequestDraft`] and submits it here, so validation, triage (operators'
//! rules, the service's default agency, the classifier), the initial deadline and storage are
//! the same for all.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::places;
use crate::triage::{self, Catalog, Facts};
use crate::App;
use std::collections::BTreeMap;
use chrono::{DateTime, SubsecRound, Utc};
use okno_core::deadline::Due;
use okno_core::{Channel, NewRequest, RequestDraft};
use okno_store::Created;
use rand::Rng;

/// The characters of tracking tokens: no look-alikes (0, 1, i, l, o), in ASCII order, so that
/// a token's leading time characters sort as the time they encode.
const TOKEN_ALPHABET: &[u8; 31] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Leading characters of a token that encode its request's creation minute.
const TOKEN_TIME_CHARS: u32 = 6;

/// Random characters after them (31^10, about 49 bits).
const TOKEN_RANDOM_CHARS: usize = 10;

/// A public tracking token for a request created at `at`: its creation minute since 1970 in six
/// characters (base 31: they sort by time until the year 3657), then ten random ones. Tracking
/// shows a request's public face only (never contacts), and a guess must hit the random part.
/// The time comes first because tokens are a unique index: tokens that grow with time are
/// appended to it, while wholly random ones sent every insert to a random page of it — importing
/// three million requests ran at half the speed with them, and the gap grows with the index.
pub fn tracking_token(at: DateTime<Utc>, rng: &mut impl Rng) -> String {
    let base = TOKEN_ALPHABET.len() as i64;
    let minute = at.timestamp().div_euclid(60).clamp(0, base.pow(TOKEN_TIME_CHARS) - 1);
    let time = (0..TOKEN_TIME_CHARS).rev().map(|place| TOKEN_ALPHABET[(minute / base.pow(place) % base) as usize] as char);
    let random = (0..TOKEN_RANDOM_CHARS).map(|_| TOKEN_ALPHABET[rng.gen_range(0..TOKEN_ALPHABET.len())] as char);
    time.chain(random).collect()
}

/// A tracking token for a request created at `at`, from the thread's random generator.
pub fn new_tracking_token(at: DateTime<Utc>) -> String {
    tracking_token(at, &mut rand::thread_rng())
}

/// Validates and stores a request from any channel. `source_system` names the client that
/// sent it (its `source_id`, if any, makes retries idempotent). A request without a service
/// gets one from an operator's rule or the topic model (a low-confidence guess waits in the
/// triage queue); its agency comes from a rule, its service or the agency model (see
/// [`triage::decide`]). Its point is placed in the territory boundaries in force (its territory,
/// when the channel named none, its H3 cell and any flag) before triage reads the place. Its
/// deadlines follow its service's regime (none if the regime is unknown). Once stored, it joins
/// the open systemic problem it matches, if any.
pub async fn submit(
    app: &App,
    mut draft: RequestDraft,
    channel: Channel,
    source_system: Option<String>,
    now: DateTime<Utc>,
) -> Result<Created> {
    let (store, deadlines, classifier) = (app.store.as_ref(), app.deadlines.as_ref(), app.classifier.as_ref());
    let now = now.trunc_subsecs(6);
    let models = classifier.current();
    let boundaries = app.places.current();
    // A point is placed where it is; an address alone, where the gazetteer knows it.
    let placement = match (draft.lat.zip(draft.lon), draft.address.as_deref()) {
        (Some((lat, lon)), _) => Some(boundaries.index.place(lat, lon)),
        (None, Some(address)) => places::place_address(&boundaries, address),
        (None, None) => None,
    };
    if draft.territory.as_deref().is_none_or(|t| t.trim().is_empty()) {
        draft.territory = placement.as_ref().and_then(|p| p.territory.clone());
    }
    let territory = draft.territory.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let catalog = Catalog::read_for_intake(store, &models, territory).await?;
    if let Some(code) = territory
        && !catalog.territories.iter().any(|t| t.code == code)
    {
        return Err(AppError::field("territory", ErrorCode::UnknownValue, format!("no territory with code {code:?}")));
    }
    let chosen_code = draft.service_code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let chosen = chosen_code.and_then(|code| catalog.services.iter().find(|s| s.code == code));
    let text = draft.text.as_deref().map(str::trim).unwrap_or_default();
    let decision = match (chosen_code, chosen) {
        (Some(_), None) => None,
        _ if text.is_empty() => None,
        _ => {
            let attributes: BTreeMap<String, Vec<String>> = draft.attributes.iter().map(|(k, v)| (k.clone(), v.clone().into_vec())).collect();
            let facts = Facts { text, territories: catalog.territory_chain(territory), attributes: &attributes };
            Some(triage::decide(&models, classifier.threshold(), &catalog, chosen, &facts))
        }
    };
    let predicted = chosen.is_none() && decision.as_ref().is_some_and(|d| d.service.is_some());
    if predicted {
        draft.service_code = decision.as_ref().and_then(|d| d.service.clone()).map(String::from);
    }
    let service_code = draft.service_code.as_deref().map(str::trim).unwrap_or_default();
    let mut service = catalog.services.iter().find(|s| s.code == service_code).cloned();
    if predicted && let Some(s) = &mut service {
        // The citizen did not choose this service, so its required fields cannot be demanded.
        s.attributes.iter_mut().for_each(|a| a.required = false);
    }
    let mut request = NewRequest::validate(draft, service.as_ref(), channel, source_system, now)?;
    request.location = placement.as_ref().map(places::location).unwrap_or_default();
    let service = service.ok_or_else(|| AppError::Internal("validated request without a service".into()))?;
    // The topic the heat map, the spike alerts and the systemic problems count it under: the
    // service's group, as for the demo's and the imported requests.
    request.category = Some(service.group.clone()).filter(|g| !g.is_empty());
    request.agency = match &decision {
        Some(d) => d.agency.clone(),
        None => service.default_agency.clone(),
    };
    let due = match deadlines.rules_for(&service.code, &service.deadline_regime) {
        Some(rules) => rules.due_at_intake(now, request.agency.is_some()),
        None => {
            tracing::warn!(service = %service.code, regime = %service.deadline_regime, "unknown deadline regime: no deadline set");
            Due::default()
        }
    };
    let prediction = decision.and_then(|d| d.prediction);
    let created = store.create_triaged_request(&request, &new_tracking_token(request.created_at), due, prediction.as_ref()).await?;
    if created.created
        && let Err(e) = crate::problems::attach(store, &app.rules.problems, &created.request, now).await
    {
        tracing::warn!(request = created.request.id.0, error = %e, "attaching to a systemic problem failed; the next scan links it");
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;

    #[test]
    fn tracking_tokens_sort_by_their_creation_minute() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let times = ["1969-07-20T20:17:00Z", "1970-01-01T00:00:59Z", "2021-03-26T08:00:00Z", "2021-03-26T08:01:00Z", "2026-11-22T10:00:00Z"];
        let tokens: Vec<String> = times.iter().map(|t| tracking_token(t.parse().unwrap(), &mut rng)).collect();
        for token in &tokens {
            assert_eq!(token.len(), 16, "{token}");
            assert!(token.bytes().all(|b| TOKEN_ALPHABET.contains(&b)), "{token}");
        }
        assert_eq!(&tokens[0][..6], "222222", "before 1970 is minute zero");
        assert_eq!(&tokens[1][..6], "222222");
        assert!(tokens.windows(2).skip(1).all(|w| w[0] < w[1]), "{tokens:?}");
        let same_minute = tracking_token(Utc.with_ymd_and_hms(2021, 3, 26, 8, 0, 30).unwrap(), &mut rng);
        assert_eq!(same_minute[..6], tokens[2][..6]);
        assert_ne!(same_minute, tokens[2], "the random part differs");
    }
}
