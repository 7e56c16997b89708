//! Okno's persistence: one trait per aggregate (requests, catalog, territories, rollups, triage,
//! deadlines, reports, outbox, access, media, alerts, problems, imports), their union [`Store`],
//! and an embedded SQLite backend (the default) and a PostgreSQL backend for production, chosen
//! at run time by the database URL's scheme.
//!
//! Both backends share their SQL and their code: each aggregate's module implements its trait
//! once for [`dialect::SqlStore`], generic over the small [`dialect::Dialect`] that says how the
//! engines differ (see `dialect.rs`). A new aggregate adds its module (declared and re-exported
//! here, its trait added to `Store`'s) and its migration files under `migrations/sqlite` and
//! `migrations/postgres`.
//! Every acknowledged write has been committed durably before the call returns.

mod access;
mod alerts;
mod catalog;
mod deadlines;
mod dialect;
mod dims;
mod imports;
mod listeners;
mod media;
mod outbox;
mod postgres;
mod problems;
mod query;
mod reports;
mod requests;
mod rollups;
mod sqlite;
mod territories;
pub mod testing;
mod triage;

use okno_core::workflow::ActionError;
use std::sync::Arc;

pub use access::{AccessStore, ApiKeyInfo, ApiTokenInfo, AuditEntry, NewUser, UserRecord};
pub use alerts::AlertStore;
pub use catalog::CatalogStore;
pub use deadlines::{DeadlineStore, DeadlineUpdate, QueueCounts, Timeline, TimelineEvent};
pub use dialect::SqlStore;
pub use imports::{ImportCounts, ImportStore};
pub use media::{Media, MediaStore};
pub use outbox::{Notification, OutboxBacklog, OutboxStore, Pending};
pub use postgres::{PostgresDialect, PostgresStore};
pub use problems::ProblemStore;
pub use reports::{CountBy, ReportStore, ScoreBy};
pub use requests::{Created, ImportedRequest, Planner, RequestStore};
pub use rollups::{RollupListener, RollupRebuild, RollupStore};
pub use sqlite::{SqliteDialect, SqliteStore, WRITER_CACHE_KIB as SQLITE_WRITER_CACHE_KIB};
pub use territories::{AddressUse, Located, PlacementUpdate, StoredShape, TerritoryStore};
pub use triage::TriageStore;

/// The database URL used when none is configured: a file under `./data`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/okno.db";

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A referenced row does not exist, or a unique key is taken.
    #[error("{0}")]
    Conflict(String),
    /// The action was refused by the domain rules.
    #[error(transparent)]
    Refused(#[from] ActionError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a bug or a foreign write).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// File system trouble (creating the database's folder).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Everything Okno keeps: the union of the aggregates' stores. One implementation per
/// database; both pass the same conformance tests.
pub trait Store:
    RequestStore + CatalogStore + TerritoryStore + RollupStore + TriageStore + DeadlineStore + ReportStore + OutboxStore
    + AccessStore + MediaStore + AlertStore + ProblemStore + ImportStore + Send + Sync
{
    /// Which database this is.
    fn backend(&self) -> Backend;
}

impl<D: dialect::Dialect> Store for SqlStore<D> {
    fn backend(&self) -> Backend {
        D::BACKEND
    }
}

/// Opens (creating if needed) the database at `url` and brings its schema up to date.
/// `sqlite://PATH` (relative to the working directory; `sqlite::memory:` for a throwaway one)
/// or `postgres://…`/`postgresql://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use okno_core::rollup::{RollupKey, RollupRow};

    /// Rollups stored by an Okno older than migration 13 (texts in every key).
    const OLD_ROLLUPS: &str = "INSERT INTO rollups (hour, cell, territory_code, service_code, category, agency_code, channel, closed_hour, n) \
        VALUES (10, 0, '', 'snow', 'Благоустройство', 'roads', 'web', 0, 3), (11, 612789031652032511, 'smolny', 'snow', '', '', 'import', 12, 1)";

    /// Migrations applied before rollups were keyed by ids (0001–0012).
    const BEFORE_ROLLUP_DIMS: usize = 12;

    #[tokio::test]
    async fn rollups_keyed_by_text_are_carried_over_to_ids() {
        for url in crate::testing::fresh_database_urls().await {
            if url.starts_with("sqlite:") {
                let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
                std::fs::create_dir_all(options.get_filename().parent().unwrap()).unwrap();
                let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap();
                crate::dialect::migrator(&crate::sqlite::MIGRATIONS[..BEFORE_ROLLUP_DIMS]).run(&pool).await.unwrap();
                sqlx::query(OLD_ROLLUPS).execute(&pool).await.unwrap();
            } else {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                crate::dialect::migrator(&crate::postgres::MIGRATIONS[..BEFORE_ROLLUP_DIMS]).run(&pool).await.unwrap();
                sqlx::query(OLD_ROLLUPS).execute(&pool).await.unwrap();
            }
            let store = crate::open(&url).await.unwrap();
            let key = |hour, cell, territory: &str, category: &str, agency: &str, channel: &str, closed_hour| RollupKey {
                hour, cell, territory: territory.into(), service: "snow".into(), category: category.into(), agency: agency.into(),
                channel: channel.into(), closed_hour,
            };
            let mut rows = store.rollups(0, 100).await.unwrap();
            rows.sort_by_key(|r| r.key.hour);
            assert_eq!(rows, [
                RollupRow { key: key(10, 0, "", "Благоустройство", "roads", "web", 0), n: 3 },
                RollupRow { key: key(11, 612789031652032511, "smolny", "", "", "import", 12), n: 1 },
            ], "{url}");
        }
    }
}
