//! The real boundary files in ../shared/data/geo read, checked and indexed.

use okno_geo::{read_features, FeatureFields, TerritoryIndex};
use std::path::PathBuf;

fn geo_file(name: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/geo").join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("SKIPPED: {} is not here (the shared data sets are absent)", path.display());
            None
        }
    }
}

#[test]
fn every_real_boundary_file_reads_and_indexes() {
    for (file, name) in [
        ("spb_municipal_formations_osm_gislab.geojson", "name"),
        ("nyc_community_districts.geojson", "BoroCD"),
        ("nyc_borough_boundaries.geojson", "boro_name"),
        ("la_neighborhood_councils_2019.geojson", "name"),
        ("la_city_council_districts_2012.geojson", "name"),
        ("russia_federal_subjects_osm_gislab.geojson", "name"),
    ] {
        let Some(text) = geo_file(file) else { return };
        let fields = FeatureFields { name: name.into(), code: None, population: None, repair: true };
        let features = match read_features(&text, &fields) {
            Ok(f) => f,
            Err(e) => panic!("{file}: {e}"),
        };
        let repaired: Vec<String> = features.iter().filter_map(|f| f.repaired.as_ref().map(|r| format!("{}: {r}", f.name))).collect();
        eprintln!("{file}: repaired {repaired:?}");
        let index = TerritoryIndex::new(features.into_iter().map(|f| (f.name, f.shape)).collect());
        let overlaps = index.overlaps();
        eprintln!("{file}: {} territories, {} overlapping pairs", index.len(), overlaps.len());
        for o in overlaps.iter().take(5) {
            eprintln!("  {} inside {} by {:.0} m at {:?}", o.corner_of, o.inside, o.depth_m, o.at);
        }
    }
}
