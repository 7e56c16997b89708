//! Where a request is: a validated point, a longitude/latitude box, and what placing the point
//! in the territories found.

use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

/// A point on the Earth (WGS 84), validated: made only by [`Coordinates::new`] (or read from
/// JSON through it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "Point")]
#[non_exhaustive]
pub struct Coordinates {
    /// Latitude in degrees, −90…90.
    pub lat: f64,
    /// Longitude in degrees, −180…180.
    pub lon: f64,
}

impl Coordinates {
    /// Coordinates if both are finite and in range.
    pub fn new(lat: f64, lon: f64) -> Option<Self> {
        (lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            .then_some(Coordinates { lat, lon })
    }
}

/// Coordinates as read, before they are checked.
#[derive(Deserialize)]
struct Point {
    lat: f64,
    lon: f64,
}

impl TryFrom<Point> for Coordinates {
    type Error = String;
    fn try_from(p: Point) -> Result<Self, String> {
        Coordinates::new(p.lat, p.lon).ok_or_else(|| format!("{},{} is not a point on Earth", p.lat, p.lon))
    }
}

/// The regular expression of one longitude or latitude in [`BBOX_PATTERN`].
macro_rules! bbox_number {
    (lon) => { r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)" };
    (lat) => { r"-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)" };
}

/// What a longitude/latitude box looks like in a query: four numbers in degrees, the longitudes
/// in −180…180 and the latitudes in −90…90, without spaces.
pub const BBOX_PATTERN: &str = concat!(
    "^", bbox_number!(lon), ",", bbox_number!(lat), ",", bbox_number!(lon), ",", bbox_number!(lat), "$"
);

/// A latitude/longitude rectangle, written `min_lon,min_lat,max_lon,max_lat` in a query; two
/// opposite corners in either order make the same box.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct BBox {
    /// Western longitude.
    pub min_lon: f64,
    /// Southern latitude.
    pub min_lat: f64,
    /// Eastern longitude.
    pub max_lon: f64,
    /// Northern latitude.
    pub max_lat: f64,
}

impl FromStr for BBox {
    type Err = String;
    /// Parses `min_lon,min_lat,max_lon,max_lat`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bbox must be four numbers, min_lon,min_lat,max_lon,max_lat in degrees; got {s:?}");
        let parts: Vec<f64> = s.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
        let [lon_a, lat_a, lon_b, lat_b] = parts[..] else {
            return Err(bad());
        };
        if Coordinates::new(lat_a, lon_a).is_none() || Coordinates::new(lat_b, lon_b).is_none() {
            return Err(format!("bbox corners must be points on Earth (longitude −180…180, latitude −90…90); got {s:?}"));
        }
        Ok(BBox { min_lon: lon_a.min(lon_b), min_lat: lat_a.min(lat_b), max_lon: lon_a.max(lon_b), max_lat: lat_a.max(lat_b) })
    }
}

impl TryFrom<String> for BBox {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl utoipa::PartialSchema for BBox {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(BBOX_PATTERN))
            .description(Some("min_lon,min_lat,max_lon,max_lat in degrees (two opposite corners)"))
            .examples([serde_json::json!("30.1,59.8,30.6,60.1")])
            .into()
    }
}

impl ToSchema for BBox {}

/// What is wrong with a request's location, when something is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationFlag {
    /// In the region's extent but in no territory (a gap, the sea, a boundary not loaded).
    OutsideTerritories,
    /// Far from every territory.
    OutsideRegion,
    /// Latitude and longitude were given the wrong way round (common in 311 exports): swapped
    /// back, the point falls in a territory, where it is placed.
    Swapped,
}

impl LocationFlag {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationFlag::OutsideTerritories => "outside_territories",
            LocationFlag::OutsideRegion => "outside_region",
            LocationFlag::Swapped => "swapped",
        }
    }

    /// The flag of a stored name.
    pub fn parse(name: &str) -> Option<LocationFlag> {
        [LocationFlag::OutsideTerritories, LocationFlag::OutsideRegion, LocationFlag::Swapped].into_iter().find(|f| f.as_str() == name)
    }
}

impl std::str::FromStr for LocationFlag {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        LocationFlag::parse(name).ok_or_else(|| format!("unknown location flag {name:?}"))
    }
}

/// What placing a request's point in the territories found, beside the territory itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    /// What is wrong with the point, if anything.
    pub flag: Option<LocationFlag>,
    /// The point's H3 cell (resolution 10) as a number.
    pub cell: Option<i64>,
}
