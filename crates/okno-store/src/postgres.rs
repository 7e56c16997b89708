//! The PostgreSQL backend, for production and scale-out.

use crate::backend::impl_store;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Times are stored as `TIMESTAMPTZ`.
type DbTime = chrono::DateTime<chrono::Utc>;

fn to_db(t: chrono::DateTime<chrono::Utc>) -> DbTime {
    t
}

fn from_db(t: DbTime) -> crate::Result<chrono::DateTime<chrono::Utc>> {
    Ok(t)
}

/// The schema's migrations, oldest first: (description, SQL).
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    ("open311", include_str!("../migrations/postgres/0002_open311.sql")),
    ("deadlines", include_str!("../migrations/postgres/0003_deadlines.sql")),
    ("clock", include_str!("../migrations/postgres/0004_clock.sql")),
    ("routing", include_str!("../migrations/postgres/0005_routing.sql")),
    ("triage", include_str!("../migrations/postgres/0006_triage.sql")),
    ("geo", include_str!("../migrations/postgres/0007_geo.sql")),
    ("rollups", include_str!("../migrations/postgres/0008_rollups.sql")),
    ("alerts", include_str!("../migrations/postgres/0009_alerts.sql")),
    ("merge", include_str!("../migrations/postgres/0010_merge.sql")),
    ("problems", include_str!("../migrations/postgres/0011_problems.sql")),
    ("reopenings", include_str!("../migrations/postgres/0012_reopenings.sql")),
    ("rollup dims", include_str!("../migrations/postgres/0013_rollup_dims.sql")),
];

/// Okno's store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    writer: PgPool,
    reader: PgPool,
    listeners: crate::Listeners,
    dims: crate::dims::RollupDims,
}

impl PostgresStore {
    /// Connects to `postgres://…` and migrates the database.
    pub async fn open(url: &str) -> crate::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        crate::backend::migrator(MIGRATIONS).run(&pool).await?;
        Ok(PostgresStore { writer: pool.clone(), reader: pool, listeners: crate::Listeners::default(), dims: crate::dims::RollupDims::default() })
    }
}

/// Which of `ids` from source `system` are stored already.
async fn known_source_ids(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, system: &str, ids: &[&str]) -> crate::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT r.source_id FROM unnest($2::text[]) AS k(id) JOIN requests r ON r.source_system = $1 AND r.source_id = k.id",
    )
    .bind(system)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// Ids for `n` new requests, drawn from the identity sequence.
async fn reserve_request_ids(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, n: usize) -> crate::Result<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('requests', 'id')) FROM generate_series(1, $1::bigint)")
        .bind(n as i64)
        .fetch_all(&mut **tx)
        .await?)
}

/// Appends a value in `COPY`'s text format.
fn copy_value(out: &mut String, value: &crate::query::Bind) {
    use crate::query::Bind;
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

/// Writes rows with `COPY … FROM STDIN`.
async fn write_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    table: &str,
    columns: &[&str],
    rows: crate::query::Rows<'_>,
) -> crate::Result<()> {
    let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
    let mut copy = tx.copy_in_raw(&sql).await?;
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

/// A time column's hour since the Unix epoch, in SQL.
fn hour_sql(column: &str) -> String {
    format!("floor(extract(epoch FROM {column}) / 3600)::bigint")
}

/// An aggregate packing the creation, first-answer and closing times of a group's rows into one
/// text (see [`crate::query::unpack_times`]), as microseconds since the Unix epoch.
fn packed_times_sql() -> String {
    let micros = |column: &str| format!("(extract(epoch FROM {column}) * 1000000)::bigint");
    format!(
        "string_agg({} || ',' || COALESCE({}::text, '') || ',' || COALESCE({}::text, ''), ';')",
        micros("created_at"), micros("first_answer_at"), micros("closed_at")
    )
}

/// Asked first in a read transaction whose statements must see one snapshot (PostgreSQL's
/// default gives each statement its own).
const READ_SNAPSHOT: Option<&str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

/// `$N` placeholders, the only kind PostgreSQL takes.
const NUMBERED_PLACEHOLDERS: bool = true;

impl_store!(store = PostgresStore, db = sqlx::Postgres, backend = Backend::Postgres, lock = " FOR UPDATE");
