//! What intake's triage decided for each request, the operators' triage queue, and the routing
//! rules operators keep.

use crate::dialect::{classify, get_time, parse_json, parse_stored, to_json, Dialect, Row, SqlStore};
use crate::query::{AWAITING_STATUSES, REQUEST_COLUMNS};
use crate::requests::request_from_row;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::triage::{Prediction, PredictionRecord, RoutingRule, RuleDraft};
use okno_core::{Request, RequestId, RuleId};
use sqlx::AssertSqlSafe;

/// Triage records and routing rules.
#[async_trait]
pub trait TriageStore: Send + Sync {
    /// What intake's triage decided for a request, if it was triaged.
    async fn prediction(&self, request: RequestId) -> Result<Option<PredictionRecord>>;
    /// Open requests waiting for an operator's triage (not routed or reclassified by one since),
    /// oldest first, after `after_id`, at most `limit`.
    async fn triage_queue(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, PredictionRecord)>>;
    /// Requests with their triage record (if any), by id, after `after_id`, at most `limit`
    /// (for exporting training data).
    async fn requests_with_predictions(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, Option<PredictionRecord>)>>;
    /// Operators' routing rules, by id.
    async fn routing_rules(&self) -> Result<Vec<RoutingRule>>;
    /// Adds a validated rule (its codes must exist: a conflict otherwise).
    async fn add_routing_rule(&self, rule: &RuleDraft, by: &str, now: DateTime<Utc>) -> Result<RoutingRule>;
    /// Turns a rule on or off; false if there is no such rule.
    async fn set_routing_rule_active(&self, id: RuleId, active: bool) -> Result<bool>;
}

const PREDICTION_COLUMNS: &str = "p.request_id AS p_request_id, p.at AS p_at, p.services AS p_services, \
    p.agencies AS p_agencies, p.service_by AS p_service_by, p.agency_by AS p_agency_by, p.rule_id AS p_rule_id, \
    p.models AS p_models, p.needs_triage AS p_needs_triage, p.corrected_at AS p_corrected_at, p.corrected_by AS p_corrected_by";

fn prediction_from_row<D: Dialect>(row: &Row<D>) -> Result<Option<PredictionRecord>> {
    let Some(request_id) = D::get::<Option<RequestId>, _>(row, "p_request_id")? else { return Ok(None) };
    let text = |column: &str| D::get::<String, _>(row, column);
    Ok(Some(PredictionRecord {
        request_id,
        at: get_time::<D, _>(row, "p_at")?,
        prediction: Prediction {
            services: parse_json("services", &text("p_services")?)?,
            agencies: parse_json("agencies", &text("p_agencies")?)?,
            service_by: parse_stored("service_by", &text("p_service_by")?)?,
            agency_by: parse_stored("agency_by", &text("p_agency_by")?)?,
            rule_id: D::get(row, "p_rule_id")?,
            models: parse_json("models", &text("p_models")?)?,
            needs_triage: D::get(row, "p_needs_triage")?,
        },
        corrected_at: D::get_opt_time(row, "p_corrected_at")?,
        corrected_by: D::get(row, "p_corrected_by")?,
    }))
}

fn rule_from_row<D: Dialect>(row: &Row<D>) -> Result<RoutingRule> {
    Ok(RoutingRule {
        id: D::get(row, "id")?,
        keywords: parse_json("keywords", &D::get::<String, _>(row, "keywords")?)?,
        service: D::get(row, "service_code")?,
        agency: D::get(row, "agency_code")?,
        territory: D::get(row, "territory_code")?,
        priority: D::get(row, "priority")?,
        active: D::get(row, "active")?,
        created_by: D::get(row, "created_by")?,
        created_at: get_time::<D, _>(row, "created_at")?,
    })
}

/// Requests joined with their predictions: the columns of both, then the condition.
fn with_predictions(join: &str, condition: &str) -> String {
    let columns = REQUEST_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    format!("SELECT {columns}, {PREDICTION_COLUMNS} FROM requests r {join} predictions p ON p.request_id = r.id WHERE {condition}")
}

#[async_trait]
impl<D: Dialect> TriageStore for SqlStore<D> {
    async fn prediction(&self, request: RequestId) -> Result<Option<PredictionRecord>> {
        let sql = format!("SELECT {PREDICTION_COLUMNS} FROM predictions p WHERE p.request_id = $1");
        let row = D::sql(AssertSqlSafe(sql)).bind(request.0).fetch_optional(&mut *self.read().await?).await?;
        Ok(row.as_ref().map(prediction_from_row::<D>).transpose()?.flatten())
    }

    async fn triage_queue(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, PredictionRecord)>> {
        let sql = with_predictions("JOIN", &format!(
            "p.needs_triage AND p.corrected_at IS NULL AND r.status IN ({AWAITING_STATUSES}) AND r.id > $1 ORDER BY r.id LIMIT $2"));
        let rows = D::sql(AssertSqlSafe(sql)).bind(after_id).bind(i64::from(limit)).fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|row| {
                let p = prediction_from_row::<D>(row)?.ok_or_else(|| StoreError::Corrupt("triage row without a prediction".into()))?;
                Ok((request_from_row::<D>(row)?, p))
            })
            .collect()
    }

    async fn requests_with_predictions(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, Option<PredictionRecord>)>> {
        let sql = with_predictions("LEFT JOIN", "r.id > $1 ORDER BY r.id LIMIT $2");
        let rows = D::sql(AssertSqlSafe(sql)).bind(after_id).bind(i64::from(limit)).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(|row| Ok((request_from_row::<D>(row)?, prediction_from_row::<D>(row)?))).collect()
    }

    async fn routing_rules(&self) -> Result<Vec<RoutingRule>> {
        let rows = D::sql("SELECT * FROM routing_rules ORDER BY id").fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(rule_from_row::<D>).collect()
    }

    async fn add_routing_rule(&self, rule: &RuleDraft, by: &str, now: DateTime<Utc>) -> Result<RoutingRule> {
        let row = D::sql(
            "INSERT INTO routing_rules (keywords, service_code, agency_code, territory_code, priority, active, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7) RETURNING *",
        )
        .bind(to_json(&rule.keywords)).bind(rule.service.as_deref()).bind(rule.agency.as_deref()).bind(rule.territory.as_deref()).bind(rule.priority)
        .bind(by).bind_time(now)
        .fetch_one(&mut *self.write().await?).await.map_err(classify)?;
        rule_from_row::<D>(&row)
    }

    async fn set_routing_rule_active(&self, id: RuleId, active: bool) -> Result<bool> {
        let changed = D::sql("UPDATE routing_rules SET active = $1 WHERE id = $2").bind(active).bind(id).execute(&mut *self.write().await?).await?;
        Ok(changed > 0)
    }
}
