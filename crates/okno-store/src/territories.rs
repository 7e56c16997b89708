//! Territories (municipalities, districts) with their boundaries, and where stored requests lie
//! in them.

use crate::dialect::{classify, Conn, Dialect, SqlStore};
use crate::query::REQUEST_COLUMNS;
use crate::requests::request_from_row;
use crate::{Result, StoreError};
use async_trait::async_trait;
use okno_core::rollup::RollupDeltas;
use okno_core::{Coordinates, Location, Request, RequestId, Territory, TerritoryCode};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;

/// A territory's boundary as stored: a GeoJSON `MultiPolygon` in WGS84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredShape {
    /// The territory.
    pub territory_code: TerritoryCode,
    /// The boundary, GeoJSON geometry text.
    pub geometry: String,
    /// Its area in square kilometres.
    pub area_km2: f64,
    /// Whom the boundary is owed to ("© OpenStreetMap contributors"), shown beside the map.
    pub attribution: Option<String>,
}

/// Where a stored request's point lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The request.
    pub request_id: RequestId,
    /// Its point.
    pub coordinates: Coordinates,
    /// Its territory now.
    pub territory: Option<TerritoryCode>,
    /// What placing it found.
    pub location: Location,
}

/// A request's new place, from `okno reindex`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementUpdate {
    /// The request.
    pub request_id: RequestId,
    /// Its territory (unchanged when its point lies in none).
    pub territory: Option<TerritoryCode>,
    /// What placing it found.
    pub location: Location,
}

/// Territories, their boundaries and the placement of requests in them.
#[async_trait]
pub trait TerritoryStore: Send + Sync {
    /// Creates or updates a territory by code.
    async fn upsert_territory(&self, territory: &Territory) -> Result<()>;
    /// All territories, by code.
    async fn territories(&self) -> Result<Vec<Territory>>;
    /// Stores territories with their boundaries, all or none.
    async fn put_territory_shapes(&self, shapes: &[(Territory, StoredShape)]) -> Result<()>;
    /// All stored boundaries.
    async fn territory_shapes(&self) -> Result<Vec<StoredShape>>;
    /// The requests with a point, by id after `after_id`, at most `limit`.
    async fn locations(&self, after_id: RequestId, limit: u32) -> Result<Vec<Located>>;
    /// Stores new places of requests, all or none.
    async fn set_placements(&self, updates: &[PlacementUpdate]) -> Result<()>;
    /// Requests whose point was flagged (only those with `flag` when given), by id after
    /// `after_id`, at most `limit`.
    async fn location_issues(&self, flag: Option<&str>, after_id: RequestId, limit: u32) -> Result<Vec<Request>>;
    /// The addresses of requests placed in a territory, the most used first, at most `limit`:
    /// each with the middle of its points, a territory and how many requests.
    async fn known_addresses(&self, limit: u32) -> Result<Vec<AddressUse>>;
}

/// An address of stored requests, for the gazetteer.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressUse {
    /// The address as typed.
    pub address: String,
    /// The mean latitude of its requests.
    pub lat: f64,
    /// The mean longitude of its requests.
    pub lon: f64,
    /// The territory of its requests (the greatest code when they differ).
    pub territory: Option<TerritoryCode>,
    /// How many requests.
    pub requests: i64,
}

/// Inserts a territory or updates the stored one of its code.
async fn write_territory<D: Dialect>(conn: &mut Conn<D>, t: &Territory) -> Result<()> {
    D::sql(
        "INSERT INTO territories (code, name_ru, name_en, kind, parent_code, population) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO UPDATE SET name_ru = excluded.name_ru, \
         name_en = excluded.name_en, kind = excluded.kind, parent_code = excluded.parent_code, \
         population = excluded.population",
    )
    .bind(t.code.as_str()).bind(&t.name_ru).bind(&t.name_en).bind(&t.kind).bind(t.parent.as_deref()).bind(t.population)
    .execute(conn).await.map_err(classify)?;
    Ok(())
}

#[async_trait]
impl<D: Dialect> TerritoryStore for SqlStore<D> {
    async fn upsert_territory(&self, t: &Territory) -> Result<()> {
        write_territory::<D>(&mut *self.write().await?, t).await
    }

