//! A gazetteer made of what the region already knows, with no outside geocoder: its
//! territories (at a point inside each) and the addresses of its stored requests (each at the
//! middle of the points filed with it, and each street at the middle of its addresses). It
//! finds places by the beginnings of their words, and recognises a typed address: the known
//! address itself, else its street, else the settlement or territory it names.

use serde::Serialize;
use std::collections::HashMap;

/// What a gazetteer entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// A territory (a district, a city).
    Territory,
    /// A street of a settlement, from the addresses of requests.
    Street,
    /// An address of requests.
    Address,
}

/// A place the gazetteer knows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    /// Its name as shown (Russian).
    pub label: String,
    /// Its name in English, for territories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// What it is.
    pub kind: PlaceKind,
    /// Its territory's code, when known.
    pub territory: Option<String>,
    /// A point of it.
    pub lat: f64,
    /// A point of it.
    pub lon: f64,
    /// How many requests were filed at it (0 for a territory).
    pub requests: u64,
    #[serde(skip)]
    key: String,
}

/// A known address of requests: the address as typed, the middle of their points, their
/// territory and how many there were.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownAddress {
    /// The address as typed.
    pub address: String,
    /// The middle of the points filed with it.
    pub lat: f64,
    /// The middle of the points filed with it.
    pub lon: f64,
    /// The territory they lie in.
    pub territory: Option<String>,
    /// How many requests.
    pub requests: u64,
}

/// A named territory with a point inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTerritory {
    /// Its code.
    pub code: String,
    /// Its Russian name.
    pub name_ru: String,
    /// Its English name.
    pub name_en: String,
    /// A point inside it (latitude, longitude).
    pub point: (f64, f64),
}

/// The places a region knows, ready to search.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    places: Vec<Place>,
    by_key: HashMap<String, usize>,
}

/// A street's addresses added up: the middle of their points weighted by requests, and the
/// territory most of them lie in.
#[derive(Default)]
struct StreetTally {
    label: String,
    lat_sum: f64,
    lon_sum: f64,
    requests: u64,
    territories: HashMap<Option<String>, u64>,
}

/// Words with the same meaning written in different ways, as one.
const SYNONYMS: [(&str, &str); 7] =
    [("улица", "ул"), ("проспект", "пр"), ("пр-кт", "пр"), ("пр-т", "пр"), ("переулок", "пер"), ("площадь", "пл"), ("шоссе", "ш")];

/// Words for the kind of a settlement or a building, which people write or leave out as they
/// please ("г. Гатчина" and "Гатчина", "д. 12" and "12"): left out.
const KIND_WORDS: [&str; 13] = ["г", "город", "п", "пос", "поселок", "пгт", "рп", "с", "село", "д", "дер", "деревня", "дом"];

/// An address or a name as compared: lower case, `ё` as `е`, punctuation as spaces, the usual
/// abbreviations for the words of streets ("улица" → "ул"), without the words for a
/// settlement's or a building's kind.
pub fn address_key(text: &str) -> String {
    let lower = text.to_lowercase().replace('ё', "е");
    let spaced: String = lower.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { ' ' }).collect();
    spaced
        .split_whitespace()
        .filter(|w| !KIND_WORDS.contains(w))
        .map(|w| SYNONYMS.iter().find(|(long, _)| *long == w).map_or(w, |(_, short)| short))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The street part of an address key: the words before its house number ("гатчина ул
/// ленина 12" → "гатчина ул ленина"), if it has one.
fn street_key(key: &str) -> Option<&str> {
    let (street, house) = key.rsplit_once(' ')?;
    house.starts_with(|c: char| c.is_ascii_digit()).then_some(street)
}

impl Gazetteer {
    /// A gazetteer of the territories and the known addresses (and their streets).
    pub fn new(territories: Vec<NamedTerritory>, addresses: Vec<KnownAddress>) -> Gazetteer {
        let mut places = Vec::new();
        for t in territories {
            for (name, en) in [(t.name_ru.clone(), Some(t.name_en.clone())), (t.name_en.clone(), None)] {
                places.push(Place {
                    key: address_key(&name), label: name, label_en: en, kind: PlaceKind::Territory, territory: Some(t.code.clone()),
                    lat: t.point.0, lon: t.point.1, requests: 0,
                });
            }
        }
        let mut streets: HashMap<String, StreetTally> = HashMap::new();
        for a in &addresses {
            let key = address_key(&a.address);
            if let Some(street) = street_key(&key) {
                let tally = streets.entry(street.to_owned()).or_insert_with(|| StreetTally { label: street_label(&a.address), ..StreetTally::default() });
                let n = a.requests as f64;
                tally.lat_sum += a.lat * n;
                tally.lon_sum += a.lon * n;
                tally.requests += a.requests;
                *tally.territories.entry(a.territory.clone()).or_default() += a.requests;
            }
        }
        for (key, tally) in streets {
            let territory = tally.territories.into_iter().max_by_key(|(code, count)| (*count, code.clone())).and_then(|(code, _)| code);
            let n = tally.requests.max(1) as f64;
            places.push(Place {
                key, label: tally.label, label_en: None, kind: PlaceKind::Street, territory,
                lat: tally.lat_sum / n, lon: tally.lon_sum / n, requests: tally.requests,
            });
        }
        for a in addresses {
            places.push(Place {
                key: address_key(&a.address), label: a.address, label_en: None, kind: PlaceKind::Address, territory: a.territory,
                lat: a.lat, lon: a.lon, requests: a.requests,
            });
        }
        places.retain(|p| !p.key.is_empty());
        // The same key twice (an address typed two ways): the one with more requests.
        places.sort_by(|a, b| a.key.cmp(&b.key).then(a.kind.cmp(&b.kind)).then(b.requests.cmp(&a.requests)));
        places.dedup_by(|later, kept| later.key == kept.key);
        let by_key = places.iter().enumerate().map(|(i, p)| (p.key.clone(), i)).collect();
        Gazetteer { places, by_key }
    }

    /// How many places it knows.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether it knows no place.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The places whose words begin with each of the words typed, territories first, then
    /// streets and addresses by how many requests were filed at them; at most `limit`.
    pub fn search(&self, typed: &str, limit: usize) -> Vec<&Place> {
        let query = address_key(typed);
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<&Place> = self
            .places
            .iter()
            .filter(|p| words.iter().all(|w| p.key.split(' ').any(|k| k.starts_with(w))))
            .collect();
        found.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.requests.cmp(&a.requests)).then(a.label.cmp(&b.label)));
        found.truncate(limit);
        found
    }

    /// Where a typed address is, when recognised: the known address itself, else its street,
    /// else the longest territory name it contains (then only its territory is sure, and the
    /// point is inside it).
    pub fn locate(&self, address: &str) -> Option<&Place> {
        let key = address_key(address);
        if let Some(&i) = self.by_key.get(&key) {
            return Some(&self.places[i]);
        }
        if let Some(street) = street_key(&key)
            && let Some(&i) = self.by_key.get(street)
        {
            return Some(&self.places[i]);
        }
        let padded = format!(" {key} ");
        self.places
            .iter()
            .filter(|p| p.kind == PlaceKind::Territory && padded.contains(&format!(" {} ", p.key)))
            .max_by_key(|p| p.key.len())
    }
}

