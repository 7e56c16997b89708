//! Placing points in territories: a grid over the territories' extent where each cell that no
//! boundary crosses knows its answer outright, and the others list the few shapes to test.
//! Where territories overlap, the smallest contains the point (the documented repair for
//! overlapping boundaries; [`TerritoryIndex::overlaps`] lists them for the import report).

use crate::shape::{BBox, Shape};
use serde::Serialize;

/// Grid cells along each side.
const GRID: usize = 256;

/// A cell's answer: no territory.
const NONE: u32 = u32::MAX;
/// A cell's answer: boundaries cross it, test its candidates.
const MIXED: u32 = u32::MAX - 1;

/// How far outside the territories' extent a point may lie and still count as in the region,
/// in degrees (about 5 km).
const REGION_MARGIN_DEGREES: f64 = 0.05;

/// How deep a corner of one territory must lie inside another before the two are reported as
/// overlapping, in metres (boundaries drawn by hand disagree by a few metres).
const OVERLAP_TOLERANCE_M: f64 = 25.0;

/// H3 resolution of the cell stored for each placed request (about 66 m across); coarser
/// cells are its parents.
pub const CELL_RESOLUTION: h3o::Resolution = h3o::Resolution::Ten;

pub use okno_core::LocationFlag;

/// The stored cells (at [`CELL_RESOLUTION`]) that lie within the H3 cell written `hex` (as the
/// heat map names its cells), as the range of their numbers: a coarser cell's descendants at one
/// resolution share its base cell and first digits, so they are one range of the index.
pub fn stored_cells_within(hex: &str) -> Result<(i64, i64), String> {
    let bad = || format!("{hex:?} is not an H3 cell of resolution 0 to 10");
    let index = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
    let cell = h3o::CellIndex::try_from(index).map_err(|_| bad())?;
    let (from, stored) = (u8::from(cell.resolution()), u8::from(CELL_RESOLUTION));
    if from > stored {
        return Err(bad());
    }
    let digit = |resolution: u8| 3 * u32::from(15 - resolution);
    let at_stored = (index & !(0xF << 52)) | (u64::from(stored) << 52);
    let (mut first, mut last) = (at_stored, at_stored);
    for resolution in from + 1..=stored {
        first &= !(7 << digit(resolution));
        last = (last & !(7 << digit(resolution))) | (6 << digit(resolution));
    }
    Ok((first as i64, last as i64))
}

/// Where a point belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The innermost territory containing it.
    pub territory: Option<String>,
    /// What is wrong with the location, if anything.
    pub flag: Option<LocationFlag>,
    /// Its H3 cell at [`CELL_RESOLUTION`] (after swapping back, for a swapped point).
    pub cell: Option<u64>,
}

/// Two territories that overlap, with a corner of one inside the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// The territory whose corner lies inside.
    pub corner_of: String,
    /// The territory it lies inside.
    pub inside: String,
    /// The corner (longitude, latitude).
    pub at: [f64; 2],
    /// How far inside, in metres.
    pub depth_m: f64,
}

/// Territories by code with their shapes, ready to place points.
pub struct TerritoryIndex {
    codes: Vec<String>,
    shapes: Vec<Shape>,
    extent: BBox,
    cell_lon: f64,
    cell_lat: f64,
    answers: Vec<u32>,
    candidate_start: Vec<u32>,
    candidates: Vec<u32>,
}

impl TerritoryIndex {
    /// The bounding box of a territory's boundary.
    pub fn bbox_of(&self, code: &str) -> Option<BBox> {
        self.codes.iter().position(|c| c == code).map(|i| self.shapes[i].bbox())
    }

