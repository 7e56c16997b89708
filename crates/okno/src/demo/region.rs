//! The real regions the demo is made on: Leningrad and Ryazan oblasts, each district with its
//! OpenStreetMap boundary (simplified, neighbours keeping their shared borders), OKTMO code,
//! population (Rosstat) and administrative centre. The files are made by
//! `tools/regions/make.py` from `../shared/data/ru_municipal` and shipped in the binary, so the
//! demo runs without the data sets (their sources and licences: `crates/okno/regions/SOURCE.md`).

use anyhow::{anyhow, Context, Result};
use okno_core::Territory;
use okno_geo::Shape;
use rand::Rng;
use serde::Deserialize;

/// A region the demo can be made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DemoRegion {
    /// Leningrad oblast: 17 districts and the Sosnovy Bor urban okrug (St Petersburg is a region of its own).
    #[default]
    Leningrad,
    /// Ryazan oblast: 25 districts and 4 cities.
    Ryazan,
}

/// A region with its districts.
pub struct Region {
    /// The region itself (the districts' parent).
    pub territory: Territory,
    /// Whom the boundaries and figures are owed to, to be shown beside the map.
    pub attribution: String,
    /// Its districts, by code.
    pub districts: Vec<District>,
}

/// A district of a demo region.
#[derive(Clone)]
pub struct District {
    /// The district (code: its OKTMO, eight digits).
    pub territory: Territory,
    /// Its boundary.
    pub shape: Shape,
    /// Its administrative centre as an address reads it ("г. Гатчина").
    pub centre: String,
    /// Where its requests gather: the administrative centre, or the district's point nearest
    /// to it when the centre lies in a neighbouring city. (latitude, longitude)
    pub hub: (f64, f64),
}

#[derive(Deserialize)]
struct RegionFile {
    region: RegionHeader,
    attribution: String,
    features: Vec<DistrictFeature>,
}

#[derive(Deserialize)]
struct RegionHeader {
    code: String,
    name_ru: String,
    name_en: String,
}

#[derive(Deserialize)]
struct DistrictFeature {
    properties: DistrictProperties,
    geometry: serde_json::Value,
}

#[derive(Deserialize)]
struct DistrictProperties {
    code: String,
    name_ru: String,
    name_en: String,
    population: i64,
    centre: String,
    hub: [f64; 2],
}

impl DemoRegion {
    /// The region's shipped file.
    fn file(self) -> &'static str {
        match self {
            DemoRegion::Leningrad => include_str!("../../regions/leningrad.geojson"),
            DemoRegion::Ryazan => include_str!("../../regions/ryazan.geojson"),
        }
    }

    /// The region with its districts, read from the file shipped in the binary.
    pub fn load(self) -> Result<Region> {
        let file: RegionFile = serde_json::from_str(self.file()).context("reading a shipped demo region")?;
        let districts = file
            .features
            .into_iter()
            .map(|f| {
                let p = f.properties;
                let shape = Shape::from_geojson(&f.geometry).map_err(|e| anyhow!("the boundary of {}: {e}", p.name_ru))?;
                let territory = Territory {
                    code: p.code.into(), name_ru: p.name_ru, name_en: p.name_en, kind: "district".into(),
                    parent: Some(file.region.code.clone().into()), population: Some(p.population),
                };
                Ok(District { territory, shape, centre: p.centre, hub: (p.hub[1], p.hub[0]) })
            })
            .collect::<Result<Vec<_>>>()?;
        let territory = Territory {
            code: file.region.code.into(), name_ru: file.region.name_ru, name_en: file.region.name_en, kind: "region".into(),
            parent: None, population: Some(districts.iter().filter_map(|d| d.territory.population).sum()),
        };
        Ok(Region { territory, attribution: file.attribution, districts })
    }
}

impl Region {
    /// The districts by population, the largest first.
    pub fn by_population(&self) -> Vec<&District> {
        let mut districts: Vec<&District> = self.districts.iter().collect();
        districts.sort_by_key(|d| std::cmp::Reverse(d.territory.population.unwrap_or(0)));
        districts
    }

    /// A district picked with a chance in proportion to its people.
    pub fn pick<'a>(&'a self, rng: &mut impl Rng) -> &'a District {
        let total: i64 = self.districts.iter().filter_map(|d| d.territory.population).sum();
        let mut left = rng.gen_range(0..total.max(1));
        for district in &self.districts {
            let people = district.territory.population.unwrap_or(0);
            if left < people {
                return district;
            }
            left -= people;
        }
        &self.districts[0]
    }
}

/// Half the side (degrees of latitude) of the square a town's requests are scattered in:
/// about 4 km.
const TOWN_SPREAD: f64 = 0.035;

/// A place for a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spot {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Whether it is in and around the district's administrative centre (else in a village).
    pub in_centre: bool,
}

impl District {
    /// A place for a request in this district: mostly in and around the administrative centre,
    /// one in four anywhere in the district (its villages). Always inside the boundary.
    pub fn spot(&self, rng: &mut impl Rng) -> Spot {
        let bbox = self.shape.bbox();
        let (hub_lat, hub_lon) = self.hub;
        let widen = 1.0 / hub_lat.to_radians().cos();
        for _ in 0..200 {
            let in_centre = rng.gen_bool(0.75);
            let (lat, lon) = if in_centre {
                (hub_lat + rng.gen_range(-TOWN_SPREAD..TOWN_SPREAD), hub_lon + widen * rng.gen_range(-TOWN_SPREAD..TOWN_SPREAD))
            } else {
                (rng.gen_range(bbox.min_lat..bbox.max_lat), rng.gen_range(bbox.min_lon..bbox.max_lon))
            };
            if self.shape.contains(lon, lat) {
                return Spot { lat, lon, in_centre };
            }
        }
        Spot { lat: hub_lat, lon: hub_lon, in_centre: true }
    }

    /// The settlement an address at `spot` names: the administrative centre, or the district.
    pub fn settlement(&self, spot: &Spot) -> &str {
        if spot.in_centre { &self.centre } else { &self.territory.name_ru }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okno_geo::TerritoryIndex;
    use rand::SeedableRng;

    #[test]
    fn the_shipped_regions_are_the_real_ones_and_their_districts_do_not_overlap() {
        for (region, districts, people) in [(DemoRegion::Leningrad, 18, 2_035_762), (DemoRegion::Ryazan, 29, 1_083_151)] {
            let loaded = region.load().unwrap();
            assert_eq!((loaded.districts.len(), loaded.territory.population), (districts, Some(people)), "{region:?}");
            let index = TerritoryIndex::new(loaded.districts.iter().map(|d| (d.territory.code.to_string(), d.shape.clone())).collect());
            assert!(index.overlaps().is_empty(), "{region:?}: {:?}", index.overlaps());
            for d in &loaded.districts {
                assert!(d.shape.contains(d.hub.1, d.hub.0), "{}'s hub lies in it", d.territory.name_ru);
                assert_eq!(d.territory.code.as_str().len(), 8, "an OKTMO code");
            }
        }
    }

    #[test]
    fn a_district_places_its_requests_inside_it() {
        let region = DemoRegion::Ryazan.load().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for district in &region.districts {
            for _ in 0..20 {
                let spot = district.spot(&mut rng);
                assert!(district.shape.contains(spot.lon, spot.lat), "{} at {spot:?}", district.territory.name_ru);
            }
        }
    }
}
