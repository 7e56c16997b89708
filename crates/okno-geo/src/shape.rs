//! Territory shapes: polygons with holes in WGS84 longitude/latitude, checked when read
//! (closed rings of at least three distinct points, finite coordinates in range), with point
//! containment (even-odd rule), bounding boxes, areas, and a search for rings that cross
//! themselves.

/// A point as GeoJSON writes it: longitude, latitude (degrees).
pub type Point = [f64; 2];

/// Why a shape was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    /// A ring with fewer than three distinct points.
    #[error("a ring has {0} distinct points; at least 3 are needed")]
    TooFewPoints(usize),
    /// A coordinate that is not a number in range.
    #[error("coordinate {0:?} is not a longitude/latitude pair in range")]
    BadCoordinate(Vec<f64>),
    /// Two edges of one ring cross.
    #[error("a ring crosses itself near latitude {lat:.6}, longitude {lon:.6}")]
    SelfIntersection {
        /// Latitude of the crossing.
        lat: f64,
        /// Longitude of the crossing.
        lon: f64,
    },
    /// Neither a polygon nor a multipolygon.
    #[error("geometry type {0:?} is not Polygon or MultiPolygon")]
    UnsupportedGeometry(String),
    /// The GeoJSON geometry is not shaped as its type says.
    #[error("malformed geometry: {0}")]
    Malformed(String),
}

/// A rectangle in longitude/latitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// West edge.
    pub min_lon: f64,
    /// South edge.
    pub min_lat: f64,
    /// East edge.
    pub max_lon: f64,
    /// North edge.
    pub max_lat: f64,
}

impl BBox {
    /// The empty box, which any point or box extends.
    pub const EMPTY: BBox = BBox { min_lon: f64::INFINITY, min_lat: f64::INFINITY, max_lon: f64::NEG_INFINITY, max_lat: f64::NEG_INFINITY };

    fn of_points(points: &[Point]) -> BBox {
        points.iter().fold(BBox::EMPTY, |b, p| b.union(&BBox { min_lon: p[0], min_lat: p[1], max_lon: p[0], max_lat: p[1] }))
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &BBox) -> BBox {
        BBox {
            min_lon: self.min_lon.min(other.min_lon),
            min_lat: self.min_lat.min(other.min_lat),
            max_lon: self.max_lon.max(other.max_lon),
            max_lat: self.max_lat.max(other.max_lat),
        }
    }

    /// Whether the point is inside or on the edge.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        lon >= self.min_lon && lon <= self.max_lon && lat >= self.min_lat && lat <= self.max_lat
    }

    /// Whether the boxes share any point.
    pub fn intersects(&self, other: &BBox) -> bool {
        self.min_lon <= other.max_lon && other.min_lon <= self.max_lon && self.min_lat <= other.max_lat && other.min_lat <= self.max_lat
    }
}

/// A closed ring (the first point repeated at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Ring {
    points: Vec<Point>,
    bbox: BBox,
}

