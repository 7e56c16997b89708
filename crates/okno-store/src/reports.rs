//! Counts over all requests: what scorecards are computed from, counts by a column, totals.

use crate::dialect::{Dialect, Row, SqlStore};
use crate::query::{self, AWAITING_STATUSES, FINAL_STATUSES};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::scorecard::{ScoreCounts, ScoreGroup};
use sqlx::AssertSqlSafe;

/// What scorecards group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreBy {
    /// The responsible agency.
    Agency,
    /// The territory.
    Territory,
}

/// A column requests can be counted by (for import verification and summaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    /// First-level topic label.
    Category,
    /// Responsible agency code.
    Agency,
    /// Fine-grained status.
    Status,
    /// Service code.
    Service,
    /// Channel.
    Channel,
}

/// Counts the database makes over the requests.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// What scorecards are computed from, per agency or territory, for requests submitted in
    /// `[from, to)`: counts made by the database (overdue and on time as of `now`), and the
    /// times of the answered or finished requests, read from one snapshot.
    async fn score_groups(&self, from: DateTime<Utc>, to: DateTime<Utc>, by: ScoreBy, now: DateTime<Utc>) -> Result<Vec<ScoreGroup>>;
    /// Counts requests grouped by a column, largest first.
    async fn count_requests_by(&self, by: CountBy) -> Result<Vec<(Option<String>, i64)>>;
    /// Number of stored requests and events.
    async fn totals(&self) -> Result<(i64, i64)>;
}

#[async_trait]
impl<D: Dialect> ReportStore for SqlStore<D> {
    async fn score_groups(&self, from: DateTime<Utc>, to: DateTime<Utc>, by: ScoreBy, now: DateTime<Utc>) -> Result<Vec<ScoreGroup>> {
        let key = match by {
            ScoreBy::Agency => "agency_code",
            ScoreBy::Territory => "territory_code",
        };
        let mut tx = self.reader.begin().await?;
        if let Some(snapshot) = D::READ_SNAPSHOT {
            D::sql(snapshot).execute(&mut tx).await?;
        }
        let counts = format!(
            "SELECT {key}, COUNT(*), \
             SUM(CASE WHEN status IN ({FINAL_STATUSES}) THEN 1 ELSE 0 END), \
             SUM(CASE WHEN due_at IS NOT NULL AND first_answer_at <= due_at THEN 1 ELSE 0 END), \
             SUM(CASE WHEN due_at IS NOT NULL AND (first_answer_at IS NOT NULL OR due_at < $3) THEN 1 ELSE 0 END), \
             SUM(CASE WHEN status IN ({AWAITING_STATUSES}) AND due_at < $3 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN reopenings > 0 THEN 1 ELSE 0 END), \
             COUNT(rating), COALESCE(SUM(rating), 0) \
             FROM requests WHERE created_at >= $1 AND created_at < $2 GROUP BY {key}"
        );
        let rows = D::sql(AssertSqlSafe(counts)).bind_time(from).bind_time(to).bind_time(now).fetch_all(&mut tx).await?;
        let count = |r: &Row<D>, i: usize| -> Result<u64> { Ok(u64::try_from(D::get::<i64, _>(r, i)?).unwrap_or(0)) };
        let mut groups = rows
            .iter()
            .map(|r| Ok(ScoreGroup {
                key: D::get(r, 0)?,
                counts: ScoreCounts {
                    received: count(r, 1)?, closed: count(r, 2)?, on_time: count(r, 3)?, judged: count(r, 4)?,
                    overdue_now: count(r, 5)?, reopened: count(r, 6)?, rated: count(r, 7)?, rating_sum: count(r, 8)?,
                },
                times: Vec::new(),
            }))
            .collect::<Result<Vec<_>>>()?;
        // The times of the answered or finished requests come packed, one text per group:
        // the driver copies every value it reads, and row by row a year of a large region
        // (millions of rows) took several times longer than the database's own work.
        let times = format!(
            "SELECT {key}, {} FROM requests \
             WHERE created_at >= $1 AND created_at < $2 AND (first_answer_at IS NOT NULL OR closed_at IS NOT NULL) GROUP BY {key}",
            D::packed_times_sql()
        );
        let packed = D::sql(AssertSqlSafe(times)).bind_time(from).bind_time(to).fetch_all(&mut tx).await?;
        for r in &packed {
            let key: Option<String> = D::get(r, 0)?;
            if let Some(group) = groups.iter_mut().find(|g| g.key == key) {
                group.times = query::unpack_times(&D::get::<String, _>(r, 1)?)?;
            }
        }
        tx.commit().await?;
        Ok(groups)
    }

    async fn count_requests_by(&self, by: CountBy) -> Result<Vec<(Option<String>, i64)>> {
        let column = match by {
            CountBy::Category => "category",
            CountBy::Agency => "agency_code",
            CountBy::Status => "status",
            CountBy::Service => "service_code",
            CountBy::Channel => "channel",
        };
        let sql = format!("SELECT {column}, COUNT(*) FROM requests GROUP BY {column} ORDER BY COUNT(*) DESC, {column}");
        let rows = D::sql(AssertSqlSafe(sql)).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(|r| Ok((D::get(r, 0)?, D::get(r, 1)?))).collect()
    }

    async fn totals(&self) -> Result<(i64, i64)> {
        let row = D::sql("SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM events)").fetch_one(&mut *self.read().await?).await?;
        Ok((D::get(&row, 0)?, D::get(&row, 1)?))
    }
}
