//! Territory boundaries from GeoJSON (`okno import territories`): matched by name to the
//! territories already stored, checked, and stored all or none.

use crate::error::{AppError, Result};
use okno_core::text::{search_key, slug};
use okno_core::{Territory, TerritoryCode};
use okno_geo::{read_features, FeatureFields, Shape, TerritoryIndex};
use okno_store::{Store, StoredShape};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What to import: a file and how to read it.
#[derive(Debug, Clone)]
pub struct ImportTerritoriesArgs {
    /// A GeoJSON FeatureCollection of polygons and multipolygons (WGS84).
    pub file: PathBuf,
    /// The property holding each territory's name.
    pub name_field: String,
    /// The kind of the territories (`municipality`, `district`, …); a feature whose name
    /// matches a territory of this kind already stored gives that territory its boundary.
    pub kind: String,
    /// The property holding a code (default: made from the kind and the name).
    pub code_field: Option<String>,
    /// The code of the territory containing new ones.
    pub parent: Option<String>,
    /// The property holding the resident population (for per-1,000 rates).
    pub population_field: Option<String>,
    /// Keep a boundary whose ring crosses itself under the even-odd rule (reported) instead
    /// of refusing the file.
    pub repair: bool,
    /// Whom the boundaries are owed to, shown beside the map (default: the file's top-level
    /// `attribution` member, if it has one).
    pub attribution: Option<String>,
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
pub fn stored_shape(territory_code: &str, shape: &Shape, attribution: Option<&str>) -> StoredShape {
    StoredShape {
        territory_code: territory_code.into(), geometry: shape.to_geojson().to_string(), area_km2: shape.area_km2(),
        attribution: attribution.map(str::to_owned),
    }
}

/// The `attribution` member of a GeoJSON file, if it is a text.
fn file_attribution(text: &str) -> Option<String> {
    let file: serde_json::Value = serde_json::from_str(text).ok()?;
    file.get("attribution")?.as_str().map(str::to_owned)
}

/// Reads, checks and stores territories with their boundaries, all or none; returns a report.
pub async fn import_territories(store: &dyn Store, args: &ImportTerritoriesArgs) -> Result<Value> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| AppError::Input(format!("reading {}: {e}", args.file.display())))?;
    let fields = FeatureFields { name: args.name_field.clone(), code: args.code_field.clone(), population: args.population_field.clone(), repair: args.repair };
    let features = read_features(&text, &fields).map_err(|e| AppError::Input(format!("{}: {e}", args.file.display())))?;
    let attribution = args.attribution.clone().or_else(|| file_attribution(&text));
    let existing = store.territories().await?;
    if let Some(parent) = &args.parent
        && !existing.iter().any(|t| t.code == parent.as_str())
    {
        return Err(AppError::Input(format!("no territory with code {parent:?} to be the parent")));
    }
    let by_key: HashMap<String, &Territory> = existing.iter().filter(|t| t.kind == args.kind).map(|t| (name_key(&t.name_ru), t)).collect();
    let mut codes: BTreeMap<TerritoryCode, usize> = BTreeMap::new();
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
                code: feature.code.clone().unwrap_or_else(|| format!("{}-{}", args.kind, slug(&feature.name))).into(),
                name_ru: feature.name.clone(),
                name_en: feature.name.clone(),
                kind: args.kind.clone(),
                parent: args.parent.clone().map(Into::into),
                population: feature.population,
            },
        };
        if let Some(other) = codes.insert(territory.code.clone(), feature.number) {
            return Err(AppError::Input(format!("features {other} and {} ({}) would both be territory {:?}; give them distinct names or a --code-field", feature.number, feature.name, territory.code)));
        }
        let shape = stored_shape(&territory.code, &feature.shape, attribution.as_deref());
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