impl Ring {
    /// Checks and builds a ring. Repairs, as documented for imports: a ring left open is closed,
    /// and a point repeated right after itself is kept once.
    pub fn new(points: Vec<Point>) -> Result<Ring, ShapeError> {
        let mut cleaned: Vec<Point> = Vec::with_capacity(points.len() + 1);
        for p in points {
            if !(p[0].is_finite() && p[1].is_finite() && (-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1])) {
                return Err(ShapeError::BadCoordinate(p.to_vec()));
            }
            if cleaned.last() != Some(&p) {
                cleaned.push(p);
            }
        }
        if cleaned.len() > 1 && cleaned.first() == cleaned.last() {
            cleaned.pop();
        }
        if cleaned.len() < 3 {
            return Err(ShapeError::TooFewPoints(cleaned.len()));
        }
        cleaned.push(cleaned[0]);
        Ok(Ring { bbox: BBox::of_points(&cleaned), points: cleaned })
    }

    /// The points, the first repeated at the end.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Whether the point is inside (even-odd rule; a point on an edge may fall either way).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        if !self.bbox.contains(lon, lat) {
            return false;
        }
        let mut inside = false;
        for edge in self.points.windows(2) {
            let ([x1, y1], [x2, y2]) = (edge[0], edge[1]);
            if (y1 > lat) != (y2 > lat) && lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1) {
                inside = !inside;
            }
        }
        inside
    }

    /// Area in square degrees, positive whatever the ring's direction.
    fn area_degrees(&self) -> f64 {
        let twice: f64 = self.points.windows(2).map(|e| e[0][0] * e[1][1] - e[1][0] * e[0][1]).sum();
        twice.abs() / 2.0
    }

    /// A point where two edges that are not neighbours cross or touch, if any. Edges are swept
    /// in order of their west ends, so only edges whose longitudes overlap are compared.
    pub fn self_intersection(&self) -> Option<Point> {
        let edges = self.points.len() - 1;
        let mut order: Vec<usize> = (0..edges).collect();
        let west = |i: usize| self.points[i][0].min(self.points[i + 1][0]);
        let east = |i: usize| self.points[i][0].max(self.points[i + 1][0]);
        order.sort_by(|&a, &b| west(a).total_cmp(&west(b)));
        for (k, &a) in order.iter().enumerate() {
            for &b in &order[k + 1..] {
                if west(b) > east(a) {
                    break;
                }
                let neighbours = a.abs_diff(b) == 1 || a.abs_diff(b) == edges - 1;
                if neighbours {
                    continue;
                }
                let (p, q) = (self.points[a], self.points[a + 1]);
                let (r, s) = (self.points[b], self.points[b + 1]);
                if let Some(at) = crossing(p, q, r, s) {
                    return Some(at);
                }
            }
        }
        None
    }
}

/// Twice the signed area of the triangle (orientation of `c` against `a`→`b`).
fn orientation(a: Point, b: Point, c: Point) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Where segments `p`–`q` and `r`–`s` meet, if they do (touching counts).
fn crossing(p: Point, q: Point, r: Point, s: Point) -> Option<Point> {
    let (d1, d2) = (orientation(r, s, p), orientation(r, s, q));
    let (d3, d4) = (orientation(p, q, r), orientation(p, q, s));
    let within = |a: Point, b: Point, c: Point| c[0] >= a[0].min(b[0]) && c[0] <= a[0].max(b[0]) && c[1] >= a[1].min(b[1]) && c[1] <= a[1].max(b[1]);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        let t = d1 / (d1 - d2);
        return Some([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
    }
    [(d1, r, s, p), (d2, r, s, q), (d3, p, q, r), (d4, p, q, s)].into_iter().find(|&(d, a, b, c)| d == 0.0 && within(a, b, c)).map(|(_, _, _, c)| c)
}

/// A polygon: an outer ring and the holes cut out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    /// The outer boundary.
    pub exterior: Ring,
    /// Holes.
    pub holes: Vec<Ring>,
}

impl Polygon {
    /// Whether the point is inside the outer ring and in no hole.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.exterior.contains(lon, lat) && !self.holes.iter().any(|h| h.contains(lon, lat))
    }
}

/// A territory's shape: one or more polygons.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    polygons: Vec<Polygon>,
    bbox: BBox,
}

impl Shape {
    /// A shape of these polygons (at least one).
    pub fn new(polygons: Vec<Polygon>) -> Result<Shape, ShapeError> {
        if polygons.is_empty() {
            return Err(ShapeError::Malformed("no polygons".into()));
        }
        let bbox = polygons.iter().fold(BBox::EMPTY, |b, p| b.union(&p.exterior.bbox));
        Ok(Shape { polygons, bbox })
    }

