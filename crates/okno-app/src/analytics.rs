//! The in-memory rollups of this process ([`okno_analytics::Cube`]), which every committed write
//! through its store keeps current. A reload (after an import by another process) reads the
//! stored rollups again; writes committed while it runs may be counted once or not at all until
//! the next reload, so reload when intake is quiet or run it twice.

use crate::error::Result;
use crate::App;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use okno_analytics::{Cube, CubeSize};
use okno_core::Principal;
use okno_store::Store;
use std::sync::{Arc, PoisonError, RwLock};

/// Hours of rollups read per page when loading.
const LOAD_PAGE_HOURS: i64 = 24 * 31;

/// The in-memory rollups of this process.
pub struct Analytics {
    cube: RwLock<Cube>,
}

impl Analytics {
    /// Empty analytics counting days in `zone`.
    pub fn new(zone: Tz) -> Arc<Analytics> {
        Arc::new(Analytics { cube: RwLock::new(Cube::new(zone)) })
    }

    /// Applies every rollup change `store` commits from now on.
    pub fn follow(self: &Arc<Self>, store: &dyn Store) {
        let analytics = Arc::downgrade(self);
        store.watch_rollups(Arc::new(move |deltas| {
            if let Some(a) = analytics.upgrade() {
                a.cube.write().unwrap_or_else(PoisonError::into_inner).apply(deltas);
            }
        }));
    }

    /// Reads the stored rollups and puts them in force; returns their size.
    pub async fn reload(&self, store: &dyn Store) -> Result<CubeSize> {
        let zone = self.read(|c| c.zone());
        let cube = load_cube(store, zone).await?;
        let size = cube.size();
        *self.cube.write().unwrap_or_else(PoisonError::into_inner) = cube;
        Ok(size)
    }

    /// Runs a read on the rollups in force.
    pub fn read<T>(&self, f: impl FnOnce(&Cube) -> T) -> T {
        f(&self.cube.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Loads all stored rollups, a month of creation hours at a time: each month is counted into
/// the cube on a blocking thread while the next is read from the store.
pub async fn load_cube(store: &dyn Store, zone: Tz) -> okno_store::Result<Cube> {
    let mut cube = Cube::new(zone);
    let Some((first, last)) = store.rollup_hours().await? else { return Ok(cube) };
    let mut from = first;
    let mut page = store.rollups(from, from + LOAD_PAGE_HOURS).await?;
    while from + LOAD_PAGE_HOURS <= last {
        from += LOAD_PAGE_HOURS;
        let counting = tokio::task::spawn_blocking(move || {
            cube.load(page);
            cube
        });
        page = store.rollups(from, from + LOAD_PAGE_HOURS).await?;
        cube = counting.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
    cube.load(page);
    Ok(cube)
}

/// Reads the stored rollups again (after an import by another process), audited as `admin`'s.
pub async fn reload(app: &App, admin: &Principal, now: DateTime<Utc>) -> Result<CubeSize> {
    crate::access::require_admin(admin)?;
    let size = app.analytics.reload(app.store.as_ref()).await?;
    app.store.audit(&admin.login, "reload_analytics", None, Some(&format!("{} requests", size.requests)), now).await?;
    Ok(size)
}