    /// Indexes shapes by territory code.
    pub fn new(territories: Vec<(String, Shape)>) -> TerritoryIndex {
        let mut territories = territories;
        territories.sort_by(|a, b| a.1.area_km2().total_cmp(&b.1.area_km2()).then_with(|| a.0.cmp(&b.0)));
        let (codes, shapes): (Vec<String>, Vec<Shape>) = territories.into_iter().unzip();
        let extent = shapes.iter().fold(BBox::EMPTY, |b, s| b.union(&s.bbox()));
        let mut index = TerritoryIndex {
            codes,
            shapes,
            extent,
            cell_lon: ((extent.max_lon - extent.min_lon) / GRID as f64).max(f64::MIN_POSITIVE),
            cell_lat: ((extent.max_lat - extent.min_lat) / GRID as f64).max(f64::MIN_POSITIVE),
            answers: Vec::new(),
            candidate_start: Vec::new(),
            candidates: Vec::new(),
        };
        if !index.shapes.is_empty() {
            index.build_grid();
        }
        index
    }

    fn build_grid(&mut self) {
        let mut crossed = vec![false; GRID * GRID];
        for shape in &self.shapes {
            for polygon in shape.polygons() {
                for ring in std::iter::once(&polygon.exterior).chain(&polygon.holes) {
                    for edge in ring.points().windows(2) {
                        let (c0, r0) = self.cell_of(edge[0][0].min(edge[1][0]), edge[0][1].min(edge[1][1]));
                        let (c1, r1) = self.cell_of(edge[0][0].max(edge[1][0]), edge[0][1].max(edge[1][1]));
                        for r in r0..=r1 {
                            crossed[r * GRID + c0..=r * GRID + c1].iter_mut().for_each(|c| *c = true);
                        }
                    }
                }
            }
        }
        self.answers = vec![NONE; GRID * GRID];
        self.candidate_start = Vec::with_capacity(GRID * GRID + 1);
        for (cell, &crossed) in crossed.iter().enumerate() {
            self.candidate_start.push(self.candidates.len() as u32);
            let bounds = self.cell_bounds(cell);
            if crossed {
                self.answers[cell] = MIXED;
                let touching = (0..self.shapes.len()).filter(|&s| self.shapes[s].bbox().intersects(&bounds));
                self.candidates.extend(touching.map(|s| s as u32));
            } else {
                let (lon, lat) = ((bounds.min_lon + bounds.max_lon) / 2.0, (bounds.min_lat + bounds.max_lat) / 2.0);
                self.answers[cell] = self.search(lon, lat, 0..self.shapes.len()).map_or(NONE, |s| s as u32);
            }
        }
        self.candidate_start.push(self.candidates.len() as u32);
    }

    fn cell_of(&self, lon: f64, lat: f64) -> (usize, usize) {
        let col = ((lon - self.extent.min_lon) / self.cell_lon).floor().clamp(0.0, (GRID - 1) as f64) as usize;
        let row = ((lat - self.extent.min_lat) / self.cell_lat).floor().clamp(0.0, (GRID - 1) as f64) as usize;
        (col, row)
    }

    fn cell_bounds(&self, cell: usize) -> BBox {
        let (col, row) = ((cell % GRID) as f64, (cell / GRID) as f64);
        BBox {
            min_lon: self.extent.min_lon + col * self.cell_lon,
            min_lat: self.extent.min_lat + row * self.cell_lat,
            max_lon: self.extent.min_lon + (col + 1.0) * self.cell_lon,
            max_lat: self.extent.min_lat + (row + 1.0) * self.cell_lat,
        }
    }

    /// The first (smallest) of the shapes that contains the point.
    fn search(&self, lon: f64, lat: f64, shapes: impl IntoIterator<Item = usize>) -> Option<usize> {
        shapes.into_iter().find(|&s| self.shapes[s].contains(lon, lat))
    }

