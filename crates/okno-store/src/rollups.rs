//! The analytics rollups: counts of requests per creation hour × cell × territory × service ×
//! category × agency × channel × closing hour, kept in the same transaction as every write that
//! changes a request, their texts stored once in `rollup_dims`; and the recount that checks them.

use crate::dialect::{classify, Conn, Dialect, SqlStore, Tx};
pub use crate::listeners::RollupListener;
use crate::query::{self, Bind};
use crate::{Result, StoreError};
use async_trait::async_trait;
use okno_core::rollup::{RollupDeltas, RollupKey, RollupRow};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;

/// What recounting the rollups from the requests found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RollupRebuild {
    /// Keys that differed between the kept rollups and the recount (0 when they agree).
    pub differing: u64,
    /// Rollup rows after the call.
    pub rows: u64,
    /// Requests they count.
    pub requests: u64,
    /// Whether the kept rollups were replaced by the recount.
    pub replaced: bool,
}

/// The rollups the in-memory read models are built from.
#[async_trait]
pub trait RollupStore: Send + Sync {
    /// Calls `listener` after every committed change to the rollups made through this store.
    fn watch_rollups(&self, listener: RollupListener);
    /// The rollups of the creation hours in `[from_hour, to_hour)`.
    async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<RollupRow>>;
    /// The first and the last creation hour counted, when any request is.
    async fn rollup_hours(&self) -> Result<Option<(i64, i64)>>;
    /// Recounts the rollups from the requests in SQL and compares them with the kept ones;
    /// unless `dry_run`, replaces the kept ones when they differ.
    async fn rebuild_rollups(&self, dry_run: bool) -> Result<RollupRebuild>;
}

/// The `rollup_dims` ids of the texts in `deltas`' keys, adding the values not stored
/// yet; also returns the pairs it had to ask for, for the dictionary to learn once the
/// transaction commits (not before: a rollback takes added values back).
async fn dim_ids<'k, D: Dialect>(conn: &mut Conn<D>, dims: &crate::dims::RollupDims, deltas: &'k RollupDeltas)
    -> Result<(HashMap<&'k str, i64>, Vec<(String, i64)>)> {
    let (mut ids, unknown) = dims.split(deltas.iter().flat_map(|(key, _)| query::dim_texts(key)));
    let mut asked = Vec::with_capacity(unknown.len());
    for value in unknown {
        let row = D::sql(query::ADD_ROLLUP_DIM).bind(value).fetch_one(&mut *conn).await.map_err(classify)?;
        let id: i64 = D::get(&row, 0)?;
        ids.insert(value, id);
        asked.push((value.to_owned(), id));
    }
    Ok((ids, asked))
}

/// Adds counts to the rollups inside the writing transaction: additions are upserted in
/// batches, subtractions update their key and remove it when its count reaches zero. A
/// subtraction from a key not stored, or below zero, is refused: the rollups drifted.
/// Returns the dictionary pairs to learn after the commit (see [`dim_ids`]).
async fn write_rollups<D: Dialect>(conn: &mut Conn<D>, dims: &crate::dims::RollupDims, deltas: &RollupDeltas) -> Result<Vec<(String, i64)>> {
    let (ids, asked) = dim_ids::<D>(conn, dims, deltas).await?;
    let (added, removed): (Vec<_>, Vec<_>) = deltas.iter().partition(|(_, n)| *n > 0);
    let upserts = added.chunks(query::ROLLUPS_PER_UPSERT).map(|chunk| {
        let sql = query::upsert_rollups(chunk.len(), D::NUMBERED_PLACEHOLDERS);
        D::sql(AssertSqlSafe(sql)).bind_all(chunk.iter().flat_map(|(key, n)| query::rollup_row(key, &ids, Some(*n))))
    });
    crate::dialect::execute_pipelined::<D>(conn, Box::new(upserts)).await?;
    for (key, n) in removed {
        let mut binds = vec![Bind::Int(Some(n))];
        binds.extend(query::rollup_row(key, &ids, None));
        let changed = D::sql(AssertSqlSafe(query::SUBTRACT_ROLLUP.as_str())).bind_all(binds).execute(&mut *conn).await.map_err(classify)?;
        if changed != 1 {
            return Err(StoreError::Corrupt(format!("rollup {key:?} is not stored; run `okno rollup rebuild`")));
        }
        D::sql(AssertSqlSafe(query::DELETE_EMPTY_ROLLUP.as_str())).bind_all(query::rollup_row(key, &ids, None)).execute(&mut *conn).await?;
    }
    Ok(asked)
}