    async fn territories(&self) -> Result<Vec<Territory>> {
        let rows = D::sql("SELECT code, name_ru, name_en, kind, parent_code, population FROM territories ORDER BY code")
            .fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| {
                Ok(Territory {
                    code: D::get(r, 0)?, name_ru: D::get(r, 1)?, name_en: D::get(r, 2)?,
                    kind: D::get(r, 3)?, parent: D::get(r, 4)?, population: D::get(r, 5)?,
                })
            })
            .collect()
    }

    async fn put_territory_shapes(&self, shapes: &[(Territory, StoredShape)]) -> Result<()> {
        let mut tx = self.begin().await?;
        for (t, shape) in shapes {
            write_territory::<D>(&mut tx, t).await?;
            D::sql(
                "INSERT INTO territory_shapes (territory_code, geometry, area_km2, attribution) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (territory_code) DO UPDATE SET geometry = excluded.geometry, area_km2 = excluded.area_km2, \
                 attribution = excluded.attribution",
            )
            .bind(&shape.territory_code).bind(&shape.geometry).bind(shape.area_km2).bind(&shape.attribution)
            .execute(&mut tx).await.map_err(classify)?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn territory_shapes(&self) -> Result<Vec<StoredShape>> {
        let rows = D::sql("SELECT territory_code, geometry, area_km2, attribution FROM territory_shapes ORDER BY territory_code")
            .fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| Ok(StoredShape { territory_code: D::get(r, 0)?, geometry: D::get(r, 1)?, area_km2: D::get(r, 2)?, attribution: D::get(r, 3)? }))
            .collect()
    }

    async fn known_addresses(&self, limit: u32) -> Result<Vec<AddressUse>> {
        let rows = D::sql(
            "SELECT address, AVG(lat), AVG(lon), MAX(territory_code), COUNT(*) FROM requests \
             WHERE address IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL AND territory_code IS NOT NULL \
             GROUP BY address ORDER BY COUNT(*) DESC, address LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| Ok(AddressUse { address: D::get(r, 0)?, lat: D::get(r, 1)?, lon: D::get(r, 2)?, territory: D::get(r, 3)?, requests: D::get(r, 4)? }))
            .collect()
    }

    async fn locations(&self, after_id: RequestId, limit: u32) -> Result<Vec<Located>> {
        let rows = D::sql(
            "SELECT id, lat, lon, territory_code, location_flag, h3_cell FROM requests \
             WHERE id > $1 AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id LIMIT $2",
        )
        .bind(after_id).bind(i64::from(limit)).fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| {
                let (lat, lon): (f64, f64) = (D::get(r, "lat")?, D::get(r, "lon")?);
                Ok(Located {
                    request_id: D::get(r, "id")?,
                    coordinates: Coordinates::new(lat, lon).ok_or_else(|| StoreError::Corrupt(format!("coordinates {lat},{lon}")))?,
                    territory: D::get(r, "territory_code")?,
                    location: crate::dialect::location_from_row::<D>(r)?,
                })
            })
            .collect()
    }

    async fn set_placements(&self, updates: &[PlacementUpdate]) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut deltas = RollupDeltas::default();
        let mut before: HashMap<RequestId, Request> = HashMap::with_capacity(updates.len());
        for chunk in updates.chunks(500) {
            let ids = chunk.iter().map(|u| u.request_id.to_string()).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id IN ({ids})");
            for row in D::sql(AssertSqlSafe(sql)).fetch_all(&mut tx).await? {
                let request = request_from_row::<D>(&row)?;
                before.insert(request.id, request);
            }
        }
        for u in updates {
            let Some(mut request) = before.remove(&u.request_id) else { continue };
            deltas.count(&request, -1);
            request.territory.clone_from(&u.territory);
            request.location = u.location.clone();
            deltas.count(&request, 1);
            D::sql("UPDATE requests SET territory_code = $1, location_flag = $2, h3_cell = $3 WHERE id = $4")
                .bind(u.territory.as_deref()).bind(u.location.flag.map(|f| f.as_str())).bind(u.location.cell).bind(u.request_id.0)
                .execute(&mut tx).await.map_err(classify)?;
        }
        self.commit_counted(tx, &deltas).await?;
        Ok(())
    }

    async fn location_issues(&self, flag: Option<&str>, after_id: RequestId, limit: u32) -> Result<Vec<Request>> {
        let rows = D::sql(AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE location_flag IS NOT NULL \
             AND ($1 IS NULL OR location_flag = $1) AND id > $2 ORDER BY id LIMIT $3"
        )))
        .bind(flag).bind(after_id).bind(i64::from(limit)).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(request_from_row::<D>).collect()
    }
}