    /// How many territories are indexed.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether no territory is indexed.
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// The code of the smallest territory containing the point.
    pub fn locate(&self, lat: f64, lon: f64) -> Option<&str> {
        if self.shapes.is_empty() || !self.extent.contains(lon, lat) {
            return None;
        }
        let (col, row) = self.cell_of(lon, lat);
        let cell = row * GRID + col;
        let found = match self.answers[cell] {
            NONE => None,
            MIXED => {
                let range = self.candidate_start[cell] as usize..self.candidate_start[cell + 1] as usize;
                self.search(lon, lat, self.candidates[range].iter().map(|&s| s as usize))
            }
            shape => Some(shape as usize),
        };
        found.map(|s| self.codes[s].as_str())
    }

    /// Places a point: its territory, what is wrong with it, and its H3 cell.
    pub fn place(&self, lat: f64, lon: f64) -> Placement {
        let cell = |lat: f64, lon: f64| h3o::LatLng::new(lat, lon).ok().map(|p| u64::from(p.to_cell(CELL_RESOLUTION)));
        if let Some(code) = self.locate(lat, lon) {
            return Placement { territory: Some(code.to_owned()), flag: None, cell: cell(lat, lon) };
        }
        if self.shapes.is_empty() {
            return Placement { territory: None, flag: None, cell: cell(lat, lon) };
        }
        if let Some(code) = self.locate(lon, lat) {
            return Placement { territory: Some(code.to_owned()), flag: Some(LocationFlag::Swapped), cell: cell(lon, lat) };
        }
        let m = REGION_MARGIN_DEGREES;
        let in_region = lon >= self.extent.min_lon - m && lon <= self.extent.max_lon + m && lat >= self.extent.min_lat - m && lat <= self.extent.max_lat + m;
        let flag = if in_region { LocationFlag::OutsideTerritories } else { LocationFlag::OutsideRegion };
        Placement { territory: None, flag: Some(flag), cell: cell(lat, lon) }
    }

    /// Pairs of territories where a corner of one lies deeper than a tolerance inside the
    /// other, each pair once with its deepest corner.
    pub fn overlaps(&self) -> Vec<Overlap> {
        let mut found = Vec::new();
        for a in 0..self.shapes.len() {
            for b in 0..self.shapes.len() {
                if a == b || !self.shapes[a].bbox().intersects(&self.shapes[b].bbox()) {
                    continue;
                }
                let deepest = corners(&self.shapes[a])
                    .filter(|p| self.shapes[b].contains(p[0], p[1]))
                    .map(|p| (p, distance_to_boundary_m(&self.shapes[b], p)))
                    .max_by(|x, y| x.1.total_cmp(&y.1));
                if let Some((at, depth_m)) = deepest.filter(|d| d.1 > OVERLAP_TOLERANCE_M) {
                    found.push(Overlap { corner_of: self.codes[a].clone(), inside: self.codes[b].clone(), at, depth_m });
                }
            }
        }
        found
    }
}

fn corners(shape: &Shape) -> impl Iterator<Item = [f64; 2]> + '_ {
    shape.polygons().iter().flat_map(|p| std::iter::once(&p.exterior).chain(&p.holes)).flat_map(|r| r.points().iter().copied())
}