impl<D: Dialect> SqlStore<D> {
    /// Writes the rollup changes of a transaction, commits it, then lets the rollups'
    /// dictionary learn the values added and the listeners hear of the changes.
    pub(crate) async fn commit_counted(&self, mut tx: Tx<D>, deltas: &RollupDeltas) -> Result<()> {
        let asked = write_rollups::<D>(&mut tx, &self.dims, deltas).await?;
        tx.commit().await?;
        self.dims.learn(asked);
        self.listeners.notify(deltas);
        Ok(())
    }

    /// Reads the whole rollups' dictionary in (values another process added).
    async fn read_rollup_dims(&self) -> Result<()> {
        let rows = D::sql("SELECT id, value FROM rollup_dims").fetch_all(&mut *self.read().await?).await?;
        let pairs = rows.iter().map(|row| Ok((D::get(row, 1)?, D::get(row, 0)?))).collect::<Result<Vec<(String, i64)>>>()?;
        self.dims.learn(pairs);
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> RollupStore for SqlStore<D> {
    fn watch_rollups(&self, listener: RollupListener) {
        self.listeners.add(listener);
    }

    async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<RollupRow>> {
        let sql = format!("SELECT {}, n FROM rollups WHERE hour >= $1 AND hour < $2", query::ROLLUP_KEY_COLUMNS.join(", "));
        let found = D::sql(AssertSqlSafe(sql)).bind(from_hour).bind(to_hour).fetch_all(&mut *self.read().await?).await?;
        // Decoded by value, so each driver row is freed as its numbers are taken: a month of a
        // large region is held once, not twice.
        let mut rows = Vec::with_capacity(found.len());
        for row in found {
            let mut values = [0_i64; 9];
            for (i, value) in values.iter_mut().enumerate() {
                *value = D::get(&row, i)?;
            }
            rows.push(values);
        }
        if !self.dims.knows_all(rows.iter().flat_map(|r| r[2..7].iter().copied())) {
            self.read_rollup_dims().await?;
        }
        self.dims.with_values(|values| {
            let text = |id: i64| values.get(id).map(str::to_owned).ok_or_else(|| StoreError::Corrupt(format!("rollup_dims has no id {id}")));
            rows.into_iter()
                .map(|[hour, cell, territory, service, category, agency, channel, closed_hour, n]| Ok(RollupRow {
                    key: RollupKey {
                        hour, cell, territory: text(territory)?, service: text(service)?, category: text(category)?,
                        agency: text(agency)?, channel: text(channel)?, closed_hour,
                    },
                    n,
                }))
                .collect()
        })
    }

    async fn rollup_hours(&self) -> Result<Option<(i64, i64)>> {
        // Two subqueries: each is one step down the key's index, where SQLite answers
        // `min(hour), max(hour)` together by reading every row (3.8 s at ten million).
        let row = D::sql("SELECT (SELECT min(hour) FROM rollups), (SELECT max(hour) FROM rollups)").fetch_one(&mut *self.read().await?).await?;
        let (first, last): (Option<i64>, Option<i64>) = (D::get(&row, 0)?, D::get(&row, 1)?);
        Ok(first.zip(last))
    }

    async fn rebuild_rollups(&self, dry_run: bool) -> Result<RollupRebuild> {
        let fresh = query::rollups_from_requests(D::hour_sql);
        let columns = [&query::ROLLUP_KEY_COLUMNS[..], &["n"]].concat().join(", ");
        let mut tx = self.begin().await?;
        D::sql(AssertSqlSafe(query::ADD_ROLLUP_DIMS_OF_REQUESTS.as_str())).execute(&mut tx).await?;
        let row = D::sql(AssertSqlSafe(format!(
            "WITH fresh AS ({fresh}) SELECT \
             (SELECT count(*) FROM (SELECT {columns} FROM rollups EXCEPT SELECT {columns} FROM fresh) kept_only) + \
             (SELECT count(*) FROM (SELECT {columns} FROM fresh EXCEPT SELECT {columns} FROM rollups) fresh_only)"
        ))).fetch_one(&mut tx).await?;
        let differing: i64 = D::get(&row, 0)?;
        let replaced = !dry_run && differing > 0;
        if replaced {
            D::sql("DELETE FROM rollups").execute(&mut tx).await?;
            D::sql(AssertSqlSafe(format!("INSERT INTO rollups ({columns}) {fresh}"))).execute(&mut tx).await?;
        }
        let row = D::sql("SELECT count(*), CAST(sum(n) AS BIGINT) FROM rollups").fetch_one(&mut tx).await?;
        let (rows, requests): (i64, Option<i64>) = (D::get(&row, 0)?, D::get(&row, 1)?);
        // A check changes nothing, not even the dictionary the recount added to.
        if dry_run { tx.rollback().await? } else { tx.commit().await? }
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(RollupRebuild { differing: count(differing), rows: count(rows), requests: count(requests.unwrap_or(0)), replaced })
    }
}
