//! The service catalog and the agencies requests are routed to.

use crate::dialect::{classify, parse_json, Dialect, Row, SqlStore};
use crate::{Result, StoreError};
use async_trait::async_trait;
use okno_core::{Agency, Service};

/// Services (request types) and agencies.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Creates or updates an agency by code.
    async fn upsert_agency(&self, agency: &Agency) -> Result<()>;
    /// All agencies, by code.
    async fn agencies(&self) -> Result<Vec<Agency>>;
    /// Creates or updates a service by code.
    async fn upsert_service(&self, service: &Service) -> Result<()>;
    /// The whole catalog, by group then code.
    async fn services(&self) -> Result<Vec<Service>>;
    /// One service.
    async fn service(&self, code: &str) -> Result<Option<Service>>;
}

fn service_from_row<D: Dialect>(row: &Row<D>) -> Result<Service> {
    Ok(Service {
        code: D::get(row, "code")?,
        name_ru: D::get(row, "name_ru")?,
        name_en: D::get(row, "name_en")?,
        description_ru: D::get(row, "description_ru")?,
        description_en: D::get(row, "description_en")?,
        group: D::get(row, "group_name")?,
        keywords: parse_json("keywords", &D::get::<String, _>(row, "keywords")?)?,
        attributes: parse_json("attributes", &D::get::<String, _>(row, "attributes")?)?,
        default_agency: D::get(row, "default_agency")?,
        deadline_regime: D::get(row, "deadline_regime")?,
        electronic: D::get(row, "electronic")?,
        active: D::get(row, "active")?,
    })
}

#[async_trait]
impl<D: Dialect> CatalogStore for SqlStore<D> {
    async fn upsert_agency(&self, a: &Agency) -> Result<()> {
        D::sql(
            "INSERT INTO agencies (code, name_ru, name_en, parent_code) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET name_ru = excluded.name_ru, name_en = excluded.name_en, \
             parent_code = excluded.parent_code",
        )
        .bind(a.code.as_str()).bind(&a.name_ru).bind(&a.name_en).bind(a.parent.as_deref())
        .execute(&mut *self.write().await?).await.map_err(classify)?;
        Ok(())
    }

    async fn agencies(&self) -> Result<Vec<Agency>> {
        let rows = D::sql("SELECT code, name_ru, name_en, parent_code FROM agencies ORDER BY code").fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| Ok(Agency { code: D::get(r, 0)?, name_ru: D::get(r, 1)?, name_en: D::get(r, 2)?, parent: D::get(r, 3)? }))
            .collect()
    }

    async fn upsert_service(&self, s: &Service) -> Result<()> {
        let keywords = serde_json::to_string(&s.keywords).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let attributes = serde_json::to_string(&s.attributes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        D::sql(
            "INSERT INTO services (code, name_ru, name_en, description_ru, description_en, group_name, keywords, \
             attributes, default_agency, deadline_regime, electronic, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (code) DO UPDATE SET \
             name_ru = excluded.name_ru, name_en = excluded.name_en, description_ru = excluded.description_ru, \
             description_en = excluded.description_en, group_name = excluded.group_name, keywords = excluded.keywords, \
             attributes = excluded.attributes, default_agency = excluded.default_agency, \
             deadline_regime = excluded.deadline_regime, electronic = excluded.electronic, active = excluded.active",
        )
        .bind(s.code.as_str()).bind(&s.name_ru).bind(&s.name_en).bind(&s.description_ru).bind(&s.description_en)
        .bind(&s.group).bind(keywords).bind(attributes).bind(s.default_agency.as_deref()).bind(&s.deadline_regime)
        .bind(s.electronic).bind(s.active)
        .execute(&mut *self.write().await?).await.map_err(classify)?;
        Ok(())
    }

    async fn services(&self) -> Result<Vec<Service>> {
        let rows = D::sql("SELECT * FROM services ORDER BY group_name, code").fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(service_from_row::<D>).collect()
    }

    async fn service(&self, code: &str) -> Result<Option<Service>> {
        let row = D::sql("SELECT * FROM services WHERE code = $1").bind(code).fetch_optional(&mut *self.read().await?).await?;
        row.as_ref().map(service_from_row::<D>).transpose()
    }
}
