//! The OpenID Connect provider: its keys, discovery document, JWK Set, and the
//! per-caller JWTs it mints for the upstream API.

pub(crate) mod discovery;
pub(crate) mod jwk;
pub(crate) mod jwks;
pub(crate) mod jws;
pub(crate) mod jwt;
pub mod keys;
pub(crate) mod mint;
pub(crate) mod provider;
pub mod signer;
