//! The rollups' dictionary in memory: each text of a rollup key (territory, service, category,
//! agency and channel codes) is stored once in `rollup_dims` and counted by its id. A store
//! keeps the committed pairs it has seen, so that writing a key looks its ids up here and only a
//! value never seen before costs a statement. Ids never change once committed, so entries never
//! go stale; pairs another process added are read in when a rollup names an unknown id.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

/// Committed `rollup_dims` pairs, both ways.
#[derive(Debug, Clone, Default)]
pub(crate) struct RollupDims(Arc<RwLock<Pairs>>);

#[derive(Debug, Default)]
struct Pairs {
    ids: HashMap<String, i64>,
    values: HashMap<i64, String>,
}

impl RollupDims {
    /// The ids of the `values` known, and the values not known (each once, sorted, so that
    /// concurrent writers add them in one order).
    pub(crate) fn split<'a>(&self, values: impl Iterator<Item = &'a str>) -> (HashMap<&'a str, i64>, BTreeSet<&'a str>) {
        let pairs = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let (mut known, mut unknown) = (HashMap::new(), BTreeSet::new());
        for value in values {
            match pairs.ids.get(value) {
                Some(&id) => {
                    known.insert(value, id);
                }
                None => {
                    unknown.insert(value);
                }
            }
        }
        (known, unknown)
    }

    /// Remembers committed pairs.
    pub(crate) fn learn(&self, learned: impl IntoIterator<Item = (String, i64)>) {
        let mut pairs = self.0.write().unwrap_or_else(PoisonError::into_inner);
        for (value, id) in learned {
            pairs.values.insert(id, value.clone());
            pairs.ids.insert(value, id);
        }
    }

    /// Whether every id is known.
    pub(crate) fn knows_all(&self, ids: impl IntoIterator<Item = i64>) -> bool {
        let pairs = self.0.read().unwrap_or_else(PoisonError::into_inner);
        ids.into_iter().all(|id| pairs.values.contains_key(&id))
    }

    /// Calls `f` with the values by id (one lock for many lookups).
    pub(crate) fn with_values<T>(&self, f: impl FnOnce(DimValues<'_>) -> T) -> T {
        let pairs = self.0.read().unwrap_or_else(PoisonError::into_inner);
        f(DimValues(&pairs.values))
    }
}

/// The dictionary's values by id, while its lock is held.
#[derive(Clone, Copy)]
pub(crate) struct DimValues<'a>(&'a HashMap<i64, String>);

impl DimValues<'_> {
    /// The value of `id`.
    pub(crate) fn get(&self, id: i64) -> Option<&str> {
        self.0.get(&id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_pairs_are_found_both_ways_and_unknown_values_come_sorted_once() {
        let dims = RollupDims::default();
        dims.learn([("roads".to_owned(), 1), ("".to_owned(), 2)]);
        let (known, unknown) = dims.split(["water", "roads", "", "snow", "water"].into_iter());
        assert_eq!(known, HashMap::from([("roads", 1), ("", 2)]));
        assert_eq!(unknown.into_iter().collect::<Vec<_>>(), ["snow", "water"]);
        assert!(dims.knows_all([1, 2]));
        assert!(!dims.knows_all([1, 3]));
        assert_eq!(dims.with_values(|values| (values.get(1).map(str::to_owned), values.get(3).is_none())), (Some("roads".to_owned()), true));
    }
}
