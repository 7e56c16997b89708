//! Identifiers that cannot be mistaken for one another: a problem's number passed where a
//! request's is expected does not compile. Serialized as the plain numbers they wrap (documented
//! as integers with `#[schema(value_type = i64)]` where a schema holds one).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A request's number.
    RequestId
);

id_type!(
    /// A systemic problem's number.
    ProblemId
);
