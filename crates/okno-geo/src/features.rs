//! Reading territories from a GeoJSON FeatureCollection: each feature's name (and optionally
//! code and population) from named properties, its shape checked. A feature that cannot be
//! read is an error naming it; nothing is dropped silently. A ring that crosses itself is an
//! error too, unless repairs are allowed: then the shape is kept under the even-odd rule (a
//! point is inside when a ray from it crosses the boundary an odd number of times, so a
//! figure-of-eight keeps both lobes) and the feature carries a note saying where.

use crate::shape::{Shape, ShapeError};

/// Which properties to read.
#[derive(Debug, Clone)]
pub struct FeatureFields {
    /// The property holding the territory's name.
    pub name: String,
    /// The property holding a code (default: derived from the name).
    pub code: Option<String>,
    /// The property holding the resident population.
    pub population: Option<String>,
    /// Keep shapes whose rings cross themselves (even-odd rule), with a note, instead of
    /// refusing the file.
    pub repair: bool,
}

/// One territory read from a feature.
#[derive(Debug, Clone)]
pub struct TerritoryFeature {
    /// Its position in the collection (from 1).
    pub number: usize,
    /// Its name.
    pub name: String,
    /// Its code, when the file has a code property.
    pub code: Option<String>,
    /// Its population, when the file has one.
    pub population: Option<i64>,
    /// Its shape.
    pub shape: Shape,
    /// What was repaired, when something was.
    pub repaired: Option<String>,
}

/// Why a file or a feature was refused.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// Not GeoJSON, or not a FeatureCollection.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotAFeatureCollection(String),
    /// A feature without the name property.
    #[error("feature {number}: no property {field:?} (properties present: {present})")]
    MissingName {
        /// The feature's position (from 1).
        number: usize,
        /// The property asked for.
        field: String,
        /// The properties it has.
        present: String,
    },
    /// A feature whose population is not a whole number.
    #[error("feature {number} ({name}): population {value} is not a whole number ≥ 0")]
    BadPopulation {
        /// The feature's position (from 1).
        number: usize,
        /// Its name.
        name: String,
        /// The value found.
        value: String,
    },
    /// A feature whose geometry was refused.
    #[error("feature {number} ({name}): {error}")]
    Shape {
        /// The feature's position (from 1).
        number: usize,
        /// Its name.
        name: String,
        /// Why.
        error: ShapeError,
    },
}

/// A property as text (strings as they are, numbers written out).
fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads every feature of a FeatureCollection; the first feature that cannot be read stops
/// the reading with an error naming it.
pub fn read_features(geojson: &str, fields: &FeatureFields) -> Result<Vec<TerritoryFeature>, FeatureError> {
    let root: serde_json::Value = serde_json::from_str(geojson).map_err(|e| FeatureError::NotAFeatureCollection(e.to_string()))?;
    if root.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err(FeatureError::NotAFeatureCollection("the top-level type is not FeatureCollection".into()));
    }
    let features = root.get("features").and_then(|f| f.as_array()).ok_or_else(|| FeatureError::NotAFeatureCollection("no features array".into()))?;
    features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            let number = i + 1;
            let empty = serde_json::Map::new();
            let properties = feature.get("properties").and_then(|p| p.as_object()).unwrap_or(&empty);
            let name = properties.get(&fields.name).and_then(text).ok_or_else(|| FeatureError::MissingName {
                number,
                field: fields.name.clone(),
                present: properties.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
            let code = fields.code.as_ref().and_then(|f| properties.get(f)).and_then(text);
            let population = match fields.population.as_ref().and_then(|f| properties.get(f)) {
                None | Some(serde_json::Value::Null) => None,
                Some(value) => Some(text(value).and_then(|t| t.parse::<i64>().ok()).filter(|p| *p >= 0).ok_or_else(|| {
                    FeatureError::BadPopulation { number, name: name.clone(), value: value.to_string() }
                })?),
            };
            let geometry = feature.get("geometry").unwrap_or(&serde_json::Value::Null);
            let refused = |error| FeatureError::Shape { number, name: name.clone(), error };
            let shape = Shape::from_geojson(geometry).map_err(refused)?;
            let repaired = match shape.check_rings() {
                Ok(()) => None,
                Err(error) if fields.repair => Some(format!("{error}; kept under the even-odd rule")),
                Err(error) => return Err(refused(error)),
            };
            Ok(TerritoryFeature { number, name, code, population, shape, repaired })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> FeatureFields {
        FeatureFields { name: "name".into(), code: Some("id".into()), population: Some("pop".into()), repair: false }
    }

    fn collection(features: &str) -> String {
        format!(r#"{{"type": "FeatureCollection", "features": [{features}]}}"#)
    }

    const SQUARE: &str = r#"{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#;

    #[test]
    fn names_codes_and_populations_are_read() {
        let file = collection(&format!(r#"{{"type": "Feature", "properties": {{"name": "Автово", "id": 12, "pop": "50000"}}, "geometry": {SQUARE}}}"#));
        let read = read_features(&file, &fields()).unwrap();
        assert_eq!((read[0].name.as_str(), read[0].code.as_deref(), read[0].population), ("Автово", Some("12"), Some(50_000)));
    }

    #[test]
    fn a_bad_feature_is_named() {
        let unnamed = collection(&format!(r#"{{"type": "Feature", "properties": {{"title": "x"}}, "geometry": {SQUARE}}}"#));
        let error = read_features(&unnamed, &fields()).unwrap_err().to_string();
        assert!(error.contains("feature 1") && error.contains("\"name\"") && error.contains("title"), "{error}");
        let bow_tie = collection(r#"{"type": "Feature", "properties": {"name": "Петля"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[2,2],[2,0],[0,2],[0,0]]]}}"#);
        let error = read_features(&bow_tie, &fields()).unwrap_err().to_string();
        assert!(error.contains("feature 1 (Петля)") && error.contains("crosses itself"), "{error}");
        let kept = read_features(&bow_tie, &FeatureFields { repair: true, ..fields() }).unwrap();
        assert!(kept[0].repaired.as_deref().is_some_and(|r| r.contains("even-odd")));
        let negative = collection(&format!(r#"{{"type": "Feature", "properties": {{"name": "a", "pop": -5}}, "geometry": {SQUARE}}}"#));
        assert!(matches!(read_features(&negative, &fields()), Err(FeatureError::BadPopulation { .. })));
        assert!(matches!(read_features("[1,2]", &fields()), Err(FeatureError::NotAFeatureCollection(_))));
    }
}
