//! A value Okno works with that can be replaced whole while it runs (classifier models,
//! territory boundaries): readers take the one in force and keep it for their whole request.

use std::sync::{Arc, RwLock};

/// The value in force, replaceable at once.
pub struct InForce<T> {
    value: RwLock<Arc<T>>,
}

impl<T> InForce<T> {
    /// Puts `value` in force.
    pub fn new(value: T) -> Self {
        InForce { value: RwLock::new(Arc::new(value)) }
    }

    /// The value in force.
    pub fn current(&self) -> Arc<T> {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `value` in force in place of the previous one.
    pub fn replace(&self, value: T) {
        *self.value.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }
}