/// The street of an address as typed: the text before its last comma, when what follows is
/// a house number ("г. Гатчина, ул. Ленина, 12" → "г. Гатчина, ул. Ленина").
fn street_label(address: &str) -> String {
    match address.rsplit_once(',') {
        Some((street, house)) if house.trim().starts_with(|c: char| c.is_ascii_digit()) => street.trim().to_owned(),
        _ => address.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gazetteer() -> Gazetteer {
        let territories = vec![
            NamedTerritory { code: "41618000".into(), name_ru: "Гатчинский район".into(), name_en: "Gatchinsky District".into(), point: (59.57, 30.13) },
            NamedTerritory { code: "41612000".into(), name_ru: "Всеволожский район".into(), name_en: "Vsevolozhsky District".into(), point: (60.04, 30.58) },
        ];
        let at = |address: &str, lat: f64, lon: f64, requests: u64| KnownAddress {
            address: address.into(), lat, lon, territory: Some("41618000".into()), requests,
        };
        Gazetteer::new(territories, vec![
            at("г. Гатчина, ул. Ленина, 12", 59.571, 30.131, 3),
            at("г. Гатчина, ул. Ленина, 14", 59.573, 30.133, 1),
            at("г. Гатчина, Садовая ул., 5", 59.565, 30.12, 2),
        ])
    }

    #[test]
    fn finds_places_by_the_beginnings_of_their_words_territories_first() {
        let g = gazetteer();
        let labels = |q: &str| g.search(q, 10).iter().map(|p| p.label.clone()).collect::<Vec<_>>();
        assert_eq!(labels("гатч"), ["Гатчинский район", "г. Гатчина, ул. Ленина", "г. Гатчина, Садовая ул.", "г. Гатчина, ул. Ленина, 12", "г. Гатчина, Садовая ул., 5", "г. Гатчина, ул. Ленина, 14"]);
        assert_eq!(labels("улица ленина 1"), ["г. Гатчина, ул. Ленина, 12", "г. Гатчина, ул. Ленина, 14"]);
        assert_eq!(labels("vsevol"), ["Vsevolozhsky District"]);
        assert!(labels("  ").is_empty() && labels("москва").is_empty());
    }

    #[test]
    fn recognises_an_address_by_itself_its_street_or_its_territory() {
        let g = gazetteer();
        let same = g.locate("Гатчина, улица Ленина, д. 12").unwrap();
        assert_eq!((same.kind, same.lat), (PlaceKind::Address, 59.571), "written another way");
        let street = g.locate("г. Гатчина, ул. Ленина, 40").unwrap();
        assert_eq!((street.kind, street.territory.as_deref()), (PlaceKind::Street, Some("41618000")));
        assert!((street.lat - 59.5715).abs() < 1e-9, "the middle of its addresses, by requests: {}", street.lat);
        let territory = g.locate("Всеволожский район, дер. Агалатово, 3").unwrap();
        assert_eq!((territory.kind, territory.territory.as_deref()), (PlaceKind::Territory, Some("41612000")));
        assert!(g.locate("Москва, Тверская, 1").is_none());
    }
}
