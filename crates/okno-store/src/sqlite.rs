//! The embedded SQLite backend: one file, write-ahead log, `synchronous = FULL` so that a
//! committed transaction survives a crash or power loss. Writes go through a single connection
//! (SQLite allows one writer at a time; queuing them here avoids lock errors), reads through a pool.
//! Times are stored as Unix microseconds.

use crate::dialect::{execute_pipelined, Column, Conn, Dialect, Index, Param, Query, Row, Sql, SqlStore};
use crate::query::{multi_row_insert, Bind, Rows};
use crate::{Backend, Result, StoreError};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, Sqlite};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

/// The writer connection's page cache, as `PRAGMA cache_size` takes it (negative: KiB).
pub const WRITER_CACHE_KIB: &str = "-65536";

/// The schema's migrations, oldest first: (description, SQL), listed by the build script.
pub(crate) const MIGRATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations_sqlite.rs"));

/// SQLite's ways.
#[derive(Debug, Clone, Copy)]
pub struct SqliteDialect;

/// Okno's store in an SQLite file.
pub type SqliteStore = SqlStore<SqliteDialect>;

impl SqlStore<SqliteDialect> {
    /// Opens `sqlite://PATH` (creating the file and its folder) or `sqlite::memory:`, and migrates it.
    pub async fn open(url: &str) -> Result<Self> {
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
        crate::dialect::migrator(MIGRATIONS).run(&writer).await?;
        // Readers hand rows to the async side through a channel; at the default 50 rows the
        // worker thread and the reading task take turns row by row, which made reading a
        // million scorecard rows take 8.2 s (5.4 s with a larger buffer; SQLite itself: 1 s).
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true).row_buffer_size(4096)).await?
        };
        Ok(SqlStore::new(writer, reader))
    }
}

/// Most rows in one multi-row `INSERT` (SQLite binds at most 32,766 parameters per statement).
const ROWS_PER_INSERT: usize = 500;

impl Dialect for SqliteDialect {
    type DB = Sqlite;
    const BACKEND: Backend = Backend::Sqlite;
    /// SQLite has one writer: a transaction's reads are already its own.
    const LOCK_FOR_UPDATE: &'static str = "";
    const NUMBERED_PLACEHOLDERS: bool = false;
    /// Nothing to ask: in WAL mode a read transaction sees one snapshot from its first read on.
    const READ_SNAPSHOT: Option<&'static str> = None;

    fn bind<'t, T: Param<'t>>(query: Query<Self>, value: T) -> Query<Self> {
        query.bind(value)
    }

    fn bind_time(query: Query<Self>, time: Option<DateTime<Utc>>) -> Query<Self> {
        query.bind(time.map(|t| t.timestamp_micros()))
    }

    fn get<T: Column, I: Index>(row: &Row<Self>, index: I) -> sqlx::Result<T> {
        row.try_get(index)
    }

    fn get_opt_time<I: Index>(row: &Row<Self>, index: I) -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(index)?
            .map(|micros| DateTime::from_timestamp_micros(micros).ok_or_else(|| StoreError::Corrupt(format!("time {micros}"))))
            .transpose()
    }

    async fn execute(query: Query<Self>, conn: &mut Conn<Self>) -> sqlx::Result<u64> {
        Ok(query.execute(conn).await?.rows_affected())
    }

    fn fetch_all(query: Query<Self>, conn: &mut Conn<Self>) -> impl Future<Output = sqlx::Result<Vec<Row<Self>>>> + Send + '_ {
        query.fetch_all(conn)
    }

    fn fetch_optional(query: Query<Self>, conn: &mut Conn<Self>) -> impl Future<Output = sqlx::Result<Option<Row<Self>>>> + Send + '_ {
        query.fetch_optional(conn)
    }

    /// Times are microseconds after 1970.
    fn hour_sql(column: &str) -> String {
        format!("{column} / 3600000000")
    }

    /// Times are stored as microseconds already.
    fn packed_times_sql() -> String {
        "group_concat(created_at || ',' || IFNULL(first_answer_at, '') || ',' || IFNULL(closed_at, ''), ';')".to_owned()
    }

    async fn known_source_ids<'a>(conn: &'a mut Conn<Self>, system: &'a str, ids: &'a [&'a str]) -> Result<Vec<String>> {
        let mut known = Vec::new();
        for chunk in ids.chunks(1_000) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT source_id FROM requests WHERE source_system = ? AND source_id IN ({placeholders})");
            let mut q = Self::sql(sqlx::AssertSqlSafe(sql)).bind(system);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                known.push(row.try_get(0)?);
            }
        }
        Ok(known)
    }

    /// SQLite has one writer, so the next ids after the largest are free for the rest of the
    /// transaction.
    async fn reserve_request_ids(conn: &mut Conn<Self>, n: usize) -> Result<Vec<okno_core::RequestId>> {
        let row = Self::sql("SELECT COALESCE(MAX(id), 0) + 1 FROM requests").fetch_one(conn).await?;
        let next: i64 = row.try_get(0)?;
        Ok((next..next + n as i64).map(okno_core::RequestId).collect())
    }

    /// Multi-row `INSERT`s, made and bound as they are written (see [`execute_pipelined`]), so
    /// a bulk import keeps SQLite's thread and this one busy at once.
    fn write_rows<'a>(conn: &'a mut Conn<Self>, table: &'a str, columns: &'a [&'a str], rows: Rows<'a>) -> impl Future<Output = Result<()>> + Send + 'a {
        let per_statement = ROWS_PER_INSERT.min(32_000 / columns.len());
        let full_sql = multi_row_insert(table, columns, per_statement, false);
        let mut rows = rows.peekable();
        let statements = std::iter::from_fn(move || {
            rows.peek()?;
            let chunk: Vec<Vec<Bind>> = rows.by_ref().take(per_statement).collect();
            let sql = if chunk.len() == per_statement { full_sql.clone() } else { multi_row_insert(table, columns, chunk.len(), false) };
            Some(Self::sql(sqlx::AssertSqlSafe(sql)).bind_all(chunk.into_iter().flatten()))
        });
        execute_pipelined::<Self>(conn, Box::new(statements) as Box<dyn Iterator<Item = Sql<Self>> + Send + 'a>)
    }
}
