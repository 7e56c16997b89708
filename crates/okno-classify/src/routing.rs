//! Routing by place and topic. Which agency answers depends on where the request is and what
//! it is about: the same topic goes to a different body in each district, and a district's
//! share of topics differs. The table counts, from past requests, which agency answered each
//! topic in each place, backed off (for pairs seen rarely) to which role answers the topic
//! anywhere, filled in with the place (see [`crate::roles`]).
//!
//! At prediction the topic is not known for sure: the table is read under the topic model's
//! probabilities, `P(agency) = Σ_topic P(topic | text) · P(agency | place, topic)`, and mixed
//! with the agency model's own text-and-place probabilities.

use crate::roles::RoleTable;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Pseudo-count given to the role-by-topic backoff in each place × topic cell.
const SMOOTHING: f32 = 2.0;

/// Weight of the table against the agency model's own probabilities (chosen on a validation
/// slice of the St. Petersburg training list: 0.6 was best for accuracy, 0.5 for macro-F1).
pub const TABLE_WEIGHT: f32 = 0.6;

/// How many of a topic model's best topics to read the table under (the rest carry little
/// probability).
pub const TOPICS_READ: usize = 20;

/// Counts of answering agencies by place and topic, and of roles by topic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingTable {
    /// Place → topic → agency → requests.
    pub by_place_topic: BTreeMap<String, BTreeMap<String, BTreeMap<String, u32>>>,
    /// Topic → role (or city-wide agency) → requests.
    pub roles_by_topic: BTreeMap<String, BTreeMap<String, u32>>,
}

impl RoutingTable {
    /// Counts (place, topic, agency) triples of past requests; agencies are pooled into their
    /// roles for the backoff.
    pub fn learn<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>, roles: &RoleTable) -> RoutingTable {
        let mut table = RoutingTable::default();
        for (place, topic, agency) in rows {
            if topic.is_empty() || agency.is_empty() {
                continue;
            }
            *table.by_place_topic.entry(place.to_owned()).or_default().entry(topic.to_owned()).or_default().entry(agency.to_owned()).or_default() += 1;
            *table.roles_by_topic.entry(topic.to_owned()).or_default().entry(roles.label(agency).to_owned()).or_default() += 1;
        }
        table
    }

    /// Whether nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.roles_by_topic.is_empty()
    }

    /// Agency probabilities in a place given topic probabilities (unknown topics add nothing;
    /// the result sums to the known topics' share).
    pub fn agencies(&self, place: &str, topics: &[(String, f32)], roles: &RoleTable) -> BTreeMap<String, f32> {
        let mut out: BTreeMap<String, f32> = BTreeMap::new();
        for (topic, p_topic) in topics {
            for (agency, p) in self.cell(place, topic, roles) {
                *out.entry(agency).or_default() += p_topic * p;
            }
        }
        out
    }

    /// `P(agency | place, topic)`: the agencies that answered the topic there, smoothed towards
    /// the roles that answer it anywhere, played in that place. Empty for an unknown topic.
    fn cell(&self, place: &str, topic: &str, roles: &RoleTable) -> Vec<(String, f32)> {
        let Some(by_role) = self.roles_by_topic.get(topic) else { return Vec::new() };
        let (labels, counts): (Vec<String>, Vec<f32>) = by_role.iter().map(|(r, &n)| (r.clone(), n as f32)).unzip();
        let backoff = roles.expand(&labels, &counts, place);
        let seen = self.by_place_topic.get(place).and_then(|t| t.get(topic));
        let n = seen.map_or(0, |a| a.values().sum::<u32>()) as f32;
        let total = n + if backoff.is_empty() { 0.0 } else { SMOOTHING };
        if total == 0.0 {
            return Vec::new();
        }
        let mut cell: BTreeMap<String, f32> = backoff.into_iter().map(|(agency, q)| (agency, SMOOTHING * q / total)).collect();
        for (agency, &count) in seen.into_iter().flatten() {
            *cell.entry(agency.clone()).or_default() += count as f32 / total;
        }
        cell.into_iter().collect()
    }

    /// The table with every known place × topic cell worked out, for fast prediction.
    pub(crate) fn compile(&self, roles: &RoleTable) -> CompiledRouting {
        let mut compiled = CompiledRouting::default();
        let mut agency_ids: HashMap<String, u32> = HashMap::new();
        compiled.topics = self.roles_by_topic.keys().enumerate().map(|(i, t)| (t.clone(), i)).collect();
        for (p, place) in self.by_place_topic.keys().enumerate() {
            compiled.places.insert(place.clone(), p);
            for topic in self.roles_by_topic.keys() {
                let cell = self.cell(place, topic, roles).into_iter().map(|(agency, q)| {
                    let next = agency_ids.len() as u32;
                    let id = *agency_ids.entry(agency.clone()).or_insert_with(|| {
                        compiled.agencies.push(agency);
                        next
                    });
                    (id, q)
                });
                compiled.cells.push(cell.collect());
            }
        }
        compiled
    }
}

