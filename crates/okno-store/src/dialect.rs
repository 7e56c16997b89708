//! What differs between SQLite and PostgreSQL, and the few primitives the store's shared code
//! runs its SQL through.
//!
//! The store's code is written once, generic over a [`Dialect`] (see [`SqlStore`]). A dialect
//! says how a time is stored, how a row is locked for update, which placeholders a long
//! statement uses, how a read sees one snapshot, and how a bulk import is streamed in; it also
//! binds values and reads columns, so that the shared code needs no bound on the driver's types.
//! Everything else — the SQL and the mapping of rows to Okno's types — lives in one module per
//! aggregate (`requests.rs`, `catalog.rs`, …).

use crate::dims::RollupDims;
use crate::query::{Bind, Rows};
use crate::listeners::Listeners;
use crate::{Backend, Result, StoreError};
use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{ColumnIndex, Database, Decode, Encode, Postgres, SqlSafeStr, Sqlite, Type};
use std::future::Future;
use std::marker::PhantomData;

/// A statement of a dialect's database, its values bound.
pub type Query<D> = sqlx::query::Query<'static, <D as Dialect>::DB, <<D as Dialect>::DB as Database>::Arguments>;
/// A row read from a dialect's database.
pub type Row<D> = <<D as Dialect>::DB as Database>::Row;
/// A connection to a dialect's database (a pool's or a transaction's).
pub type Conn<D> = <<D as Dialect>::DB as Database>::Connection;
/// A transaction on a dialect's database.
pub type Tx<D> = sqlx::Transaction<'static, <D as Dialect>::DB>;

/// A value both engines can bind.
pub trait Param<'t>: Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres> + Send {}
impl<'t, T> Param<'t> for T where T: Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres> + Send {}

/// A column type both engines can read.
pub trait Column: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> {}
impl<T> Column for T where T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

/// A column's name or position, in both engines' rows.
pub trait Index: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> {}
impl<I> Index for I where I: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> {}

/// An engine the store runs on: its differences from the other, and the primitives that bind,
/// read and run statements on it.
pub trait Dialect: Send + Sync + Sized + 'static {
    /// The driver's database.
    type DB: Database;
    /// Which backend this is.
    const BACKEND: Backend;
    /// Appended to a `SELECT` that reads a row before changing it in the same transaction.
    const LOCK_FOR_UPDATE: &'static str;
    /// Whether long generated statements number their placeholders (`$N`, PostgreSQL) or use
    /// anonymous `?` (SQLite, whose lookup of numbered ones walks a list).
    const NUMBERED_PLACEHOLDERS: bool;
    /// Asked first in a read transaction whose statements must see one snapshot, if the
    /// engine's default does not give one.
    const READ_SNAPSHOT: Option<&'static str>;

    /// Binds `value` as the next parameter.
    fn bind<'t, T: Param<'t>>(query: Query<Self>, value: T) -> Query<Self>;
    /// Binds a time (or NULL) as the next parameter, stored the engine's way.
    fn bind_time(query: Query<Self>, time: Option<DateTime<Utc>>) -> Query<Self>;
    /// Reads a column.
    fn get<T: Column, I: Index>(row: &Row<Self>, index: I) -> sqlx::Result<T>;
    /// Reads a time column (NULL as `None`).
    fn get_opt_time<I: Index>(row: &Row<Self>, index: I) -> Result<Option<DateTime<Utc>>>;
    /// Runs a statement; the number of rows it changed.
    fn execute(query: Query<Self>, conn: &mut Conn<Self>) -> impl Future<Output = sqlx::Result<u64>> + Send + '_;
    /// Runs a query; all its rows.
    fn fetch_all(query: Query<Self>, conn: &mut Conn<Self>) -> impl Future<Output = sqlx::Result<Vec<Row<Self>>>> + Send + '_;
    /// Runs a query; its first row, if any.
    fn fetch_optional(query: Query<Self>, conn: &mut Conn<Self>) -> impl Future<Output = sqlx::Result<Option<Row<Self>>>> + Send + '_;

    /// A time column's hour since the Unix epoch, in SQL.
    fn hour_sql(column: &str) -> String;
    /// An aggregate packing the creation, first-answer and closing times of a group's rows into
    /// one text (see [`crate::query::unpack_times`]), as microseconds since the Unix epoch.
    fn packed_times_sql() -> String;

    /// Which of `ids` from source `system` are stored already.
    fn known_source_ids<'a>(conn: &'a mut Conn<Self>, system: &'a str, ids: &'a [&'a str]) -> impl Future<Output = Result<Vec<String>>> + Send + 'a;
    /// Ids for `n` new requests, free for the rest of the transaction.
    fn reserve_request_ids(conn: &mut Conn<Self>, n: usize) -> impl Future<Output = Result<Vec<okno_core::RequestId>>> + Send + '_;
    /// Writes rows in bulk, the fastest way the engine takes them.
    fn write_rows<'a>(conn: &'a mut Conn<Self>, table: &'a str, columns: &'a [&'a str], rows: Rows<'a>) -> impl Future<Output = Result<()>> + Send + 'a;

    /// A statement to bind values to and run.
    fn sql(text: impl SqlSafeStr) -> Sql<Self> {
        Sql(sqlx::query(text))
    }
}

