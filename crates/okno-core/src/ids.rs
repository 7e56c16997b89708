//! Identifiers and codes that cannot be mistaken for one another: a problem's number passed
//! where a request's is expected, or a territory's code where an agency's is, does not compile.
//! Serialized, documented in the API (as integers and strings) and, with the `sqlx` feature,
//! stored as the plain numbers and strings they wrap.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use utoipa::ToSchema;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
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

id_type!(
    /// A spike alert's number.
    AlertId
);

id_type!(
    /// A staff user's number.
    UserId
);

id_type!(
    /// An operator's routing rule's number.
    RuleId
);

id_type!(
    /// An Open311 API key's number.
    ApiKeyId
);

id_type!(
    /// A staff member's bearer token's number.
    TokenId
);

id_type!(
    /// A notification's number in the outbox.
    NotificationId
);

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            /// The code as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<String> for $name {
            fn from(code: String) -> Self {
                $name(code)
            }
        }

        impl From<&str> for $name {
            fn from(code: &str) -> Self {
                $name(code.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

code_type!(
    /// A service's code in the catalog (Open311's `service_code`).
    ServiceCode
);

code_type!(
    /// An agency's code.
    AgencyCode
);

code_type!(
    /// A territory's code.
    TerritoryCode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_the_strings_they_wrap_and_compare_with_them() {
        let code = AgencyCode::from("roads");
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"roads\"");
        assert_eq!(serde_json::from_str::<AgencyCode>("\"roads\"").unwrap(), code);
        assert!(code == "roads");
        assert_eq!(code.len(), 5);
    }
}
