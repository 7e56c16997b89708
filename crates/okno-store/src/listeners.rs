//! Who hears of the rollup changes a store commits: the in-memory read models of this process.

use okno_core::rollup::RollupDeltas;
use std::sync::Arc;

/// Receives each committed change to the rollups made through this store (in this process),
/// to keep in-memory views current. Changes are sums, so their order does not matter.
pub type RollupListener = Arc<dyn Fn(&RollupDeltas) + Send + Sync>;

/// The listeners a store tells about committed rollup changes.
#[derive(Clone, Default)]
pub(crate) struct Listeners(Arc<std::sync::RwLock<Vec<RollupListener>>>);

impl Listeners {
    pub(crate) fn add(&self, listener: RollupListener) {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(listener);
    }

    pub(crate) fn notify(&self, deltas: &RollupDeltas) {
        if deltas.is_empty() {
            return;
        }
        for listener in self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            listener(deltas);
        }
    }
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listeners")
    }
}
