//! `okno import territories` and `okno reindex`: territory boundaries from GeoJSON, and every
//! request with a point placed in them.

use anyhow::{bail, Context, Result};
use okno_core::text::{search_key, slug};
use okno_core::Territory;
use okno_geo::{read_features, FeatureFields, Shape, TerritoryIndex};
use okno_store::{PlacementUpdate, Store, StoredShape};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Requests placed per transaction by `okno reindex`.
const REINDEX_PAGE: u32 = 10_000;

/// What `okno import territories` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportTerritoriesArgs {
    /// A GeoJSON FeatureCollection of polygons and multipolygons (WGS84).
    pub file: PathBuf,
    /// The property holding each territory's name.
    #[arg(long)]
    pub name_field: String,
    /// The kind of the territories (`municipality`, `district`, …); a feature whose name
    /// matches a territory of this kind already stored gives that territory its boundary.
    #[arg(long, default_value = "municipality")]
    pub kind: String,
    /// The property holding a code (default: made from the kind and the name).
    #[arg(long)]
    pub code_field: Option<String>,
    /// The code of the territory containing new ones.
    #[arg(long)]
    pub parent: Option<String>,
    /// The property holding the resident population (for per-1,000 rates).
    #[arg(long)]
    pub population_field: Option<String>,
    /// Keep a boundary whose ring crosses itself under the even-odd rule (reported) instead
    /// of refusing the file.
    #[arg(long)]
    pub repair: bool,
}

/// A territory name as compared across sources: lower case, `ё` as `е`, without the words for
/// the kind of unit ("муниципальный округ", "город", "поселок"), the number sign, and spaces
/// around hyphens ("муниципальный округ Лахта - Ольгино" and "Лахта-Ольгино" compare equal).
pub fn name_key(name: &str) -> String {
    const KIND_WORDS: [&str; 6] = ["муниципальный округ ", "муниципальное образование ", "город ", "поселок ", "округ ", "мо "];
    let mut key = search_key(name).replace('№', " ").replace(" -", "-").replace("- ", "-");
    key = search_key(&key);
    while let Some(rest) = KIND_WORDS.iter().find_map(|w| key.strip_prefix(w)) {
        key = rest.trim().to_owned();
    }
    key
}

/// A territory's boundary as the store keeps it.
pub fn stored_shape(territory_code: &str, shape: &Shape) -> StoredShape {
    StoredShape { territory_code: territory_code.to_owned(), geometry: shape.to_geojson().to_string(), area_km2: shape.area_km2() }
}

/// Reads, checks and stores territories with their boundaries, all or none; returns a report.
pub async fn import_territories(store: &dyn Store, args: &ImportTerritoriesArgs) -> Result<Value> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let fields = FeatureFields { name: args.name_field.clone(), code: args.code_field.clone(), population: args.population_field.clone(), repair: args.repair };
    let features = read_features(&text, &fields).with_context(|| format!("{}", args.file.display()))?;
    let existing = store.territories().await?;
    if let Some(parent) = &args.parent
        && !existing.iter().any(|t| &t.code == parent)
    {
        bail!("no territory with code {parent:?} to be the parent");
    }
    let by_key: HashMap<String, &Territory> = existing.iter().filter(|t| t.kind == args.kind).map(|t| (name_key(&t.name_ru), t)).collect();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let keys: Vec<String> = features.iter().map(|f| name_key(&f.name)).collect();
    let mut shapes = Vec::with_capacity(features.len());
    let mut matched = 0;
    for (feature, key) in features.iter().zip(&keys) {
        let known = by_key.get(key);
        let territory = match known {
            Some(t) => {
                matched += 1;
                Territory { population: feature.population.or(t.population), ..(*t).clone() }
            }
            None => Territory {
                code: feature.code.clone().unwrap_or_else(|| format!("{}-{}", args.kind, slug(&feature.name))),
                name_ru: feature.name.clone(),
                name_en: feature.name.clone(),
                kind: args.kind.clone(),
                parent: args.parent.clone(),
                population: feature.population,
            },
        };
        if let Some(other) = codes.insert(territory.code.clone(), feature.number) {
            bail!("features {other} and {} ({}) would both be territory {:?}; give them distinct names or a --code-field", feature.number, feature.name, territory.code);
        }
        let shape = stored_shape(&territory.code, &feature.shape);
        shapes.push((territory, shape));
    }
    let index = TerritoryIndex::new(features.iter().map(|f| (f.name.clone(), f.shape.clone())).collect());
    let overlaps = index.overlaps();
    store.put_territory_shapes(&shapes).await?;
    let mut without_boundary: Vec<&str> = by_key.iter().filter(|(key, _)| !keys.contains(key)).map(|(_, t)| t.name_ru.as_str()).collect();
    without_boundary.sort_unstable();
    Ok(json!({
        "file": args.file, "territories": features.len(), "matched_existing": matched, "new": features.len() - matched,
        "existing_of_this_kind_without_boundary": without_boundary,
        "repaired": features.iter().filter_map(|f| f.repaired.as_ref().map(|r| json!({"feature": f.number, "name": f.name, "repair": r}))).collect::<Vec<_>>(),
        "overlaps": overlaps,
        "overlap_rule": "a point in two territories belongs to the smaller",
        "next": "run `okno reindex` to place the stored requests, and POST /api/v1/territories/reload (or restart `okno serve`) to place new ones",
    }))
}

/// Places every request with a point in the stored boundaries; a request whose point lies in
/// no territory keeps the territory it had and is flagged. Returns a report.
pub async fn reindex(store: &dyn Store) -> Result<Value> {
    let index = okno_server::places::load_boundaries(store).await.map_err(|e| anyhow::anyhow!("{e}"))?.index;
    if index.is_empty() {
        bail!("no territory boundaries are stored; import them first with `okno import territories`");
    }
    let started = std::time::Instant::now();
    let (mut after, mut seen, mut changed, mut moved, mut had_territory, mut agreed) = (0i64, 0u64, 0u64, 0u64, 0u64, 0u64);
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
                agreed += u64::from(located.territory == placement.territory);
            }
            let territory = placement.territory.clone().or_else(|| located.territory.clone());
            let location = okno_server::places::location(&placement);
            if territory != located.territory || location != located.location {
                moved += u64::from(territory != located.territory);
                changed += 1;
                updates.push(PlacementUpdate { request_id: located.request_id, territory, location });
            }
        }
        store.set_placements(&updates).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "requests_with_points": seen, "updated": changed, "territory_changed": moved, "flagged": flags,
        "had_a_territory_and_placed": had_territory,
        "same_territory_as_before_share": if had_territory > 0 { agreed as f64 / had_territory as f64 } else { 0.0 },
        "seconds": seconds, "requests_per_s": seen as f64 / seconds.max(1e-9),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_portal_and_the_boundary_file_meet() {
        assert_eq!(name_key("муниципальный округ Лахта - Ольгино"), name_key("Лахта-Ольгино"));
        assert_eq!(name_key("муниципальный округ №15"), name_key("Муниципальный округ № 15"));
        assert_eq!(name_key("поселок Саперный"), name_key("Сапёрный"));
        assert_eq!(name_key("муниципальный округ Адмиралтейский округ"), name_key("Адмиралтейский округ"));
        assert_eq!(name_key("муниципальный округ  Измайловское"), "измайловское");
        assert_ne!(name_key("город Пушкин"), name_key("Павловск"));
    }
}
