//! Authorisation: what a caller may do with an account's products.
//!
//! The answers have the shape of the upstream API's (see `docs/upstream-api.md`). When
//! `UPSTREAM_API_URL` is unset, the embedded [`catalogue`] gives them instead.

pub mod catalogue;
pub mod client;

use serde::{Deserialize, Serialize};

/// Who may see a product without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Restricted,
}

/// What the caller may do with a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub list: bool,
}

/// Where a product's objects live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BackendSpec {
    /// The worker's R2 binding, under `prefix`.
    R2 {
        #[serde(default)]
        prefix: String,
    },
}

/// The answer about one product, for one caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductAccess {
    pub visibility: Visibility,
    pub permissions: Permissions,
    pub backend: BackendSpec,
}

/// One product in an account listing, for one caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSummary {
    pub name: String,
    pub visibility: Visibility,
    pub permissions: Permissions,
}

/// Why no answer about a product could be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
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
