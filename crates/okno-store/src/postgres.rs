//! The PostgreSQL backend, for production and scale-out.

use crate::backend::impl_store;
use crate::sqlite::migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Times are stored as `TIMESTAMPTZ`.
type DbTime = chrono::DateTime<chrono::Utc>;

fn to_db(t: chrono::DateTime<chrono::Utc>) -> DbTime {
    t
}

fn from_db(t: DbTime) -> crate::Result<chrono::DateTime<chrono::Utc>> {
    Ok(t)
}

/// Okno's store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    writer: PgPool,
    reader: PgPool,
}

impl PostgresStore {
    /// Connects to `postgres://…` and migrates the database.
    pub async fn open(url: &str) -> crate::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        migrator(include_str!("../migrations/postgres/0001_foundation.sql")).run(&pool).await?;
        Ok(PostgresStore { writer: pool.clone(), reader: pool })
    }
}

impl_store!(store = PostgresStore, db = sqlx::Postgres, backend = Backend::Postgres, lock = " FOR UPDATE");