/// A statement being built: values are bound in order, then it runs on a connection.
pub struct Sql<D: Dialect>(Query<D>);

impl<D: Dialect> Sql<D> {
    /// Binds the next parameter.
    pub fn bind<'t, T: Param<'t>>(self, value: T) -> Self {
        Sql(D::bind(self.0, value))
    }

    /// Binds a time as the next parameter.
    pub fn bind_time(self, time: DateTime<Utc>) -> Self {
        Sql(D::bind_time(self.0, Some(time)))
    }

    /// Binds a time or NULL as the next parameter.
    pub fn bind_opt_time(self, time: Option<DateTime<Utc>>) -> Self {
        Sql(D::bind_time(self.0, time))
    }

    /// Binds dynamically built values, in order.
    pub fn bind_all(mut self, values: impl IntoIterator<Item = Bind>) -> Self {
        for value in values {
            self = match value {
                Bind::Text(s) => self.bind(s),
                Bind::Int(i) => self.bind(i),
                Bind::Float(f) => self.bind(f),
                Bind::Time(t) => self.bind_opt_time(t),
                Bind::Date(d) => self.bind(d),
            };
        }
        self
    }

    /// Runs the statement; the number of rows it changed.
    pub fn execute(self, conn: &mut Conn<D>) -> impl Future<Output = sqlx::Result<u64>> + Send + '_ {
        D::execute(self.0, conn)
    }

    /// Runs the query; all its rows.
    pub fn fetch_all(self, conn: &mut Conn<D>) -> impl Future<Output = sqlx::Result<Vec<Row<D>>>> + Send + '_ {
        D::fetch_all(self.0, conn)
    }

    /// Runs the query; its first row, if any.
    pub fn fetch_optional(self, conn: &mut Conn<D>) -> impl Future<Output = sqlx::Result<Option<Row<D>>>> + Send + '_ {
        D::fetch_optional(self.0, conn)
    }

    /// Runs the query; its first row, which must exist.
    pub async fn fetch_one(self, conn: &mut Conn<D>) -> sqlx::Result<Row<D>> {
        D::fetch_optional(self.0, conn).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

/// Reads a time column that is never NULL.
pub fn get_time<D: Dialect, I: Index>(row: &Row<D>, index: I) -> Result<DateTime<Utc>> {
    D::get_opt_time(row, index)?.ok_or_else(|| StoreError::Corrupt("a required time is NULL".into()))
}

/// Reads where a request's point lies (columns `location_flag` and `h3_cell`).
pub fn location_from_row<D: Dialect>(row: &Row<D>) -> Result<okno_core::Location> {
    let flag: Option<String> = D::get(row, "location_flag")?;
    Ok(okno_core::Location { flag: flag.as_deref().map(|f| parse_stored("location_flag", f)).transpose()?, cell: D::get(row, "h3_cell")? })
}

/// Statements to run one after another, each bound only when it is next.
pub type Statements<'a, D> = Box<dyn Iterator<Item = Sql<D>> + Send + 'a>;

/// Runs `statements` in order on `conn`, binding each while the database runs the one before
/// (SQLite on its worker thread, PostgreSQL in its server): `join` polls the running statement
/// first, which hands it over, then binds the next.
pub async fn execute_pipelined<D: Dialect>(conn: &mut Conn<D>, mut statements: Statements<'_, D>) -> Result<()> {
    let mut next = statements.next();
    while let Some(statement) = next {
        let (done, following) = futures_util::future::join(statement.execute(&mut *conn), async { statements.next() }).await;
        done.map_err(classify)?;
        next = following;
    }
    Ok(())
}

/// Okno's store on one engine: a writer pool (SQLite has one writer; queuing writes here avoids
/// lock errors), a reader pool, the listeners of rollup changes and the rollups' dictionary.
/// Each aggregate's trait is implemented for it in that aggregate's module.
pub struct SqlStore<D: Dialect> {
    pub(crate) writer: sqlx::Pool<D::DB>,
    pub(crate) reader: sqlx::Pool<D::DB>,
    pub(crate) listeners: Listeners,
    pub(crate) dims: RollupDims,
    dialect: PhantomData<D>,
}

impl<D: Dialect> SqlStore<D> {
    /// A store over its two pools (the same pool twice where reads need no pool of their own).
    pub(crate) fn new(writer: sqlx::Pool<D::DB>, reader: sqlx::Pool<D::DB>) -> Self {
        SqlStore { writer, reader, listeners: Listeners::default(), dims: RollupDims::default(), dialect: PhantomData }
    }

    /// A connection for reading.
    pub(crate) async fn read(&self) -> Result<sqlx::pool::PoolConnection<D::DB>> {
        Ok(self.reader.acquire().await?)
    }

    /// A connection for one writing statement.
    pub(crate) async fn write(&self) -> Result<sqlx::pool::PoolConnection<D::DB>> {
        Ok(self.writer.acquire().await?)
    }

    /// A writing transaction.
    pub(crate) async fn begin(&self) -> Result<Tx<D>> {
        Ok(self.writer.begin().await?)
    }
}

impl<D: Dialect> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &D::BACKEND).finish_non_exhaustive()
    }
}

/// Maps a database error onto the store's errors: broken references and taken keys become
/// [`StoreError::Conflict`] with the database's message.
pub fn classify(err: sqlx::Error) -> StoreError {
    use sqlx::error::ErrorKind;
    if let Some(db) = err.as_database_error()
        && matches!(db.kind(), ErrorKind::ForeignKeyViolation | ErrorKind::UniqueViolation | ErrorKind::CheckViolation)
    {
        return StoreError::Conflict(db.message().to_owned());
    }
    StoreError::Database(err)
}

/// Parses a stored enum name, reporting corruption instead of panicking.
pub fn parse_stored<T: std::str::FromStr>(column: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

/// Parses a stored JSON column.
pub fn parse_json<T: serde::de::DeserializeOwned>(column: &str, value: &str) -> Result<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A value as stored in a JSON column.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The schema's migrations for one backend, oldest first: (description, SQL).
pub(crate) fn migrator(steps: &[(&'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        steps
            .iter()
            .zip(1..)
            .map(|((description, sql), version)| {
                Migration::new(version, (*description).into(), MigrationType::Simple, sqlx::AssertSqlSafe(*sql).into_sql_str(), false)
            })
            .collect(),
    )
}