    /// Reads a GeoJSON `Polygon` or `MultiPolygon` geometry object.
    pub fn from_geojson(geometry: &serde_json::Value) -> Result<Shape, ShapeError> {
        let kind = geometry.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let coordinates = geometry.get("coordinates").ok_or_else(|| ShapeError::Malformed("no coordinates".into()))?;
        let polygons = match kind {
            "Polygon" => vec![polygon(coordinates)?],
            "MultiPolygon" => array(coordinates, "a MultiPolygon")?.iter().map(polygon).collect::<Result<_, _>>()?,
            other => return Err(ShapeError::UnsupportedGeometry(other.to_owned())),
        };
        Shape::new(polygons)
    }

    /// The shape as a GeoJSON `MultiPolygon` geometry.
    pub fn to_geojson(&self) -> serde_json::Value {
        let rings = |p: &Polygon| -> Vec<Vec<Point>> { std::iter::once(&p.exterior).chain(&p.holes).map(|r| r.points.clone()).collect() };
        serde_json::json!({"type": "MultiPolygon", "coordinates": self.polygons.iter().map(rings).collect::<Vec<_>>()})
    }

    /// The polygons.
    pub fn polygons(&self) -> &[Polygon] {
        &self.polygons
    }

    /// The bounding box.
    pub fn bbox(&self) -> BBox {
        self.bbox
    }

    /// Whether the point is inside.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.bbox.contains(lon, lat) && self.polygons.iter().any(|p| p.contains(lon, lat))
    }

    /// A point inside the shape, where a label or a search result can stand: on the horizontal
    /// line through the middle of its largest polygon, the middle of the widest stretch inside.
    /// (latitude, longitude)
    pub fn inner_point(&self) -> (f64, f64) {
        let largest = self
            .polygons
            .iter()
            .max_by(|a, b| a.exterior.area_degrees().total_cmp(&b.exterior.area_degrees()))
            .expect("a shape has a polygon");
        let lat = (largest.exterior.bbox.min_lat + largest.exterior.bbox.max_lat) / 2.0;
        let mut crossings: Vec<f64> = std::iter::once(&largest.exterior)
            .chain(&largest.holes)
            .flat_map(|ring| ring.points.windows(2).filter_map(move |w| {
                let ([x1, y1], [x2, y2]) = (w[0], w[1]);
                ((y1 > lat) != (y2 > lat)).then(|| x1 + (lat - y1) * (x2 - x1) / (y2 - y1))
            }))
            .collect();
        crossings.sort_by(f64::total_cmp);
        let widest = crossings.chunks_exact(2).max_by(|a, b| (a[1] - a[0]).total_cmp(&(b[1] - b[0])));
        match widest {
            Some(stretch) => (lat, (stretch[0] + stretch[1]) / 2.0),
            None => {
                let [lon, lat] = largest.exterior.points[0];
                (lat, lon)
            }
        }
    }

    /// The first place where a ring of the shape crosses itself, as an error.
    pub fn check_rings(&self) -> Result<(), ShapeError> {
        let rings = self.polygons.iter().flat_map(|p| std::iter::once(&p.exterior).chain(&p.holes));
        match rings.filter_map(Ring::self_intersection).next() {
            Some([lon, lat]) => Err(ShapeError::SelfIntersection { lat, lon }),
            None => Ok(()),
        }
    }

    /// Area in square kilometres (equirectangular at the shape's middle latitude: within a
    /// fraction of a percent for a city's territories).
    pub fn area_km2(&self) -> f64 {
        const KM_PER_DEGREE: f64 = 111.32;
        let degrees: f64 = self.polygons.iter().map(|p| p.exterior.area_degrees() - p.holes.iter().map(Ring::area_degrees).sum::<f64>()).sum();
        let middle = ((self.bbox.min_lat + self.bbox.max_lat) / 2.0).to_radians();
        degrees * KM_PER_DEGREE * KM_PER_DEGREE * middle.cos()
    }
}

fn array<'a>(value: &'a serde_json::Value, what: &str) -> Result<&'a Vec<serde_json::Value>, ShapeError> {
    value.as_array().ok_or_else(|| ShapeError::Malformed(format!("{what} is not an array")))
}

