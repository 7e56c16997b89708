//! Where requests are: the territory boundaries in force for intake (loaded at start and
//! reloaded whole), what a placement stores, and the data-quality list of requests whose point
//! was flagged.

use crate::error::{AppError, Result};
use crate::in_force::InForce;
use crate::App;
use chrono::{DateTime, Utc};
use okno_core::{Location, Principal, Request, RequestId, TerritoryCode};
pub use okno_geo::{stored_cells_within, Place, PlaceKind};
use okno_geo::{Gazetteer, KnownAddress, LocationFlag, NamedTerritory, Placement, Shape, TerritoryIndex};
use okno_store::{PlacementUpdate, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Requests placed per transaction by `okno reindex`.
const REINDEX_PAGE: u32 = 10_000;

/// The territory boundaries intake places requests in.
pub struct Places {
    boundaries: InForce<Boundaries>,
}

/// Territory boundaries: indexed for placing points, and as GeoJSON geometry for maps.
pub struct Boundaries {
    /// The index points are placed with.
    pub index: TerritoryIndex,
    /// Each territory's boundary as a GeoJSON geometry, by code.
    pub geometry: HashMap<TerritoryCode, serde_json::Value>,
    /// Whom the boundaries are owed to, each once.
    pub attributions: Vec<String>,
    /// The territories and the addresses of stored requests, to find places by name and to
    /// place a request that has only an address.
    pub gazetteer: Gazetteer,
}

impl Default for Places {
    fn default() -> Self {
        Places { boundaries: InForce::new(Boundaries {
            index: TerritoryIndex::new(Vec::new()), geometry: HashMap::new(), attributions: Vec::new(), gazetteer: Gazetteer::default(),
        }) }
    }
}

impl Places {
    /// The boundaries in force.
    pub fn current(&self) -> Arc<Boundaries> {
        self.boundaries.current()
    }

    /// Reads the stored boundaries and puts them in force; returns how many there are. On an
    /// error the boundaries in force stay.
    pub async fn reload(&self, store: &dyn Store) -> Result<usize> {
        let boundaries = load(store, true).await?;
        let count = boundaries.index.len();
        self.boundaries.replace(boundaries);
        Ok(count)
    }
}

/// The stored boundaries, indexed, with a gazetteer of the territories alone (the addresses of
/// stored requests are read only for the boundaries put in force); a stored boundary that no
/// longer reads is an error naming its territory.
pub async fn load_boundaries(store: &dyn Store) -> Result<Boundaries> {
    load(store, false).await
}

/// The stored boundaries, their gazetteer holding the stored requests' addresses too when
/// `addresses`.
async fn load(store: &dyn Store, addresses: bool) -> Result<Boundaries> {
    let shapes = store.territory_shapes().await?;
    let names: HashMap<TerritoryCode, okno_core::Territory> = store.territories().await?.into_iter().map(|t| (t.code.clone(), t)).collect();
    let mut named = Vec::with_capacity(shapes.len());
    let mut territories = Vec::with_capacity(shapes.len());
    let mut geometries = HashMap::with_capacity(shapes.len());
    let mut attributions: Vec<String> = shapes.iter().filter_map(|s| s.attribution.clone()).collect();
    attributions.sort_unstable();
    attributions.dedup();
    for stored in shapes {
        let corrupt = |e: String| AppError::Internal(format!("stored boundary of {}: {e}", stored.territory_code));
        let geometry: serde_json::Value = serde_json::from_str(&stored.geometry).map_err(|e| corrupt(e.to_string()))?;
        let shape = Shape::from_geojson(&geometry).map_err(|e| corrupt(e.to_string()))?;
        if let Some(t) = names.get(&stored.territory_code) {
            named.push(NamedTerritory { code: t.code.to_string(), name_ru: t.name_ru.clone(), name_en: t.name_en.clone(), point: shape.inner_point() });
        }
        territories.push((stored.territory_code.to_string(), shape));
        geometries.insert(stored.territory_code, geometry);
    }
    let gazetteer = Gazetteer::new(named, if addresses { known_addresses(store).await? } else { Vec::new() });
    Ok(Boundaries { index: TerritoryIndex::new(territories), geometry: geometries, attributions, gazetteer })
}

/// The most used addresses of stored requests the gazetteer holds.
const GAZETTEER_ADDRESSES: u32 = 100_000;

/// The addresses of stored requests, for the gazetteer; those with personal data typed into
/// them (a flat's number, a phone) are left out, as the gazetteer's answers are public.
async fn known_addresses(store: &dyn Store) -> Result<Vec<KnownAddress>> {
    let used = store.known_addresses(GAZETTEER_ADDRESSES).await?;
    Ok(used
        .into_iter()
        .filter(|a| matches!(okno_core::privacy::mask_personal_data(&a.address), std::borrow::Cow::Borrowed(_)))
        .map(|a| KnownAddress {
            address: a.address, lat: a.lat, lon: a.lon, territory: a.territory.map(|t| t.to_string()),
            requests: u64::try_from(a.requests).unwrap_or(0),
        })
        .collect())
}

/// The longest text a place search takes, in characters.
pub const SEARCH_MAX_CHARS: usize = 200;

/// The places whose words begin with the words typed (territories, streets and addresses of
/// stored requests; at most [`SEARCH_MAX_CHARS`] typed), at most `limit` (1–50, default 10);
/// public.
pub fn search(app: &App, typed: &str, limit: Option<u32>) -> Result<Vec<Place>> {
    let limit = crate::paging::within("limit", limit, 10, 1..=50)?;
    if typed.chars().count() > SEARCH_MAX_CHARS {
        return Err(AppError::field("q", okno_core::ErrorCode::TooLong, format!("at most {SEARCH_MAX_CHARS} characters")));
    }
    Ok(app.places.current().gazetteer.search(typed, limit as usize).into_iter().cloned().collect())
}

/// Where a request that has an address but no point lies, when the gazetteer recognises the
/// address: placed at the known address's or street's point (its territory and cell), or only
/// in the territory the address names.
pub fn place_address(boundaries: &Boundaries, address: &str) -> Option<Placement> {
    let found = boundaries.gazetteer.locate(address)?;
    match found.kind {
        PlaceKind::Territory => Some(Placement { territory: found.territory.clone(), flag: None, cell: None }),
        _ => {
            let placed = boundaries.index.place(found.lat, found.lon);
            Some(Placement { territory: placed.territory.or_else(|| found.territory.clone()), ..placed })
        }
    }
}

/// What a placement stores beside the territory: the flag and the H3 cell.
pub fn location(placement: &Placement) -> Location {
    Location { flag: placement.flag, cell: placement.cell.and_then(|c| i64::try_from(c).ok()) }
}

/// Puts the stored territory boundaries in force for intake (after `okno import territories`),
/// audited as `admin`'s; how many there are.
pub async fn reload(app: &App, admin: &Principal, now: DateTime<Utc>) -> Result<usize> {
    crate::access::require_admin(admin)?;
    let territories = app.places.reload(app.store.as_ref()).await?;
    app.store.audit(&admin.login, "reload_territories", None, Some(&format!("{territories} boundaries")), now).await?;
    Ok(territories)
}

/// Requests whose point lies outside every territory, far outside the region, or had latitude
/// and longitude swapped (only those with `flag`, when given), by id after `after`, at most
/// `limit` (1–1,000); for staff who see every agency's requests.
pub async fn location_issues(app: &App, user: &Principal, flag: Option<LocationFlag>, after: RequestId, limit: Option<u32>) -> Result<Vec<Request>> {
    let limit = crate::paging::within("limit", limit, 100, 1..=1_000)?;
    if !user.can_read_request(None) {
        return Err(AppError::Forbidden("the data-quality view covers every agency's requests".into()));
    }
    let found = app.store.location_issues(flag.map(LocationFlag::as_str), after, limit).await?;
    Ok(found.into_iter().map(|r| crate::requests::shown_to(user, r)).collect())
}

/// Places every request with a point in the stored boundaries; a request whose point lies in
/// no territory keeps the territory it had and is flagged. Returns a report.
pub async fn reindex(store: &dyn Store) -> Result<serde_json::Value> {
    let index = load_boundaries(store).await?.index;
    if index.is_empty() {
        return Err(AppError::Input("no territory boundaries are stored; import them first with `okno import territories`".into()));
    }
    let started = std::time::Instant::now();
    let (mut after, mut seen, mut changed, mut moved, mut had_territory, mut agreed) = (RequestId(0), 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut flags: BTreeMap<&'static str, u64> = BTreeMap::new();
    loop {
        let page = store.locations(after, REINDEX_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.request_id;
        let mut updates = Vec::new();
        for located in &page {
            seen += 1;
            let placement = index.place(located.coordinates.lat, located.coordinates.lon);
            if let Some(flag) = placement.flag {
                *flags.entry(flag.as_str()).or_default() += 1;
            }
            if located.territory.is_some() && placement.territory.is_some() {
                had_territory += 1;
                agreed += u64::from(located.territory.as_deref() == placement.territory.as_deref());
            }
            let territory = placement.territory.clone().map(TerritoryCode::from).or_else(|| located.territory.clone());
            let location = location(&placement);
            if territory != located.territory || location != located.location {
                moved += u64::from(territory != located.territory);
                changed += 1;
                updates.push(PlacementUpdate { request_id: located.request_id, territory, location });
            }
        }
        store.set_placements(&updates).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "requests_with_points": seen, "updated": changed, "territory_changed": moved, "flagged": flags,
        "had_a_territory_and_placed": had_territory,
        "same_territory_as_before_share": if had_territory > 0 { agreed as f64 / had_territory as f64 } else { 0.0 },
        "seconds": seconds, "requests_per_s": seen as f64 / seconds.max(1e-9),
    }))
}