/// A [`RoutingTable`] with its cells worked out for the places it knows.
#[derive(Debug, Default)]
pub(crate) struct CompiledRouting {
    agencies: Vec<String>,
    places: HashMap<String, usize>,
    topics: HashMap<String, usize>,
    /// Cell of place `p` and topic `t` at `p * topics + t`: (agency id, probability).
    cells: Vec<Vec<(u32, f32)>>,
}

impl CompiledRouting {
    /// [`RoutingTable::agencies`], read from the worked-out cells; `None` for a place the
    /// table does not know (the caller works it out from the table).
    pub(crate) fn agencies(&self, place: &str, topics: &[(String, f32)]) -> Option<BTreeMap<String, f32>> {
        let base = self.places.get(place)? * self.topics.len();
        let mut dense = vec![0f32; self.agencies.len()];
        for (topic, p_topic) in topics {
            if let Some(t) = self.topics.get(topic) {
                for &(agency, q) in &self.cells[base + t] {
                    dense[agency as usize] += p_topic * q;
                }
            }
        }
        Some(self.agencies.iter().zip(dense).filter(|(_, p)| *p > 0.0).map(|(a, p)| (a.clone(), p)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_goes_where_it_went_in_that_place_and_unseen_places_use_the_role() {
        let mut rows = vec![("Невский", "яма", "ЖА Невского района"); 8];
        rows.extend(vec![("Невский", "яма", "Комитет по дорогам"); 2]);
        rows.extend(vec![("Приморский", "яма", "ЖА Приморского района"); 10]);
        rows.extend(vec![("Кировский", "снег", "ЖА Кировского района"); 10]);
        let pairs: Vec<(&str, &str)> = rows.iter().map(|(p, _, a)| (*a, *p)).collect();
        let roles = RoleTable::learn(pairs);
        let table = RoutingTable::learn(rows.iter().copied(), &roles);
        let nevsky = table.agencies("Невский", &[("яма".into(), 1.0)], &roles);
        assert!(nevsky["ЖА Невского района"] > 0.8 && nevsky["Комитет по дорогам"] > 0.1);
        assert!((nevsky.values().sum::<f32>() - 1.0).abs() < 1e-5);
        let kirovsky = table.agencies("Кировский", &[("яма".into(), 0.5), ("неизвестно".into(), 0.5)], &roles);
        let best = kirovsky.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
        assert_eq!(best.0, "ЖА Кировского района", "the role of potholes, played in Кировский");
        assert!((kirovsky.values().sum::<f32>() - 0.5).abs() < 1e-5, "an unknown topic adds nothing");
        let compiled = table.compile(&roles);
        for (place, topics) in [("Невский", vec![("яма".to_owned(), 0.7), ("снег".to_owned(), 0.3)]), ("Кировский", vec![("яма".to_owned(), 1.0)])] {
            let fast = compiled.agencies(place, &topics).unwrap();
            let slow = table.agencies(place, &topics, &roles);
            assert_eq!(fast.keys().collect::<Vec<_>>(), slow.keys().collect::<Vec<_>>());
            assert!(fast.iter().zip(&slow).all(|(a, b)| (a.1 - b.1).abs() < 1e-6));
        }
        assert!(compiled.agencies("Пушкинский", &[("яма".into(), 1.0)]).is_none());
    }
}
