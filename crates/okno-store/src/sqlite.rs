//! The embedded SQLite backend: one file, write-ahead log, `synchronous = FULL` so that a
//! committed transaction survives a crash or power loss. Writes go through a single connection
//! (SQLite allows one writer at a time; queuing them here avoids lock errors), reads through a pool.

use crate::backend::impl_store;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// Times are stored as Unix microseconds.
type DbTime = i64;

fn to_db(t: chrono::DateTime<chrono::Utc>) -> DbTime {
    t.timestamp_micros()
}

fn from_db(micros: DbTime) -> crate::Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(micros).ok_or_else(|| crate::StoreError::Corrupt(format!("time {micros}")))
}

/// The writer connection's page cache, as `PRAGMA cache_size` takes it (negative: KiB).
pub const WRITER_CACHE_KIB: &str = "-65536";

/// The schema's migrations, oldest first: (description, SQL).
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    ("open311", include_str!("../migrations/sqlite/0002_open311.sql")),
    ("deadlines", include_str!("../migrations/sqlite/0003_deadlines.sql")),
    ("clock", include_str!("../migrations/sqlite/0004_clock.sql")),
    ("routing", include_str!("../migrations/sqlite/0005_routing.sql")),
    ("triage", include_str!("../migrations/sqlite/0006_triage.sql")),
    ("geo", include_str!("../migrations/sqlite/0007_geo.sql")),
    ("rollups", include_str!("../migrations/sqlite/0008_rollups.sql")),
    ("alerts", include_str!("../migrations/sqlite/0009_alerts.sql")),
    ("merge", include_str!("../migrations/sqlite/0010_merge.sql")),
    ("problems", include_str!("../migrations/sqlite/0011_problems.sql")),
    ("reopenings", include_str!("../migrations/sqlite/0012_reopenings.sql")),
    ("rollup dims", include_str!("../migrations/sqlite/0013_rollup_dims.sql")),
];

/// Okno's store in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    listeners: crate::Listeners,
    dims: crate::dims::RollupDims,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (creating the file and its folder) or `sqlite::memory:`, and migrates it.
    pub async fn open(url: &str) -> crate::Result<Self> {
        let in_memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(if in_memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // An in-memory database exists per connection: share the single writer connection for reads.
        // The writer keeps a larger page cache (64 MiB; SQLite's default is 2 MiB): an import
        // appends to every index at once, at one place per agency, territory, status and so on,
        // and with the default cache those pages keep being evicted and read back.
        let writer = SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE_KIB)).await?;
        crate::backend::migrator(MIGRATIONS).run(&writer).await?;
        // Readers hand rows to the async side through a channel; at the default 50 rows the
        // worker thread and the reading task take turns row by row, which made reading a
        // million scorecard rows take 8.2 s (5.4 s with a larger buffer; SQLite itself: 1 s).
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true).row_buffer_size(4096)).await?
        };
        Ok(SqliteStore { writer, reader, listeners: crate::Listeners::default(), dims: crate::dims::RollupDims::default() })
    }
}

/// Which of `ids` from source `system` are stored already.
async fn known_source_ids(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, system: &str, ids: &[&str]) -> crate::Result<Vec<String>> {
    let mut known = Vec::new();
    for chunk in ids.chunks(1_000) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT source_id FROM requests WHERE source_system = ? AND source_id IN ({placeholders})");
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(system);
        for id in chunk {
            q = q.bind(*id);
        }
        known.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(known)
}

/// Ids for `n` new requests: SQLite has one writer, so the next ids after the largest are free
/// for the rest of this transaction.
async fn reserve_request_ids(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, n: usize) -> crate::Result<Vec<i64>> {
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM requests").fetch_one(&mut **tx).await?;
    Ok((next..next + n as i64).collect())
}

/// Most rows in one multi-row `INSERT` (SQLite binds at most 32,766 parameters per statement).
const ROWS_PER_INSERT: usize = 500;

/// Writes rows with multi-row `INSERT`s, made and bound as they are written (see
/// `execute_pipelined`), so a bulk import keeps SQLite's thread and this one busy at once.
async fn write_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    table: &str,
    columns: &[&str],
    rows: crate::query::Rows<'_>,
) -> crate::Result<()> {
    let per_statement = ROWS_PER_INSERT.min(32_000 / columns.len());
    let full_sql = crate::query::multi_row_insert(table, columns, per_statement, false);
    let mut rows = rows.peekable();
    let statements = std::iter::from_fn(move || {
        rows.peek()?;
        let chunk: Vec<Vec<crate::query::Bind>> = rows.by_ref().take(per_statement).collect();
        let sql = if chunk.len() == per_statement { full_sql.clone() } else { crate::query::multi_row_insert(table, columns, chunk.len(), false) };
        Some(bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), chunk.into_iter().flatten()))
    });
    execute_pipelined(tx, Box::new(statements)).await
}

/// A time column's hour since the Unix epoch, in SQL (times are microseconds after 1970).
fn hour_sql(column: &str) -> String {
    format!("{column} / 3600000000")
}

/// An aggregate packing the creation, first-answer and closing times of a group's rows into one
/// text (see [`crate::query::unpack_times`]); times are stored as microseconds already.
fn packed_times_sql() -> String {
    "group_concat(created_at || ',' || IFNULL(first_answer_at, '') || ',' || IFNULL(closed_at, ''), ';')".to_owned()
}

/// Nothing to ask: in WAL mode a read transaction sees one snapshot from its first read on.
const READ_SNAPSHOT: Option<&str> = None;

/// Anonymous `?` placeholders: SQLite looks numbered ones up in a list.
const NUMBERED_PLACEHOLDERS: bool = false;

impl_store!(store = SqliteStore, db = sqlx::Sqlite, backend = Backend::Sqlite, lock = "");