fn polygon(value: &serde_json::Value) -> Result<Polygon, ShapeError> {
    let mut rings = array(value, "a polygon")?.iter().map(|ring| {
        let points = array(ring, "a ring")?
            .iter()
            .map(|p| match p.as_array().map(|c| c.iter().map(serde_json::Value::as_f64).collect::<Option<Vec<f64>>>()) {
                Some(Some(c)) if c.len() >= 2 => Ok([c[0], c[1]]),
                _ => Err(ShapeError::BadCoordinate(Vec::new())),
            })
            .collect::<Result<Vec<Point>, _>>()?;
        Ring::new(points)
    });
    let exterior = rings.next().ok_or_else(|| ShapeError::Malformed("a polygon without rings".into()))??;
    Ok(Polygon { exterior, holes: rings.collect::<Result<_, _>>()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, size: f64) -> Vec<Point> {
        vec![[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    }

    #[test]
    fn holes_are_outside_and_rings_are_closed_for_you() {
        let mut open = square(0.0, 0.0, 10.0);
        open.pop();
        let shape = Shape::new(vec![Polygon { exterior: Ring::new(open).unwrap(), holes: vec![Ring::new(square(4.0, 4.0, 2.0)).unwrap()] }]).unwrap();
        assert!(shape.contains(1.0, 1.0));
        assert!(!shape.contains(5.0, 5.0), "in the hole");
        assert!(!shape.contains(11.0, 5.0));
        assert_eq!(shape.polygons()[0].exterior.points().len(), 5, "closed again");
    }

    #[test]
    fn crossing_rings_are_found_and_bad_coordinates_refused() {
        let bow_tie = Ring::new(vec![[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]]).unwrap();
        let shape = Shape::new(vec![Polygon { exterior: bow_tie, holes: vec![] }]).unwrap();
        assert!(matches!(shape.check_rings(), Err(ShapeError::SelfIntersection { lat, lon }) if lat == 1.0 && lon == 1.0));
        assert!(shape.contains(1.5, 1.0) && shape.contains(0.5, 1.0) && !shape.contains(1.0, 0.5), "even-odd: the two lobes are in, the gaps out");
        assert!(matches!(Ring::new(vec![[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), Err(ShapeError::TooFewPoints(2))));
        assert!(matches!(Ring::new(vec![[0.0, 0.0], [200.0, 1.0], [0.0, 1.0]]), Err(ShapeError::BadCoordinate(_))));
        assert!(matches!(Ring::new(vec![[0.0, 0.0], [f64::NAN, 1.0], [0.0, 1.0]]), Err(ShapeError::BadCoordinate(_))));
    }

    #[test]
    fn geojson_polygons_and_multipolygons_read_and_write_back() {
        let geometry = serde_json::json!({"type": "MultiPolygon", "coordinates": [[square(0.0, 0.0, 1.0)], [square(5.0, 5.0, 1.0), square(5.25, 5.25, 0.5)]]});
        let shape = Shape::from_geojson(&geometry).unwrap();
        assert_eq!(Shape::from_geojson(&shape.to_geojson()).unwrap(), shape);
        assert!(shape.contains(5.1, 5.1) && !shape.contains(5.5, 5.5) && shape.contains(0.5, 0.5));
        let point = serde_json::json!({"type": "Point", "coordinates": [1.0, 2.0]});
        assert!(matches!(Shape::from_geojson(&point), Err(ShapeError::UnsupportedGeometry(t)) if t == "Point"));
        assert!(matches!(Shape::from_geojson(&serde_json::json!({"type": "Polygon", "coordinates": 7})), Err(ShapeError::Malformed(_))));
    }

    #[test]
    fn area_of_a_city_block() {
        let block = Shape::new(vec![Polygon { exterior: Ring::new(square(30.3, 59.9, 0.01)).unwrap(), holes: vec![] }]).unwrap();
        assert!((block.area_km2() - 0.621).abs() < 0.01, "{}", block.area_km2());
    }
}