/// Distance from a point to the nearest edge of a shape, in metres (local flat approximation).
fn distance_to_boundary_m(shape: &Shape, p: [f64; 2]) -> f64 {
    const M_PER_DEGREE: f64 = 111_320.0;
    let x_scale = p[1].to_radians().cos() * M_PER_DEGREE;
    let local = |q: [f64; 2]| [(q[0] - p[0]) * x_scale, (q[1] - p[1]) * M_PER_DEGREE];
    let rings = shape.polygons().iter().flat_map(|poly| std::iter::once(&poly.exterior).chain(&poly.holes));
    rings
        .flat_map(|r| r.points().windows(2))
        .map(|e| {
            let (a, b) = (local(e[0]), local(e[1]));
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let length2 = dx * dx + dy * dy;
            let t = if length2 > 0.0 { (-(a[0] * dx + a[1] * dy) / length2).clamp(0.0, 1.0) } else { 0.0 };
            (a[0] + t * dx).hypot(a[1] + t * dy)
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Polygon, Ring};

    fn square(code: &str, lon: f64, lat: f64, size: f64) -> (String, Shape) {
        let ring = Ring::new(vec![[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size]]).unwrap();
        (code.to_owned(), Shape::new(vec![Polygon { exterior: ring, holes: vec![] }]).unwrap())
    }

    fn city() -> TerritoryIndex {
        TerritoryIndex::new(vec![square("west", 30.0, 59.8, 0.2), square("east", 30.2, 59.8, 0.2), square("centre", 30.15, 59.85, 0.02)])
    }

    #[test]
    fn a_map_cell_holds_exactly_the_stored_cells_of_its_range() {
        let point = h3o::LatLng::new(59.94, 30.31).unwrap();
        for resolution in [h3o::Resolution::Six, h3o::Resolution::Eight, CELL_RESOLUTION] {
            let parent = point.to_cell(resolution);
            let (first, last) = stored_cells_within(&format!("{parent:x}")).unwrap();
            for child in parent.children(CELL_RESOLUTION) {
                assert!((first..=last).contains(&(u64::from(child) as i64)), "{child} of {parent}");
            }
            // A neighbour's stored cells lie outside the range.
            for neighbour in parent.grid_disk::<Vec<_>>(1).into_iter().filter(|c| *c != parent) {
                for child in neighbour.children(CELL_RESOLUTION).take(50) {
                    assert!(!(first..=last).contains(&(u64::from(child) as i64)), "{child} of {neighbour}");
                }
            }
        }
        assert!(stored_cells_within("not hex").is_err());
        assert!(stored_cells_within(&format!("{:x}", point.to_cell(h3o::Resolution::Twelve))).is_err());
    }

    #[test]
    fn the_grid_answers_as_a_search_of_every_shape_would() {
        let index = city();
        let mut state = 7u64;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let (lon, lat) = (29.95 + (state >> 40) as f64 / (1u64 << 24) as f64 * 0.5, 59.75 + (state & 0xffffff) as f64 / (1u64 << 24) as f64 * 0.3);
            let slow = index.search(lon, lat, 0..index.shapes.len()).map(|s| index.codes[s].as_str());
            assert_eq!(index.locate(lat, lon), slow, "at {lat},{lon}");
        }
    }

    #[test]
    fn the_smallest_of_overlapping_territories_wins_and_the_overlap_is_reported() {
        let index = city();
        assert_eq!(index.locate(59.86, 30.16), Some("centre"));
        assert_eq!(index.locate(59.81, 30.01), Some("west"));
        let overlaps = index.overlaps();
        assert_eq!(overlaps.len(), 1, "{overlaps:?}");
        assert_eq!((overlaps[0].corner_of.as_str(), overlaps[0].inside.as_str()), ("centre", "west"));
        assert!(overlaps[0].depth_m > 1000.0);
        let neighbours_only = TerritoryIndex::new(vec![square("west", 30.0, 59.8, 0.2), square("east", 30.2, 59.8, 0.2)]);
        assert!(neighbours_only.overlaps().is_empty(), "a shared edge is not an overlap");
    }

    #[test]
    fn swapped_far_and_stray_points_are_flagged() {
        let index = city();
        let ok = index.place(59.81, 30.01);
        assert_eq!((ok.territory.as_deref(), ok.flag), (Some("west"), None));
        let swapped = index.place(30.01, 59.81);
        assert_eq!((swapped.territory.as_deref(), swapped.flag), (Some("west"), Some(LocationFlag::Swapped)));
        assert_eq!(swapped.cell, ok.cell);
        assert_eq!(index.place(59.81, 30.41).flag, Some(LocationFlag::OutsideTerritories));
        assert_eq!(index.place(40.7, -74.0).flag, Some(LocationFlag::OutsideRegion));
        assert_eq!(LocationFlag::parse("swapped"), Some(LocationFlag::Swapped));
    }
}
