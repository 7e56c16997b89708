//! The single intake path: every channel (JSON API, web form, Open311, operator entry) turns
//! its input into a [`RequestDraft`] and submits it here, so validation, routing to the
//! service's default agency, the initial deadline and storage are the same for all.

use crate::error::ApiError;
use chrono::{DateTime, SubsecRound, Utc};
use okno_core::deadline::{DeadlineConfig, Due};
use okno_core::{Channel, NewRequest, RequestDraft};
use okno_store::{Created, Store};
use rand::Rng;

/// A new public tracking token: 16 characters from an alphabet without look-alikes (~80 bits).
pub fn new_tracking_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Validates and stores a request from any channel. `source_system` names the client that
/// sent it (its `source_id`, if any, makes retries idempotent). Its deadlines follow its
/// service's regime in `deadlines` (none if the regime is unknown there).
pub async fn submit(
    store: &dyn Store,
    deadlines: &DeadlineConfig,
    draft: RequestDraft,
    channel: Channel,
    source_system: Option<String>,
    now: DateTime<Utc>,
) -> Result<Created, ApiError> {
    let now = now.trunc_subsecs(6);
    let service = match draft.service_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => store.service(code).await?,
        None => None,
    };
    let mut request = NewRequest::validate(draft, service.as_ref(), channel, source_system, now)?;
    if let Some(territory) = &request.territory
        && !store.territories().await?.iter().any(|t| &t.code == territory)
    {
        return Err(ApiError::field("territory", format!("no territory with code {territory:?}")));
    }
    let service = service.ok_or_else(|| ApiError::Internal("validated request without a service".into()))?;
    request.agency = service.default_agency.clone();
    let due = match deadlines.rules_for(&service.code, &service.deadline_regime) {
        Some(rules) => rules.due_at_intake(now, request.agency.is_some()),
        None => {
            tracing::warn!(service = %service.code, regime = %service.deadline_regime, "unknown deadline regime: no deadline set");
            Due::default()
        }
    };
    Ok(store.create_request(&request, &new_tracking_token(), due).await?)
}
