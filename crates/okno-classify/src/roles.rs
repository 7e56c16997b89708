//! Agencies as a role in a territory. In a region, many agencies are one role repeated per
//! district ("Жилищное агентство Невского района", "… Приморского района"); which one is
//! responsible depends on the place, which is not a text problem. Learning the role from the
//! text (pooled over all districts) and filling in the request's district predicts the agency
//! far better than learning seventy agencies apart.
//!
//! A role is found from the data alone: an agency whose requests come (nearly) all from one
//! territory and whose name contains that territory's name (by a stem of its first word) gets
//! the role "its name with the territory replaced by `{territory}`".

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Placeholder for the territory in a role's name.
pub const TERRITORY: &str = "{territory}";

/// Share of an agency's requests that must come from one territory for it to be territorial.
const DOMINANT_SHARE: f64 = 0.9;

/// Letters of a territory's first word compared with the agency's name (Russian inflects the
/// ending: "Невский" → "Невского").
const STEM_CHARS: usize = 5;

/// Roles and, for each, the agency that plays it in each territory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleTable {
    /// Agency → its role (only territorial agencies are listed).
    pub role_of: BTreeMap<String, String>,
    /// Role → territory → agency.
    pub agency_of: BTreeMap<String, BTreeMap<String, String>>,
}

fn stem(word: &str) -> String {
    word.chars().flat_map(char::to_lowercase).take(STEM_CHARS).collect()
}

/// Where in `name` a word starting with the territory's stem is: (start, end) byte offsets.
fn territory_word(name: &str, territory: &str) -> Option<(usize, usize)> {
    let first = territory.split_whitespace().next()?;
    if first.chars().count() < STEM_CHARS {
        return None;
    }
    let wanted = stem(first);
    let mut start = None;
    for (i, c) in name.char_indices().chain(std::iter::once((name.len(), ' '))) {
        match (c.is_alphanumeric() || c == '-', start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if stem(&name[s..i]) == wanted {
                    return Some((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

impl RoleTable {
    /// Learns roles from (agency, territory) pairs of past requests.
    pub fn learn<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> RoleTable {
        let mut by_agency: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        for (agency, territory) in pairs {
            *by_agency.entry(agency).or_default().entry(territory).or_default() += 1;
        }
        let mut table = RoleTable::default();
        let mut agencies: Vec<_> = by_agency.into_iter().collect();
        agencies.sort_by(|a, b| a.0.cmp(b.0));
        for (agency, territories) in agencies {
            let total: usize = territories.values().sum();
            let Some((&territory, &count)) = territories.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else { continue };
            if (count as f64) < DOMINANT_SHARE * total as f64 {
                continue;
            }
            let Some((s, e)) = territory_word(agency, territory) else { continue };
            let role = format!("{}{TERRITORY}{}", &agency[..s], &agency[e..]);
            table.role_of.insert(agency.to_owned(), role.clone());
            table.agency_of.entry(role).or_default().insert(territory.to_owned(), agency.to_owned());
        }
        table
    }

    /// The label a model learns for an agency: its role, or the agency itself.
    pub fn label<'a>(&'a self, agency: &'a str) -> &'a str {
        self.role_of.get(agency).map_or(agency, String::as_str)
    }

    /// Agency probabilities from label probabilities in a territory: a role becomes the agency
    /// playing it there (a role nobody plays there is dropped), most probable first.
    pub fn expand(&self, labels: &[String], probabilities: &[f32], territory: &str) -> Vec<(String, f32)> {
        let mut out: BTreeMap<&str, f32> = BTreeMap::new();
        for (label, &p) in labels.iter().zip(probabilities) {
            let agency = match self.agency_of.get(label) {
                Some(by_territory) => match by_territory.get(territory) {
                    Some(agency) => agency.as_str(),
                    None => continue,
                },
                None => label.as_str(),
            };
            *out.entry(agency).or_default() += p;
        }
        let total: f32 = out.values().sum();
        by_probability(out.into_iter().map(|(a, p)| (a.to_owned(), if total > 0.0 { p / total } else { 0.0 })))
    }
}

/// (label, probability) pairs most probable first, ties by label.
pub fn by_probability(pairs: impl IntoIterator<Item = (String, f32)>) -> Vec<(String, f32)> {
    let mut ranked: Vec<(String, f32)> = pairs.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RoleTable {
        let mut pairs = vec![("ЖА Невского района", "Невский"); 20];
        pairs.extend(vec![("ЖА Приморского района", "Приморский"); 20]);
        pairs.push(("ЖА Приморского района", "Невский"));
        pairs.extend(vec![("Комитет по энергетике", "Невский"), ("Комитет по энергетике", "Приморский")]);
        pairs.extend(vec![("Администрация Кировского района", "Невский"); 3]);
        RoleTable::learn(pairs)
    }

    #[test]
    fn territorial_agencies_share_a_role() {
        let t = table();
        assert_eq!(t.label("ЖА Невского района"), "ЖА {territory} района");
        assert_eq!(t.label("ЖА Приморского района"), "ЖА {territory} района");
        assert_eq!(t.label("Комитет по энергетике"), "Комитет по энергетике", "city-wide");
        assert_eq!(t.label("Администрация Кировского района"), "Администрация Кировского района", "name does not match its territory");
    }

    #[test]
    fn expansion_fills_in_the_territory_and_renormalizes() {
        let t = table();
        let labels = vec!["ЖА {territory} района".to_owned(), "Комитет по энергетике".to_owned()];
        let ranked = t.expand(&labels, &[0.75, 0.25], "Приморский");
        assert_eq!(ranked, vec![("ЖА Приморского района".to_owned(), 0.75), ("Комитет по энергетике".to_owned(), 0.25)]);
        let nowhere = t.expand(&labels, &[0.75, 0.25], "Курортный");
        assert_eq!(nowhere, vec![("Комитет по энергетике".to_owned(), 1.0)]);
    }
}
