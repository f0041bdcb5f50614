//! Authorisation: what a caller may do with an account's products.
//!
//! The answers have the shape of the upstream API's (see `docs/upstream-api.md`): the
//! [`upstream`] client asks it; when `UPSTREAM_API_URL` is unset, the embedded [`catalogue`]
//! gives them instead.
//!
//! | module | what |
//! |---|---|
//! | [`upstream`] | the upstream API client and its per-subject caches |
//! | [`catalogue`] | the embedded catalogue (`CATALOGUE`): the same answers |

pub(crate) mod catalogue;
pub(crate) mod upstream;

use serde::{Deserialize, Serialize};

use crate::backend::spec::BackendSpec;

/// Who may see a product without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Visibility {
    Public,
    Restricted,
}

/// What the caller may do with a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Permissions {
    #[serde(default)]
    pub(crate) read: bool,
    #[serde(default)]
    pub(crate) list: bool,
}

/// The answer about one product, for one caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProductAccess {
    pub(crate) visibility: Visibility,
    pub(crate) permissions: Permissions,
    pub(crate) backend: BackendSpec,
}

/// One product in an account listing, for one caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProductSummary {
    pub(crate) name: String,
    pub(crate) visibility: Visibility,
    pub(crate) permissions: Permissions,
}

/// Why no answer about a product could be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AccessError {
    #[error("no such account")]
    NoSuchAccount,
    #[error("no such product")]
    NoSuchProduct,
    #[error("the catalogue is not configured")]
    NoCatalogue,
    #[error("the upstream API denied access")]
    Denied,
    #[error("{reason}")]
    Unavailable { reason: String },
}
