//! Systemic problems: clusters of repeated complaints the scans propose, the requests that
//! belong to each, and the operators' handling of them.

use crate::dialect::{classify, get_time, parse_stored, Conn, Dialect, Row, SqlStore};
use crate::query;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::problem::{ClusterSummary, Link, Problem, ProblemChange, ProblemFilter, ProblemState, ProblemUpdate};
use okno_core::{Coordinates, ProblemId, RequestId};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;

/// Systemic problems and their member requests.
#[async_trait]
pub trait ProblemStore: Send + Sync {
    /// The problems the requests `ids` belong to, by request id.
    async fn problem_links(&self, ids: &[RequestId]) -> Result<HashMap<RequestId, Link>>;
    /// Stores what a problem scan found, in one transaction: new proposals and new requests of
    /// existing problems (a request already in a problem stays where it is).
    async fn record_problems(&self, changes: &[ProblemChange], now: DateTime<Utc>) -> Result<()>;
    /// Problems by a filter, newest first.
    async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>>;
    /// One problem.
    async fn problem(&self, id: ProblemId) -> Result<Option<Problem>>;
    /// An operator's change of a problem's state, name, owner or note.
    async fn update_problem(&self, id: ProblemId, change: &ProblemUpdate, by: &str, now: DateTime<Utc>) -> Result<Option<Problem>>;
    /// Adds request `request` to problem `problem` if the problem is open and the request
    /// belongs to none yet; whether it was added.
    async fn attach_to_problem(&self, problem: ProblemId, request: RequestId, now: DateTime<Utc>) -> Result<bool>;
}

fn problem_from_row<D: Dialect>(row: &Row<D>) -> Result<Problem> {
    Ok(Problem {
        id: ProblemId(D::get(row, "id")?),
        state: parse_stored("state", &D::get::<String, _>(row, "state")?)?,
        title: D::get(row, "title")?,
        owner: D::get(row, "owner_agency")?,
        summary: ClusterSummary {
            topic: D::get(row, "topic")?,
            territory: D::get(row, "territory_code")?,
            agency: D::get(row, "agency_code")?,
            centre: {
                let (lat, lon) = (D::get(row, "lat")?, D::get(row, "lon")?);
                Coordinates::new(lat, lon).ok_or_else(|| StoreError::Corrupt(format!("problem centre {lat},{lon}")))?
            },
            radius_m: D::get(row, "radius_m")?,
            sample_text: D::get(row, "sample_text")?,
            first_at: get_time::<D, _>(row, "first_at")?,
            last_at: get_time::<D, _>(row, "last_at")?,
        },
        members: D::get(row, "members")?,
        detected_at: get_time::<D, _>(row, "detected_at")?,
        updated_at: get_time::<D, _>(row, "updated_at")?,
        handled_by: D::get(row, "handled_by")?,
        note: D::get(row, "note")?,
    })
}

/// Links requests to a problem (those already in one stay there) and brings its count
/// and span up to date; how many were linked.
async fn add_problem_members<D: Dialect>(conn: &mut Conn<D>, problem: ProblemId, ids: &[RequestId], added_by: &str, now: DateTime<Utc>) -> Result<u64> {
    let mut linked = 0;
    for id in ids {
        linked += D::sql("INSERT INTO problem_members (request_id, problem_id, added_at, added_by) VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING")
            .bind(id).bind(problem.0).bind_time(now).bind(added_by)
            .execute(&mut *conn).await.map_err(classify)?;
    }
    D::sql(
        "UPDATE problems SET members = (SELECT COUNT(*) FROM problem_members WHERE problem_id = $1), \
         first_at = COALESCE((SELECT MIN(r.created_at) FROM problem_members m JOIN requests r ON r.id = m.request_id WHERE m.problem_id = $1), first_at), \
         last_at = COALESCE((SELECT MAX(r.created_at) FROM problem_members m JOIN requests r ON r.id = m.request_id WHERE m.problem_id = $1), last_at), \
         updated_at = $2 WHERE id = $1",
    )
    .bind(problem.0).bind_time(now).execute(&mut *conn).await.map_err(classify)?;
    Ok(linked)
}

