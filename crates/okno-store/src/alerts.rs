//! Spike alerts: what the scans found, and how operators handled it.

use crate::dialect::{classify, get_time, parse_stored, Dialect, Row, SqlStore};
use crate::query;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::alert::{Alert, AlertDraft, AlertFilter, AlertState};
use okno_core::AlertId;
use sqlx::AssertSqlSafe;

/// Spike alerts.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Records spikes found by a scan: new ones as `new` alerts; those already raised for the
    /// same topic, territory, period and first day get the new counts and keep their state.
    /// Returns the stored alerts.
    async fn record_alerts(&self, drafts: &[AlertDraft], now: DateTime<Utc>) -> Result<Vec<Alert>>;
    /// Alerts matching the filter, newest first.
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>>;
    /// One alert.
    async fn alert(&self, id: AlertId) -> Result<Option<Alert>>;
    /// Moves an alert to `state`, recording who did it and their note (a missing note keeps the
    /// previous one); `None` when there is no such alert.
    async fn set_alert_state(&self, id: AlertId, state: AlertState, by: &str, note: Option<&str>, now: DateTime<Utc>) -> Result<Option<Alert>>;
}

fn alert_from_row<D: Dialect>(row: &Row<D>) -> Result<Alert> {
    let territory: String = D::get(row, "territory_code")?;
    Ok(Alert {
        id: D::get(row, "id")?,
        spike: AlertDraft {
            category: D::get(row, "category")?,
            territory: (!territory.is_empty()).then(|| territory.into()),
            period: parse_stored("period", &D::get::<String, _>(row, "period")?)?,
            first_day: D::get(row, "first_day")?,
            last_day: D::get(row, "last_day")?,
            observed: D::get(row, "observed")?,
            expected: D::get(row, "expected")?,
            score: D::get(row, "score")?,
        },
        state: parse_stored("state", &D::get::<String, _>(row, "state")?)?,
        detected_at: get_time::<D, _>(row, "detected_at")?,
        updated_at: get_time::<D, _>(row, "updated_at")?,
        handled_by: D::get(row, "handled_by")?,
        note: D::get(row, "note")?,
    })
}

#[async_trait]
impl<D: Dialect> AlertStore for SqlStore<D> {
    async fn record_alerts(&self, drafts: &[AlertDraft], now: DateTime<Utc>) -> Result<Vec<Alert>> {
        let mut tx = self.begin().await?;
        let mut stored = Vec::with_capacity(drafts.len());
        for d in drafts {
            let row = D::sql(
                "INSERT INTO alerts (period, category, territory_code, first_day, last_day, observed, expected, score, \
                 detected_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (period, category, territory_code, first_day) DO UPDATE SET last_day = excluded.last_day, \
                 observed = excluded.observed, expected = excluded.expected, score = excluded.score, \
                 updated_at = excluded.updated_at RETURNING *",
            )
            .bind(d.period.as_str()).bind(&d.category).bind(d.territory.as_deref().unwrap_or("")).bind(d.first_day)
            .bind(d.last_day).bind(d.observed).bind(d.expected).bind(d.score).bind_time(now)
            .fetch_one(&mut tx).await.map_err(classify)?;
            stored.push(alert_from_row::<D>(&row)?);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        let (sql, binds) = query::list_alerts(filter);
        let rows = D::sql(AssertSqlSafe(sql)).bind_all(binds).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(alert_from_row::<D>).collect()
    }

    async fn alert(&self, id: AlertId) -> Result<Option<Alert>> {
        let row = D::sql("SELECT * FROM alerts WHERE id = $1").bind(id).fetch_optional(&mut *self.read().await?).await?;
        row.as_ref().map(alert_from_row::<D>).transpose()
    }

    async fn set_alert_state(&self, id: AlertId, state: AlertState, by: &str, note: Option<&str>, now: DateTime<Utc>) -> Result<Option<Alert>> {
        let row = D::sql("UPDATE alerts SET state = $1, handled_by = $2, note = COALESCE($3, note), updated_at = $4 WHERE id = $5 RETURNING *")
            .bind(state.as_str()).bind(by).bind(note).bind_time(now).bind(id)
            .fetch_optional(&mut *self.write().await?).await.map_err(classify)?;
        row.as_ref().map(alert_from_row::<D>).transpose()
    }
}
