//! The PostgreSQL backend, for production and scale-out. Times are stored as `TIMESTAMPTZ`;
//! bulk imports are streamed in with `COPY`.

use crate::dialect::{classify, Column, Conn, Dialect, Index, Param, Query, Row, SqlStore};
use crate::query::{Bind, Rows};
use crate::{Backend, Result};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Postgres, Row as _};
use std::future::Future;

/// The schema's migrations, oldest first: (description, SQL), listed by the build script.
pub(crate) const MIGRATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations_postgres.rs"));

/// PostgreSQL's ways.
#[derive(Debug, Clone, Copy)]
pub struct PostgresDialect;

/// Okno's store in a PostgreSQL database.
pub type PostgresStore = SqlStore<PostgresDialect>;

impl SqlStore<PostgresDialect> {
    /// Connects to `postgres://…` and migrates the database.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        crate::dialect::migrator(MIGRATIONS).run(&pool).await?;
        Ok(SqlStore::new(pool.clone(), pool))
    }
}

/// Appends a value in `COPY`'s text format.
fn copy_value(out: &mut String, value: &Bind) {
    use std::fmt::Write;
    match value {
        Bind::Text(None) | Bind::Int(None) | Bind::Float(None) | Bind::Time(None) | Bind::Date(None) => out.push_str("\\N"),
        Bind::Int(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Bind::Float(Some(f)) => {
            let _ = write!(out, "{f}");
        }
        Bind::Time(Some(t)) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        }
        Bind::Date(Some(d)) => {
            let _ = write!(out, "{d}");
        }
        Bind::Text(Some(s)) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// Bytes of `COPY` data sent per message.
const COPY_CHUNK: usize = 1 << 20;

impl Dialect for PostgresDialect {
    type DB = Postgres;
    const BACKEND: Backend = Backend::Postgres;
    const LOCK_FOR_UPDATE: &'static str = " FOR UPDATE";
    /// `$N` placeholders, the only kind PostgreSQL takes.
    const NUMBERED_PLACEHOLDERS: bool = true;
    /// PostgreSQL's default gives each statement its own snapshot.
    const READ_SNAPSHOT: Option<&'static str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

    fn bind<'t, T: Param<'t>>(query: Query<Self>, value: T) -> Query<Self> {
        query.bind(value)
    }

    fn bind_time(query: Query<Self>, time: Option<DateTime<Utc>>) -> Query<Self> {
        query.bind(time)
    }

    fn get<T: Column, I: Index>(row: &Row<Self>, index: I) -> sqlx::Result<T> {
        row.try_get(index)
    }

    fn get_opt_time<I: Index>(row: &Row<Self>, index: I) -> Result<Option<DateTime<Utc>>> {
        Ok(row.try_get(index)?)
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

    fn hour_sql(column: &str) -> String {
        format!("floor(extract(epoch FROM {column}) / 3600)::bigint")
    }

    fn packed_times_sql() -> String {
        let micros = |column: &str| format!("(extract(epoch FROM {column}) * 1000000)::bigint");
        format!(
            "string_agg({} || ',' || COALESCE({}::text, '') || ',' || COALESCE({}::text, ''), ';')",
            micros("created_at"), micros("first_answer_at"), micros("closed_at")
        )
    }

    async fn known_source_ids<'a>(conn: &'a mut Conn<Self>, system: &'a str, ids: &'a [&'a str]) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT r.source_id FROM unnest($2::text[]) AS k(id) JOIN requests r ON r.source_system = $1 AND r.source_id = k.id")
            .bind(system)
            .bind(ids)
            .fetch_all(conn)
            .await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<sqlx::Result<_>>()?)
    }

    /// Drawn from the identity sequence.
    async fn reserve_request_ids(conn: &mut Conn<Self>, n: usize) -> Result<Vec<okno_core::RequestId>> {
        let rows = Self::sql("SELECT nextval(pg_get_serial_sequence('requests', 'id')) FROM generate_series(1, $1::bigint)")
            .bind(n as i64)
            .fetch_all(conn)
            .await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<sqlx::Result<_>>()?)
    }

    /// `COPY … FROM STDIN`.
    async fn write_rows<'a>(conn: &'a mut Conn<Self>, table: &'a str, columns: &'a [&'a str], rows: Rows<'a>) -> Result<()> {
        let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
        let mut copy = conn.copy_in_raw(&sql).await?;
        let mut buffer = String::with_capacity(COPY_CHUNK + 4096);
        for row in rows {
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    buffer.push('\t');
                }
                copy_value(&mut buffer, value);
            }
            buffer.push('\n');
            if buffer.len() >= COPY_CHUNK {
                copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
                buffer.reserve(COPY_CHUNK + 4096);
            }
        }
        if !buffer.is_empty() {
            copy.send(buffer.into_bytes()).await?;
        }
        copy.finish().await.map_err(classify)?;
        Ok(())
    }
}