#[async_trait]
impl<D: Dialect> ProblemStore for SqlStore<D> {
    async fn problem_links(&self, ids: &[RequestId]) -> Result<HashMap<RequestId, Link>> {
        let mut links = HashMap::new();
        let mut conn = self.read().await?;
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT m.request_id, m.problem_id, p.state FROM problem_members m JOIN problems p ON p.id = m.problem_id \
                 WHERE m.request_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = D::sql(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&mut conn).await? {
                let state: String = D::get(&row, "state")?;
                links.insert(D::get(&row, "request_id")?, (D::get(&row, "problem_id")?, parse_stored("state", &state)?));
            }
        }
        Ok(links)
    }

    async fn record_problems(&self, changes: &[ProblemChange], now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        for change in changes {
            let (id, draft) = match change {
                ProblemChange::Create(d) => {
                    let f = &d.summary;
                    let row = D::sql(
                        "INSERT INTO problems (topic, territory_code, agency_code, lat, lon, radius_m, sample_text, first_at, last_at, \
                         members, detected_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) RETURNING id",
                    )
                    .bind(&f.topic).bind(f.territory.as_deref()).bind(f.agency.as_deref()).bind(f.centre.lat).bind(f.centre.lon).bind(f.radius_m)
                    .bind(&f.sample_text).bind_time(f.first_at).bind_time(f.last_at).bind_time(now)
                    .fetch_one(&mut tx).await.map_err(classify)?;
                    (ProblemId(D::get(&row, 0)?), d)
                }
                ProblemChange::Extend { problem, draft } => {
                    let f = &draft.summary;
                    D::sql("UPDATE problems SET lat = $1, lon = $2, radius_m = $3, sample_text = $4 WHERE id = $5")
                        .bind(f.centre.lat).bind(f.centre.lon).bind(f.radius_m).bind(&f.sample_text).bind(problem.0)
                        .execute(&mut tx).await.map_err(classify)?;
                    (*problem, draft)
                }
            };
            add_problem_members::<D>(&mut tx, id, &draft.members, "scan", now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>> {
        let (sql, binds) = query::list_problems(filter);
        let rows = D::sql(AssertSqlSafe(sql)).bind_all(binds).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(problem_from_row::<D>).collect()
    }

    async fn problem(&self, id: ProblemId) -> Result<Option<Problem>> {
        let row = D::sql("SELECT * FROM problems WHERE id = $1").bind(id.0).fetch_optional(&mut *self.read().await?).await?;
        row.as_ref().map(problem_from_row::<D>).transpose()
    }

    async fn update_problem(&self, id: ProblemId, change: &ProblemUpdate, by: &str, now: DateTime<Utc>) -> Result<Option<Problem>> {
        let row = D::sql(
            "UPDATE problems SET state = $1, title = COALESCE($2, title), owner_agency = COALESCE($3, owner_agency), \
             note = COALESCE($4, note), handled_by = $5, updated_at = $6 WHERE id = $7 RETURNING *",
        )
        .bind(change.state.as_str()).bind(&change.title).bind(&change.owner).bind(&change.note).bind(by).bind_time(now).bind(id.0)
        .fetch_optional(&mut *self.write().await?).await.map_err(classify)?;
        row.as_ref().map(problem_from_row::<D>).transpose()
    }

    async fn attach_to_problem(&self, problem: ProblemId, request: RequestId, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT state FROM problems WHERE id = $1{}", D::LOCK_FOR_UPDATE);
        let row = D::sql(AssertSqlSafe(sql)).bind(problem.0).fetch_optional(&mut tx).await?;
        let open = match row {
            Some(row) => parse_stored::<ProblemState>("state", &D::get::<String, _>(&row, 0)?)?.is_open(),
            None => false,
        };
        let added = open && add_problem_members::<D>(&mut tx, problem, &[request], "intake", now).await? == 1;
        tx.commit().await?;
        Ok(added)
    }
}
