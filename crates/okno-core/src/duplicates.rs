//! Likely duplicates of a request: open requests of the same service near the same point,
//! recently filed, ranked by how alike their texts are and how close they lie.

use crate::request::{Coordinates, Request};
use crate::text::search_key;
use serde::Serialize;
use std::collections::HashSet;
use utoipa::ToSchema;

/// How far and how far back to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicateRules {
    /// Search radius in metres.
    pub radius_m: f64,
    /// Days back from now.
    pub days: i64,
    /// Most suggestions returned.
    pub limit: usize,
}

impl Default for DuplicateRules {
    fn default() -> Self {
        DuplicateRules { radius_m: 200.0, days: 30, limit: 10 }
    }
}

/// A request suggested as a duplicate, with why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    /// The open request.
    pub request: Request,
    /// Metres between the two points.
    pub distance_m: f64,
    /// Trigram similarity of the texts, 0 to 1.
    pub text_similarity: f64,
    /// The rank: 0.6 × text similarity + 0.4 × nearness (1 at the same point, 0 at the radius).
    pub score: f64,
}

/// Metres between two points on a sphere of the Earth's mean radius.
pub fn distance_m(a: Coordinates, b: Coordinates) -> f64 {
    let (la, lb) = (a.lat.to_radians(), b.lat.to_radians());
    let (dlat, dlon) = (lb - la, (b.lon - a.lon).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().min(1.0).asin()
}

/// The character trigrams of a text's words (each padded with spaces), case and `ё` folded:
/// robust to the endings Russian words change by. Built once per text when many are compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trigrams(HashSet<[char; 3]>);

impl Trigrams {
    /// The trigrams of `text`.
    pub fn of(text: &str) -> Self {
        let mut grams = HashSet::new();
        for word in search_key(text).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let chars: Vec<char> = std::iter::once(' ').chain(word.chars()).chain([' ', ' ']).collect();
            grams.extend(chars.windows(3).map(|w| [w[0], w[1], w[2]]));
        }
        Trigrams(grams)
    }

    /// Jaccard similarity of the two sets (0 when either text has no words).
    pub fn similarity(&self, other: &Trigrams) -> f64 {
        let shared = self.0.intersection(&other.0).count();
        let union = self.0.len() + other.0.len() - shared;
        if union == 0 { 0.0 } else { shared as f64 / union as f64 }
    }
}

/// Jaccard similarity of two texts' trigram sets (0 when either has no words).
pub fn text_similarity(a: &str, b: &str) -> f64 {
    Trigrams::of(a).similarity(&Trigrams::of(b))
}

/// Ranks `candidates` (open requests of the service, already narrowed to the area and period)
/// against a new request's point and text: those within the radius, best first.
pub fn rank(point: Coordinates, text: &str, candidates: Vec<Request>, rules: &DuplicateRules) -> Vec<Suggestion> {
    let mut found: Vec<Suggestion> = candidates
        .into_iter()
        .filter_map(|request| {
            let distance_m = distance_m(point, request.coordinates?);
            if distance_m > rules.radius_m {
                return None;
            }
            let text_similarity = text_similarity(text, &request.text);
            let score = 0.6 * text_similarity + 0.4 * (1.0 - distance_m / rules.radius_m);
            Some(Suggestion { request, distance_m, text_similarity, score })
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.request.id.cmp(&b.request.id)));
    found.truncate(rules.limit);
    found
}

/// The box around `point` that holds the circle of `radius_m`, as (min_lon, min_lat, max_lon, max_lat).
pub fn bbox_around(point: Coordinates, radius_m: f64) -> (f64, f64, f64, f64) {
    let dlat = radius_m / 111_320.0;
    let dlon = radius_m / (111_320.0 * point.lat.to_radians().cos().max(0.01));
    (point.lon - dlon, point.lat - dlat, point.lon + dlon, point.lat + dlat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kilometre_north_is_a_kilometre() {
        let a = Coordinates { lat: 59.9, lon: 30.3 };
        let b = Coordinates { lat: 59.9 + 1000.0 / 111_195.0, lon: 30.3 };
        assert!((distance_m(a, b) - 1000.0).abs() < 1.0, "{}", distance_m(a, b));
    }

    #[test]
    fn texts_differing_in_word_endings_stay_alike() {
        let same = text_similarity("Яма на дороге у дома 5", "яма на дороге у дома 5");
        let endings = text_similarity("Глубокая яма на дороге", "глубокие ямы на дорогах");
        let other = text_similarity("Глубокая яма на дороге", "Не горит фонарь во дворе");
        assert_eq!(same, 1.0);
        assert!(endings > 0.3 && other < 0.1, "{endings} {other}");
        assert_eq!(text_similarity("", "яма"), 0.0);
    }
}
