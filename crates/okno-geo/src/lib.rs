//! Okno's geography: territory boundaries read from GeoJSON and checked, an index that places a
//! request's point in its territory (flagging points outside every territory, far outside the
//! region, or with latitude and longitude swapped), and the H3 cell of each point.

pub mod features;
pub mod gazetteer;
pub mod index;
pub mod shape;

pub use features::{read_features, FeatureError, FeatureFields, TerritoryFeature};
pub use gazetteer::{address_key, Gazetteer, KnownAddress, NamedTerritory, Place, PlaceKind};
pub use index::{stored_cells_within, LocationFlag, Overlap, Placement, TerritoryIndex, CELL_RESOLUTION};
pub use shape::{BBox, Polygon, Ring, Shape, ShapeError};
