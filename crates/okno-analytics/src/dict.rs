//! Dimension values interned as small numbers.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// Values numbered in the order first seen.
#[derive(Debug, Clone)]
pub struct Dict<T> {
    numbers: HashMap<T, u32>,
    values: Vec<T>,
}

impl<T> Default for Dict<T> {
    fn default() -> Self {
        Dict { numbers: HashMap::new(), values: Vec::new() }
    }
}

impl<T: Hash + Eq + Clone> Dict<T> {
    /// The number of `value`, given one when new.
    pub fn index<Q>(&mut self, value: &Q) -> u32
    where
        T: Borrow<Q>,
        Q: ToOwned<Owned = T> + Hash + Eq + ?Sized,
    {
        if let Some(&n) = self.numbers.get(value) {
            return n;
        }
        let n = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(value.to_owned());
        self.numbers.insert(value.to_owned(), n);
        n
    }

    /// The number of `value`, when seen.
    pub fn find<Q>(&self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.numbers.get(value).copied()
    }

    /// The value numbered `n`.
    pub fn value(&self, n: u32) -> T {
        self.values[n as usize].clone()
    }

    /// Values seen.
    pub fn len(&self) -> usize {
        self.values.len()
    }
}
