//! Helpers for tests that run against every backend: a fresh SQLite file always, and a fresh
//! PostgreSQL database when `OKNO_TEST_POSTGRES_URL` names a server (CI starts one).

use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering};

/// Environment variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_ENV: &str = "OKNO_TEST_POSTGRES_URL";

fn unique_suffix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed))
}

/// Says, visibly, that part of a test did not run. Written straight to the process's standard
/// error, which the test harness does not capture, so the notice shows even when the test passes.
pub fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {what}");
}

/// The URL of a fresh SQLite database in a new temporary folder.
pub fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("okno-test-{}", unique_suffix()));
    format!("sqlite://{}/okno.db", dir.display())
}

/// URLs of fresh, empty databases: SQLite in a new temporary folder, and PostgreSQL when
/// configured (otherwise a visible SKIPPED line is printed). Panics if the server is configured
/// but unreachable: a test run that was asked to cover PostgreSQL must not pass without it.
pub async fn fresh_database_urls() -> Vec<String> {
    let mut urls = vec![fresh_sqlite_url()];
    match std::env::var(POSTGRES_ENV) {
        Ok(admin_url) => {
            let name = format!("okno_test_{}", unique_suffix());
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connecting to the test PostgreSQL server");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("creating a test database");
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
            urls.push(format!("{base}/{name}"));
        }
        Err(_) => skipped(&format!("the PostgreSQL half of this test ({POSTGRES_ENV} is not set)")),
    }
    urls
}
